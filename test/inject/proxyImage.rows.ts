/**
 * Rows for the image-type tests (webhook: test/inject/proxyImage.test.ts, CLI: test/cli/fidelity.test.ts): Istio's
 * TestProxyImage (pkg/kube/inject/inject_test.go, istio/istio 86c9f01fd735; see test/fixtures/istio/NOTICE) with the
 * istio-init image the same rule gives, and ours.
 */
import { expect } from 'vitest';
import type { Pod } from '../../src/k8s/types.js';
import { appPod, container } from './review.js';

export interface Row {
  desc: string;
  hub: string;
  /** values.global.tag as --set writes it (a number-looking tag stays text). */
  tag: string;
  variant?: string;
  /** ProxyConfig image.imageType (meshConfig.defaultConfig.image.imageType). */
  pc?: string;
  /** sidecar.istio.io/proxyImageType. */
  ann?: string;
  want: string;
  /** istio-init's image (not in Istio's test; the same rule with ProxyConfig's type left out). */
  init: string;
}

// Istio's TestProxyImage, row by row (test/fixtures/istio/NOTICE); `init` added.
export const ISTIO_ROWS: Row[] = [
  { desc: 'vals-only-int-tag', hub: 'registry.istio.io/release', tag: '11', want: 'registry.istio.io/release/proxyv2:11', init: 'registry.istio.io/release/proxyv2:11' },
  { desc: 'pc overrides imageType - float tag', hub: 'registry.istio.io/release', tag: '1.12', pc: 'distroless', want: 'registry.istio.io/release/proxyv2:1.12-distroless', init: 'registry.istio.io/release/proxyv2:1.12' },
  { desc: 'annotation overrides imageType', hub: 'gcr.io/gke-release/asm', tag: '1.11.2-asm.17', ann: 'distroless', want: 'gcr.io/gke-release/asm/proxyv2:1.11.2-asm.17-distroless', init: 'gcr.io/gke-release/asm/proxyv2:1.11.2-asm.17-distroless' },
  { desc: 'pc and annotation overrides imageType', hub: 'gcr.io/gke-release/asm', tag: '1.11.2-asm.17', pc: 'distroless', ann: 'debug', want: 'gcr.io/gke-release/asm/proxyv2:1.11.2-asm.17-debug', init: 'gcr.io/gke-release/asm/proxyv2:1.11.2-asm.17-debug' },
  { desc: 'pc and annotation overrides imageType, ann is default', hub: 'gcr.io/gke-release/asm', tag: '1.11.2-asm.17', pc: 'debug', ann: 'default', want: 'gcr.io/gke-release/asm/proxyv2:1.11.2-asm.17', init: 'gcr.io/gke-release/asm/proxyv2:1.11.2-asm.17' },
  { desc: 'pc overrides imageType with default, tag also has image type', hub: 'gcr.io/gke-release/asm', tag: '1.11.2-asm.17-distroless', pc: 'default', want: 'gcr.io/gke-release/asm/proxyv2:1.11.2-asm.17', init: 'gcr.io/gke-release/asm/proxyv2:1.11.2-asm.17-distroless' },
  { desc: 'ann overrides imageType with default, tag also has image type', hub: 'gcr.io/gke-release/asm', tag: '1.11.2-asm.17-distroless', ann: 'default', want: 'gcr.io/gke-release/asm/proxyv2:1.11.2-asm.17', init: 'gcr.io/gke-release/asm/proxyv2:1.11.2-asm.17' },
  { desc: 'pc overrides imageType, tag also has image type', hub: 'registry.istio.io/release', tag: '1.12-debug', pc: 'distroless', want: 'registry.istio.io/release/proxyv2:1.12-distroless', init: 'registry.istio.io/release/proxyv2:1.12-debug' },
  { desc: 'annotation overrides imageType, tag also has the same image type', hub: 'registry.istio.io/release', tag: '1.12-distroless', ann: 'distroless', want: 'registry.istio.io/release/proxyv2:1.12-distroless', init: 'registry.istio.io/release/proxyv2:1.12-distroless' },
  { desc: 'unusual tag should work', hub: 'private-repo/istio', tag: '1.12-this-is-unusual-tag', want: 'private-repo/istio/proxyv2:1.12-this-is-unusual-tag', init: 'private-repo/istio/proxyv2:1.12-this-is-unusual-tag' },
  { desc: 'unusual tag should work, default override', hub: 'private-repo/istio', tag: '1.12-this-is-unusual-tag-distroless', pc: 'default', want: 'private-repo/istio/proxyv2:1.12-this-is-unusual-tag', init: 'private-repo/istio/proxyv2:1.12-this-is-unusual-tag-distroless' },
  { desc: 'annotation overrides imageType with unusual tag', hub: 'private-repo/istio', tag: '1.12-this-is-unusual-tag', ann: 'distroless', want: 'private-repo/istio/proxyv2:1.12-this-is-unusual-tag-distroless', init: 'private-repo/istio/proxyv2:1.12-this-is-unusual-tag-distroless' },
];

// Ours, on the same rule: the variant is the type when ProxyConfig names none, and an empty annotation still counts.
export const OWN_ROWS: Row[] = [
  { desc: 'variant distroless, pc debug: the proxy is debug, istio-init distroless', hub: 'example.com/mesh', tag: '1.30.2', variant: 'distroless', pc: 'debug', want: 'example.com/mesh/proxyv2:1.30.2-debug', init: 'example.com/mesh/proxyv2:1.30.2-distroless' },
  { desc: 'an unpublished variant is replaced by the pc type, not stacked under it', hub: 'example.com/mesh', tag: '1.30.2', variant: 'fips', pc: 'debug', want: 'example.com/mesh/proxyv2:1.30.2-debug', init: 'example.com/mesh/proxyv2:1.30.2-fips' },
  { desc: 'an empty annotation overrides the variant: the bare tag for both', hub: 'example.com/mesh', tag: '1.30.2', variant: 'distroless', ann: '', want: 'example.com/mesh/proxyv2:1.30.2', init: 'example.com/mesh/proxyv2:1.30.2' },
];

export const ROWS = [...ISTIO_ROWS, ...OWN_ROWS];

export function sets(row: Row): string[] {
  return [
    `values.global.hub=${row.hub}`,
    `values.global.tag=${row.tag}`,
    `values.global.variant=${row.variant ?? ''}`,
    ...(row.pc !== undefined ? [`meshConfig.defaultConfig.image={"imageType":"${row.pc}"}`] : []),
  ];
}

export function podOf(row: Row): Pod {
  return appPod(row.ann !== undefined ? { annotations: { 'sidecar.istio.io/proxyImageType': row.ann } } : {});
}

export function check(pod: Pod, row: Row): void {
  expect(container(pod, 'istio-proxy')?.image).toBe(row.want);
  expect(container(pod, 'istio-init')?.image).toBe(row.init);
}
