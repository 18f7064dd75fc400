/**
 * Interface-name annotations (src/inject/interfaceNames.ts): `traffic.sidecar.istio.io/excludeInterfaces`,
 * `traffic.sidecar.istio.io/kubevirtInterfaces` and `istio.io/reroute-virtual-interfaces` become istio-init arguments
 * (`-c`, `-k`), so a pod is refused unless each comma-separated entry, trimmed, is a Linux interface name: a letter
 * followed by letters, digits, `_`, `.` or `-`, at most 15 bytes. Istio's rule: pkg/util/net/ip.go
 * ValidateInterfaceNames, applied to all three annotations by pkg/kube/inject/validate.go.
 *
 * The rows (test/inject/interfaceNames.rows.ts) are Istio's TestValidateInterfaceNames and Go edge cases; here every
 * row and every annotation through the HTTPS webhook (the patch applied); test/cli/interfaceNames.test.ts runs each row
 * through the built CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createRuntime } from '../../src/server/runtime.js';
import { startTestServer, type TestServer } from '../helpers/https.js';
import { ACCEPTED, ANNOTATIONS, REFUSED, argAfter, refusal } from './interfaceNames.rows.js';
import { admitPod, appPod } from './review.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer(createRuntime(loadConfig({ profile: 'kyma' })));
});
afterAll(async () => {
  await server?.close();
});

describe('HTTPS webhook', () => {
  for (const [annotation, flag] of ANNOTATIONS) {
    describe(annotation, () => {
      it.each(ACCEPTED)('accepted: %s', async (_row, value) => {
        const answer = await admitPod(server, appPod({ annotations: { [annotation]: value } }));
        expect(answer.allowed).toBe(true);
        expect(argAfter(answer.pod, flag)).toBe(value);
      });

      it.each(REFUSED)('refused: %s', async (_row, value, problem) => {
        const answer = await admitPod(server, appPod({ annotations: { [annotation]: value } }));
        expect(answer.allowed).toBe(false);
        expect(answer.patch).toBeUndefined();
        expect(answer.message).toBe(refusal(annotation, value, problem));
        expect(answer.audit).toBe(`rejected: invalid annotation ${annotation}`);
      });
    });
  }

  it('a name longer than a message quotes is cut in the message', async () => {
    const value = `eth0,${'a'.repeat(300)}`;
    const answer = await admitPod(server, appPod({ annotations: { 'traffic.sidecar.istio.io/excludeInterfaces': value } }));
    expect(answer.allowed).toBe(false);
    const cut = `${'a'.repeat(256)}…(300 characters)`;
    expect(answer.message).toBe(
      `invalid value 'eth0,${'a'.repeat(251)}…(305 characters)' for annotation 'traffic.sidecar.istio.io/excludeInterfaces': interface name "${cut}" too long (max 15 chars)`,
    );
  });
});
