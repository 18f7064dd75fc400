/**
 * The port-list annotations, checked with Istio's port-list rules (pkg/kube/inject/validate.go parsePorts: the whole
 * value trimmed, empty = no ports, comma-separated entries each trimmed and a decimal uint16; `*` for
 * includeInboundPorts only, compared as it is). mesh-webhook also refuses 0 (Istio accepts it; it names no port) and
 * checks `traffic.sidecar.istio.io/includeOutboundPorts`, which Istio passes unchecked to istio-iptables (`-u` became
 * an extra argument of the root init container).
 *
 * Through the real HTTPS webhook (kyma profile): valid values are injected and reach istio-iptables as they are;
 * invalid ones are refused with Istio's message shape. The validator reports the same values as IST0125.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createRuntime } from '../../src/server/runtime.js';
import { createValidator } from '../../src/validate/index.js';
import { startTestServer, type TestServer } from '../helpers/https.js';
import { admitPod, appPod, container } from './review.js';

interface PortListAnnotation {
  annotation: string;
  /** The name Istio's message uses. */
  what: string;
  /** The istio-iptables flag the value is passed with (undefined: it goes through excludeInboundPort first). */
  flag?: string;
  valid: string[];
  /** [value, the entry the message names] */
  invalid: [string, string][];
}

const TABLE: PortListAnnotation[] = [
  {
    annotation: 'traffic.sidecar.istio.io/includeInboundPorts',
    what: 'includeInboundPorts',
    flag: '-b',
    valid: ['*', '', '80', '80,443', ' 80 , 443 ', '65535', '0080'],
    invalid: [
      ['-u', '-u'],
      [' * ', '*'],
      ['*,80', '*'],
      ['80,,443', ''],
      ['80,', ''],
      ['65536', '65536'],
      ['http', 'http'],
      ['+80', '+80'],
      ['80 443', '80 443'],
      ['1e3', '1e3'],
    ],
  },
  {
    annotation: 'traffic.sidecar.istio.io/excludeInboundPorts',
    what: 'excludeInboundPorts',
    valid: ['', '80', '80,443', ' 9090 '],
    invalid: [
      ['*', '*'],
      ['-u', '-u'],
      ['80;443', '80;443'],
      ['99999', '99999'],
    ],
  },
  {
    annotation: 'traffic.sidecar.istio.io/includeOutboundPorts',
    what: 'includeOutboundPorts',
    flag: '-q',
    valid: ['', '443', '443,8443', '1,65535'],
    invalid: [
      ['-u', '-u'],
      ['*', '*'],
      ['443,-u', '-u'],
      ['443 -u 0', '443 -u 0'],
      ['--run-validation', '--run-validation'],
    ],
  },
  {
    annotation: 'traffic.sidecar.istio.io/excludeOutboundPorts',
    what: 'excludeOutboundPorts',
    flag: '-o',
    valid: ['', '5432', '5432,6379'],
    invalid: [
      ['-u', '-u'],
      ['*', '*'],
      ['70000', '70000'],
    ],
  },
];

let kyma: TestServer;
beforeAll(async () => {
  kyma = await startTestServer(createRuntime(loadConfig({})));
});
afterAll(() => kyma.close());

const validator = createValidator(loadConfig({}));
const ist0125 = (annotations: Record<string, string>) =>
  validator
    .validate({ ...appPod({ annotations }), metadata: { name: 'app', namespace: 'shop', annotations } }, 'shop')
    .filter((f) => f.code === 'IST0125')
    .map((f) => f.message);

describe.each(TABLE)('$annotation', ({ annotation, what, flag, valid, invalid }) => {
  it.each(valid)('valid %j: injected, passed on as it is', async (value) => {
    const answer = await admitPod(kyma, appPod({ annotations: { [annotation]: value } }));
    expect(answer.allowed).toBe(true);
    if (flag) {
      const args = container(answer.pod, 'istio-init')!.args!;
      expect(args[args.indexOf(flag) + 1]).toBe(value);
    }
    expect(ist0125({ [annotation]: value })).toEqual([]);
  });

  it.each(invalid)('invalid %j: refused, naming the entry', async (value, entry) => {
    const message = `invalid value '${value}' for annotation '${annotation}': ${what} invalid: failed parsing port '${entry}'`;
    const answer = await admitPod(kyma, appPod({ annotations: { [annotation]: value } }));
    expect(answer.allowed).toBe(false);
    expect(answer.message).toBe(message);
    expect(ist0125({ [annotation]: value })).toEqual([message]);
  });

  it('port 0: refused (Istio accepts it; it names no port)', async () => {
    const answer = await admitPod(kyma, appPod({ annotations: { [annotation]: '80,0' } }));
    expect(answer.message).toBe(`invalid value '80,0' for annotation '${annotation}': ${what} invalid: port number 0 must be in the range 1..65535`);
  });
});
