/**
 * Injected pods against the Kubernetes Pod Security Standards (https://kubernetes.io/docs/concepts/security/pod-security-standards/,
 * policy version "latest"), implemented here from the published definitions, not with our own validator. The pod
 * checked is the request's pod with the webhook's JSON Patch applied.
 *
 * - Kyma profile, CNI mode (`values.pilot.cni.enabled=true`): a pod that meets `restricted` still meets it after
 *   injection, whether its settings are per container or pod-wide, native or classic sidecar; the injected containers
 *   (istio-validation, istio-proxy) meet `restricted` on their own (they set runAsNonRoot, runAsUser 1337, no privilege
 *   escalation, drop ALL, seccomp RuntimeDefault).
 * - Kyma profile without CNI: `baseline`, except exactly the documented capabilities NET_ADMIN and NET_RAW of
 *   istio-init (which runs iptables); istio-proxy still meets `restricted` on its own.
 * - Istio profile: Istio's chart sets no seccomp profile (values.global.proxy.seccompProfile is {}), so in CNI mode
 *   the injected containers miss `restricted` by that one control unless the pod sets seccomp pod-wide; setting
 *   values.global.proxy.seccompProfile (what the Kyma profile does) fixes it.
 * - Annotations that weaken the sidecar (TPROXY interception, core dumps) are Istio features a pod opts into. The
 *   Kyma profile refuses them (safety.limitInjectedPrivileges, test/inject/safety.test.ts); with that setting off, as
 *   in Istio, the result is reported here as the violations Pod Security admission would refuse, not hidden.
 */
import jsonpatch from 'fast-json-patch';
import { describe, expect, test } from 'vitest';
import { samplePod } from '../../src/admission/sample.js';
import { loadConfig, type LoadConfigOptions } from '../../src/config/load.js';
import { createInjector } from '../../src/inject/index.js';
import type { Pod } from '../../src/k8s/types.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const list = (v: unknown): Obj[] => (Array.isArray(v) ? (v as Obj[]) : []);

export interface Violation {
  control: string;
  /** `pod` or the container name. */
  where: string;
  detail: string;
}

const BASELINE_CAPABILITIES = new Set(['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT']);
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);
const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);
const RESTRICTED_VOLUMES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);
const SECCOMP_ALLOWED = new Set(['RuntimeDefault', 'Localhost']);

function containersOf(spec: Obj): Obj[] {
  return [...list(spec.initContainers), ...list(spec.containers), ...list(spec.ephemeralContainers)];
}

/** The `baseline` controls, for a pod. */
export function baselineViolations(pod: Obj): Violation[] {
  const out: Violation[] = [];
  const add = (control: string, where: string, detail: string) => out.push({ control, where, detail });
  const meta = obj(pod.metadata);
  const spec = obj(pod.spec);
  const podSc = obj(spec.securityContext);
  const containers = containersOf(spec);
  // HostProcess
  if (obj(podSc.windowsOptions).hostProcess === true) add('hostProcess', 'pod', 'windowsOptions.hostProcess');
  // Host namespaces
  for (const f of ['hostNetwork', 'hostPID', 'hostIPC']) if (spec[f] === true) add('hostNamespaces', 'pod', f);
  // HostPath volumes
  for (const v of list(spec.volumes)) if (v.hostPath !== undefined) add('hostPathVolumes', 'pod', String(v.name));
  // Sysctls
  for (const s of list(podSc.sysctls)) if (!SAFE_SYSCTLS.has(String(s.name))) add('sysctls', 'pod', String(s.name));
  // Pod-level AppArmor, SELinux, seccomp
  const appArmor = (sc: Obj, where: string) => {
    const t = obj(sc.appArmorProfile).type;
    if (t !== undefined && t !== 'RuntimeDefault' && t !== 'Localhost') add('appArmor', where, String(t));
  };
  const seLinux = (sc: Obj, where: string) => {
    const o = obj(sc.seLinuxOptions);
    if (o.type !== undefined && !SELINUX_TYPES.has(String(o.type))) add('seLinux', where, `type ${String(o.type)}`);
    if (o.user !== undefined && o.user !== '') add('seLinux', where, 'user');
    if (o.role !== undefined && o.role !== '') add('seLinux', where, 'role');
  };
  const seccomp = (sc: Obj, where: string) => {
    if (obj(sc.seccompProfile).type === 'Unconfined') add('seccomp', where, 'Unconfined');
  };
  appArmor(podSc, 'pod');
  seLinux(podSc, 'pod');
  seccomp(podSc, 'pod');
  for (const [key, value] of Object.entries(obj(meta.annotations))) {
    if (key.startsWith('container.apparmor.security.beta.kubernetes.io/') && value !== 'runtime/default' && !String(value).startsWith('localhost/')) {
      add('appArmor', key.slice(key.indexOf('/') + 1), String(value));
    }
  }
  for (const c of containers) {
    const name = String(c.name);
    const sc = obj(c.securityContext);
    if (obj(sc.windowsOptions).hostProcess === true) add('hostProcess', name, 'windowsOptions.hostProcess');
    if (sc.privileged === true) add('privileged', name, 'privileged: true');
    for (const cap of list(obj(sc.capabilities).add) as unknown as string[]) if (!BASELINE_CAPABILITIES.has(cap)) add('capabilities', name, cap);
    for (const p of list(c.ports)) if (p.hostPort !== undefined && p.hostPort !== 0) add('hostPorts', name, String(p.hostPort));
    appArmor(sc, name);
    seLinux(sc, name);
    if (sc.procMount !== undefined && sc.procMount !== 'Default') add('procMount', name, String(sc.procMount));
    seccomp(sc, name);
  }
  return out;
}

/** The `restricted` controls (baseline plus these), for a pod. */
export function restrictedViolations(pod: Obj): Violation[] {
  const out = baselineViolations(pod);
  const add = (control: string, where: string, detail: string) => out.push({ control, where, detail });
  const spec = obj(pod.spec);
  const podSc = obj(spec.securityContext);
  for (const v of list(spec.volumes)) {
    const types = Object.keys(v).filter((k) => k !== 'name');
    for (const t of types) if (!RESTRICTED_VOLUMES.has(t)) add('volumeTypes', 'pod', `${String(v.name)}: ${t}`);
  }
  if (podSc.runAsUser === 0) add('runAsUser', 'pod', 'runAsUser: 0');
  const podSeccomp = obj(podSc.seccompProfile).type;
  for (const c of containersOf(spec)) {
    const name = String(c.name);
    const sc = obj(c.securityContext);
    if (sc.allowPrivilegeEscalation !== false) add('allowPrivilegeEscalation', name, `allowPrivilegeEscalation: ${String(sc.allowPrivilegeEscalation)}`);
    if (sc.runAsNonRoot === false || (sc.runAsNonRoot !== true && podSc.runAsNonRoot !== true)) add('runAsNonRoot', name, `runAsNonRoot: ${String(sc.runAsNonRoot)}`);
    if (sc.runAsUser === 0) add('runAsUser', name, 'runAsUser: 0');
    const t = obj(sc.seccompProfile).type;
    if (t === undefined ? !SECCOMP_ALLOWED.has(String(podSeccomp)) : !SECCOMP_ALLOWED.has(String(t))) add('seccomp', name, `seccompProfile: ${String(t ?? podSeccomp)}`);
    const caps = obj(sc.capabilities);
    if (!(list(caps.drop) as unknown as string[]).includes('ALL')) add('capabilities', name, 'does not drop ALL');
    for (const cap of list(caps.add) as unknown as string[]) if (cap !== 'NET_BIND_SERVICE') add('capabilities', name, `adds ${cap}`);
  }
  return dedupe(out);
}

function dedupe(vs: Violation[]): Violation[] {
  const seen = new Set<string>();
  return vs.filter((v) => {
    const k = `${v.control}|${v.where}|${v.detail}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** A pod that meets `restricted` by itself: per container (no pod-level settings), or pod-wide. */
function restrictedPod(style: 'container' | 'pod'): Pod {
  const pod = samplePod();
  const strict = { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true, runAsUser: 1000 };
  const spec = pod.spec!;
  if (style === 'container') {
    spec.containers = spec.containers!.map((c) => ({ ...c, securityContext: { ...strict, seccompProfile: { type: 'RuntimeDefault' } } }));
  } else {
    spec.securityContext = { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } };
    spec.containers = spec.containers!.map((c) => ({ ...c, securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }));
  }
  spec.initContainers = [{ name: 'migrate', image: 'docker.io/library/busybox:1.36', command: ['true'], securityContext: style === 'container' ? { ...strict, seccompProfile: { type: 'RuntimeDefault' } } : { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }];
  return pod;
}

/** Inject `pod` with `config`, apply the JSON Patch to the original, and return the patched pod. */
function injected(pod: Pod, config: LoadConfigOptions): Obj {
  const outcome = createInjector(loadConfig(config)).inject({ pod: structuredClone(pod) });
  if (outcome.kind !== 'injected') throw new Error(`not injected: ${outcome.reason}`);
  const patched = jsonpatch.applyPatch(structuredClone(pod), outcome.patch() as jsonpatch.Operation[], true, false).newDocument as Obj;
  expect(patched).toEqual(JSON.parse(JSON.stringify(outcome.pod)));
  return patched;
}

/** The pod reduced to the injected containers only (to check them without the app's settings). */
function onlyInjected(pod: Obj): Obj {
  const spec = obj(pod.spec);
  const ours = (cs: unknown) => list(cs).filter((c) => String(c.name).startsWith('istio-'));
  return { ...pod, spec: { ...spec, securityContext: undefined, volumes: [], containers: ours(spec.containers), initContainers: ours(spec.initContainers) } };
}

const CNI = ['values.pilot.cni.enabled=true'];
const VARIANTS: { name: string; config: LoadConfigOptions }[] = [
  { name: 'native sidecar', config: { sets: CNI } },
  { name: 'classic sidecar, hold until proxy starts', config: { sets: CNI, nativeSidecars: false } },
  { name: 'classic sidecar, no hold', config: { sets: [...CNI, 'values.global.proxy.holdApplicationUntilProxyStarts=false', 'meshConfig.defaultConfig.holdApplicationUntilProxyStarts=false'], nativeSidecars: false } },
];

describe('the checks themselves (against the published examples)', () => {
  test('a privileged, host-networked, hostPath, root pod violates both levels; a locked-down pod none', () => {
    const bad = { spec: { hostNetwork: true, volumes: [{ name: 'h', hostPath: { path: '/' } }], containers: [{ name: 'c', securityContext: { privileged: true, capabilities: { add: ['SYS_ADMIN'] }, seccompProfile: { type: 'Unconfined' } }, ports: [{ containerPort: 80, hostPort: 80 }] }] } };
    expect(baselineViolations(bad).map((v) => v.control).sort()).toEqual(['capabilities', 'hostNamespaces', 'hostPathVolumes', 'hostPorts', 'privileged', 'seccomp']);
    expect(restrictedViolations(bad).map((v) => v.control)).toEqual(expect.arrayContaining(['allowPrivilegeEscalation', 'runAsNonRoot', 'volumeTypes']));
    expect(restrictedViolations(restrictedPod('container') as Obj)).toEqual([]);
    expect(restrictedViolations(restrictedPod('pod') as Obj)).toEqual([]);
    // A container without a seccomp profile, and no pod-wide one: restricted is violated.
    const noSeccomp = restrictedPod('container');
    delete (noSeccomp.spec!.containers![0]!.securityContext as Obj).seccompProfile;
    expect(restrictedViolations(noSeccomp as Obj)).toEqual([{ control: 'seccomp', where: 'httpbin', detail: 'seccompProfile: undefined' }]);
  });
});

describe('Kyma profile, CNI mode: restricted', () => {
  test.each(VARIANTS)('$name: a restricted pod stays restricted (per-container and pod-wide settings)', ({ config }) => {
    for (const style of ['container', 'pod'] as const) {
      const pod = injected(restrictedPod(style), config);
      const names = containersOf(obj(pod.spec)).map((c) => c.name);
      expect(names).toEqual(expect.arrayContaining(['istio-validation', 'istio-proxy']));
      expect(names).not.toContain('istio-init');
      expect(restrictedViolations(pod), style).toEqual([]);
    }
  });

  test.each(VARIANTS)('$name: the injected containers meet restricted on their own', ({ config }) => {
    const pod = injected(samplePod(), config);
    expect(restrictedViolations(onlyInjected(pod))).toEqual([]);
    for (const c of containersOf(obj(onlyInjected(pod).spec))) {
      expect(obj(c.securityContext), String(c.name)).toMatchObject({
        allowPrivilegeEscalation: false,
        privileged: false,
        runAsNonRoot: true,
        runAsUser: 1337,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
    }
  });
});

describe('Kyma profile without CNI: baseline plus only NET_ADMIN and NET_RAW on istio-init', () => {
  test.each([
    { name: 'native sidecar', config: {} },
    { name: 'classic sidecar', config: { nativeSidecars: false } },
  ])('$name', ({ config }) => {
    const pod = injected(restrictedPod('container'), config);
    expect(baselineViolations(pod)).toEqual([
      { control: 'capabilities', where: 'istio-init', detail: 'NET_ADMIN' },
      { control: 'capabilities', where: 'istio-init', detail: 'NET_RAW' },
    ]);
    // istio-init runs as root to set up iptables: the only container that misses restricted.
    expect(new Set(restrictedViolations(pod).map((v) => v.where))).toEqual(new Set(['istio-init']));
    const proxyOnly = onlyInjected(pod);
    const spec = obj(proxyOnly.spec);
    expect(restrictedViolations({ ...proxyOnly, spec: { ...spec, initContainers: list(spec.initContainers).filter((c) => c.name !== 'istio-init') } })).toEqual([]);
  });
});

describe("Istio profile (Istio's chart defaults): no seccomp profile", () => {
  test('CNI mode: the injected containers miss restricted only by seccomp; pod-wide seccomp or values.global.proxy.seccompProfile fixes it', () => {
    const sets = ['values.pilot.cni.enabled=true'];
    const pod = injected(restrictedPod('container'), { profile: 'istio', sets });
    expect(restrictedViolations(pod)).toEqual([
      { control: 'seccomp', where: 'istio-validation', detail: 'seccompProfile: undefined' },
      { control: 'seccomp', where: 'istio-proxy', detail: 'seccompProfile: undefined' },
    ]);
    expect(restrictedViolations(injected(restrictedPod('pod'), { profile: 'istio', sets }))).toEqual([]);
    const fixed = injected(restrictedPod('container'), { profile: 'istio', sets: [...sets, 'values.global.proxy.seccompProfile={"type":"RuntimeDefault"}'] });
    expect(restrictedViolations(fixed)).toEqual([]);
  });
});

describe('annotations that weaken the sidecar (allowed with safety.limitInjectedPrivileges off) are visible to Pod Security admission', () => {
  const ALLOWED = [...CNI, 'safety.limitInjectedPrivileges=false'];
  test('TPROXY interception: istio-proxy runs as root with NET_ADMIN', () => {
    const pod = restrictedPod('container');
    pod.metadata!.annotations = { 'sidecar.istio.io/interceptionMode': 'TPROXY' };
    const violations = restrictedViolations(onlyInjected(injected(pod, { sets: ALLOWED })));
    expect(violations).toEqual(
      expect.arrayContaining([
        { control: 'capabilities', where: 'istio-proxy', detail: 'NET_ADMIN' },
        { control: 'runAsNonRoot', where: 'istio-proxy', detail: 'runAsNonRoot: false' },
        { control: 'runAsUser', where: 'istio-proxy', detail: 'runAsUser: 0' },
      ]),
    );
  });

  test('core dumps: a privileged init container (baseline refuses it)', () => {
    const pod = restrictedPod('container');
    pod.metadata!.annotations = { 'sidecar.istio.io/enableCoreDump': 'true' };
    expect(baselineViolations(injected(pod, { sets: ALLOWED }))).toEqual([
      { control: 'privileged', where: 'enable-core-dump', detail: 'privileged: true' },
      { control: 'capabilities', where: 'enable-core-dump', detail: 'SYS_ADMIN' },
    ]);
  });
});
