/**
 * JSON exactly as Istio's Go code writes Kubernetes structs: fields in Go struct order, empty `omitempty` fields
 * left out, map keys sorted, quantities canonical. Used where Istio embeds such JSON in the pod
 * (`proxy.istio.io/overrides`, `ISTIO_META_POD_PORTS`, `ISTIO_KUBE_APP_PROBERS`), so our output is byte-identical.
 */
import { canonicalQuantity } from './quantity.js';

type Kind = 'scalar' | 'ptr' | 'quantities' | 'stringMap' | Struct | { list: Kind };
/** A struct: [json name, kind, emitted even when empty (no omitempty)]. `ptr`: a Go pointer, left out only when nil. */
type Field = readonly [string, Kind, boolean?];
interface CompiledField {
  name: string;
  kind: Kind;
  always: boolean;
  /** `"name":`, written once here rather than for every value encoded. */
  prefix: string;
}
interface Struct {
  fields: readonly CompiledField[];
}

const s = (...fields: Field[]): Struct => ({
  fields: fields.map(([name, kind, always]) => ({ name, kind, always: always === true, prefix: `${JSON.stringify(name)}:` })),
});
const list = (k: Kind): Kind => ({ list: k });

const localRef = s(['name', 'scalar']);
const keySelector = s(['name', 'scalar'], ['key', 'scalar', true], ['optional', 'ptr']);
const envVarSource = s(
  ['fieldRef', s(['apiVersion', 'scalar'], ['fieldPath', 'scalar', true])],
  ['resourceFieldRef', s(['containerName', 'scalar'], ['resource', 'scalar', true], ['divisor', 'scalar'])],
  ['configMapKeyRef', keySelector],
  ['secretKeyRef', keySelector],
  ['fileKeyRef', s(['volumeName', 'scalar', true], ['path', 'scalar', true], ['key', 'scalar', true], ['optional', 'ptr'])],
);
const execAction = s(['command', list('scalar')]);
const httpGet = s(
  ['path', 'scalar'],
  ['port', 'scalar', true],
  ['host', 'scalar'],
  ['scheme', 'scalar'],
  ['httpHeaders', list(s(['name', 'scalar', true], ['value', 'scalar', true]))],
);
const tcpSocket = s(['port', 'scalar', true], ['host', 'scalar']);
const grpc = s(['port', 'scalar', true], ['service', 'scalar', true]);
const sleep = s(['seconds', 'scalar', true]);
const probe = s(
  ['exec', execAction],
  ['httpGet', httpGet],
  ['tcpSocket', tcpSocket],
  ['grpc', grpc],
  ['initialDelaySeconds', 'scalar'],
  ['timeoutSeconds', 'scalar'],
  ['periodSeconds', 'scalar'],
  ['successThreshold', 'scalar'],
  ['failureThreshold', 'scalar'],
  ['terminationGracePeriodSeconds', 'ptr'],
);
const lifecycleHandler = s(['exec', execAction], ['httpGet', httpGet], ['tcpSocket', tcpSocket], ['sleep', sleep]);
const typedProfile = s(['type', 'scalar', true], ['localhostProfile', 'scalar']);
const securityContext = s(
  ['capabilities', s(['add', list('scalar')], ['drop', list('scalar')])],
  ['privileged', 'ptr'],
  ['seLinuxOptions', s(['user', 'scalar'], ['role', 'scalar'], ['type', 'scalar'], ['level', 'scalar'])],
  [
    'windowsOptions',
    s(['gmsaCredentialSpecName', 'scalar'], ['gmsaCredentialSpec', 'scalar'], ['runAsUserName', 'scalar'], ['hostProcess', 'ptr']),
  ],
  ['runAsUser', 'ptr'],
  ['runAsGroup', 'ptr'],
  ['runAsNonRoot', 'ptr'],
  ['readOnlyRootFilesystem', 'ptr'],
  ['allowPrivilegeEscalation', 'ptr'],
  ['procMount', 'ptr'],
  ['seccompProfile', typedProfile],
  ['appArmorProfile', typedProfile],
);

export const CONTAINER_PORT = s(
  ['name', 'scalar'],
  ['hostPort', 'scalar'],
  ['containerPort', 'scalar', true],
  ['protocol', 'scalar'],
  ['hostIP', 'scalar'],
);

export const CONTAINER = s(
  ['name', 'scalar', true],
  ['image', 'scalar'],
  ['command', list('scalar')],
  ['args', list('scalar')],
  ['workingDir', 'scalar'],
  ['ports', list(CONTAINER_PORT)],
  ['envFrom', list(s(['prefix', 'scalar'], ['configMapRef', localRef], ['secretRef', localRef]))],
  ['env', list(s(['name', 'scalar', true], ['value', 'scalar'], ['valueFrom', envVarSource]))],
  ['resources', s(['limits', 'quantities'], ['requests', 'quantities'], ['claims', list(s(['name', 'scalar', true], ['request', 'scalar']))]), true],
  ['resizePolicy', list(s(['resourceName', 'scalar', true], ['restartPolicy', 'scalar', true]))],
  ['restartPolicy', 'ptr'],
  ['restartPolicyRules', list(s(['action', 'scalar', true], ['exitCodes', s(['operator', 'scalar', true], ['values', list('scalar')])]))],
  [
    'volumeMounts',
    list(
      s(
        ['name', 'scalar', true],
        ['readOnly', 'scalar'],
        ['recursiveReadOnly', 'scalar'],
        ['mountPath', 'scalar', true],
        ['subPath', 'scalar'],
        ['mountPropagation', 'scalar'],
        ['subPathExpr', 'scalar'],
      ),
    ),
  ],
  ['volumeDevices', list(s(['name', 'scalar', true], ['devicePath', 'scalar', true]))],
  ['livenessProbe', probe],
  ['readinessProbe', probe],
  ['startupProbe', probe],
  ['lifecycle', s(['postStart', lifecycleHandler], ['preStop', lifecycleHandler], ['stopSignal', 'scalar'])],
  ['terminationMessagePath', 'scalar'],
  ['terminationMessagePolicy', 'scalar'],
  ['imagePullPolicy', 'scalar'],
  ['securityContext', securityContext],
  ['stdin', 'scalar'],
  ['stdinOnce', 'scalar'],
  ['tty', 'scalar'],
);

/** Probe handler actions as they appear in ISTIO_KUBE_APP_PROBERS. */
export const PROBE_ACTIONS = { httpGet, tcpSocket, grpc } as const;

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === '' || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') {
    for (const _ in v as object) return false;
    return true;
  }
  return false;
}

function encode(value: unknown, kind: Kind): string | undefined {
  if (kind === 'scalar' || kind === 'ptr') return JSON.stringify(value ?? null);
  if (kind === 'quantities' || kind === 'stringMap') {
    if (value === null || typeof value !== 'object') return undefined;
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== null && v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(kind === 'quantities' ? canonicalQuantity(v as string) : v)}`);
    return `{${entries.join(',')}}`;
  }
  if ('list' in kind) {
    if (!Array.isArray(value)) return 'null';
    return `[${value.map((item) => encode(item, kind.list) ?? 'null').join(',')}]`;
  }
  return encodeStruct(value, kind);
}

/** Encodes `value` with the Go struct layout `struct`. Fields outside the layout are dropped, as Go does. */
export function encodeStruct(value: unknown, struct: Struct): string {
  if (value === null || typeof value !== 'object') return '{}';
  const obj = value as Record<string, unknown>;
  let out = '';
  const fields = struct.fields;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    const v = obj[f.name];
    if (f.kind === 'ptr' ? v === undefined || v === null : !f.always && isEmpty(v)) continue;
    const encoded = encode(v, f.kind);
    if (encoded !== undefined) out = out === '' ? `${f.prefix}${encoded}` : `${out},${f.prefix}${encoded}`;
  }
  return `{${out}}`;
}
