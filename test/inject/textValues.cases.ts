/** The configuration and expectations of the text-values tests (webhook: test/inject/textValues.test.ts, CLI: test/cli/fidelity.test.ts). */
import { expect } from 'vitest';
import type { Pod } from '../../src/k8s/types.js';
import { container } from './review.js';

export const TEXT_SETS = [
  'values.global.hub=registry.example.com/mesh',
  'values.global.tag=1.30',
  'values.global.proxy.resources.requests.cpu=0.50',
  'meshConfig.defaultConfig.proxyMetadata.ISTIO_META_DNS_CAPTURE=true',
];

export function checkText(pod: Pod): void {
  const proxy = container(pod, 'istio-proxy');
  expect(proxy?.image).toBe('registry.example.com/mesh/proxyv2:1.30');
  expect(proxy?.resources?.requests?.cpu).toBe('500m');
  expect(proxy?.env?.find((e) => e.name === 'ISTIO_META_DNS_CAPTURE')?.value).toBe('true');
  expect(container(pod, 'istio-init')?.image).toBe('registry.example.com/mesh/proxyv2:1.30');
}
