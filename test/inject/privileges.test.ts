/**
 * What a container may do, read from its securityContext (src/inject/privileges.ts): the reading behind
 * safety.limitInjectedPrivileges (MW0603). Every field that lifts a privilege or a confinement, the pod-level fallbacks,
 * wrong types read as the privileged value, and the phrases the refusal is built from. Expected values are written
 * out here (the default capability set is containerd's and CRI-O's, as Pod Security's "baseline" lists them).
 */
import { describe, expect, test } from 'vitest';
import type { Container, Pod } from '../../src/k8s/types.js';
import { containerPrivileges, describePrivileges, isPrivileged, NO_PRIVILEGES, privilegesBeyond, type Privileges } from '../../src/inject/privileges.js';

type Obj = Record<string, unknown>;

const HARDENED: Obj = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  readOnlyRootFilesystem: true,
  runAsGroup: 1337,
  runAsNonRoot: true,
  runAsUser: 1337,
  seccompProfile: { type: 'RuntimeDefault' },
};

const container = (securityContext?: Obj, extra: Obj = {}): Container =>
  ({ name: 'istio-proxy', image: 'proxy', ...(securityContext !== undefined ? { securityContext } : {}), ...extra }) as Container;
const hardened = (change: Obj = {}, extra: Obj = {}) => container({ ...HARDENED, ...change }, extra);
const podWith = (spec: Obj = {}, annotations?: Record<string, string>): Pod =>
  ({ metadata: { name: 'p', ...(annotations ? { annotations } : {}) }, spec: { containers: [], ...spec } }) as Pod;
const of = (c: Container, pod?: Pod) => containerPrivileges(c, pod);
const caps = (p: Privileges) => [...p.capabilities].sort();

describe('containerPrivileges', () => {
  test('a container that sets nothing: root, may escalate, the runtime default capabilities, writable, no seccomp profile', () => {
    const p = of(container());
    expect(p).toMatchObject({ privileged: false, escalation: true, root: true, rootGroup: false, writableRoot: true, hostPorts: [] });
    expect(caps(p)).toEqual([
      'AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD',
      'NET_BIND_SERVICE', 'NET_RAW', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT',
    ]);
    expect(p.unconfined).toEqual(['seccomp Unconfined (no profile)']);
    expect(isPrivileged(p)).toBe(true);
  });

  test('the injected proxy as Istio renders it: nothing at all', () => {
    const p = of(hardened());
    expect(p).toMatchObject({ privileged: false, escalation: false, root: false, rootGroup: false, writableRoot: false, unconfined: [], hostPorts: [] });
    expect(caps(p)).toEqual([]);
    expect(isPrivileged(p)).toBe(false);
  });

  test.each<[string, Obj, Partial<Record<keyof Privileges, unknown>>, string[]]>([
    ['privileged: true', { privileged: true }, { privileged: true, escalation: true }, ['ALL']],
    ['privileged with a wrong type reads as privileged', { privileged: 'yes' }, { privileged: true, escalation: true }, ['ALL']],
    ['privileged: false', { privileged: false }, { privileged: false, escalation: false }, []],
    ['an added capability, CAP_ prefix and case ignored', { capabilities: { drop: ['ALL'], add: ['cap_net_admin'] } }, { escalation: false }, ['NET_ADMIN']],
    ['SYS_ADMIN allows escalation whatever allowPrivilegeEscalation says', { capabilities: { drop: ['ALL'], add: ['SYS_ADMIN'] } }, { escalation: true }, ['SYS_ADMIN']],
    ['add ALL', { capabilities: { drop: ['ALL'], add: ['ALL'] } }, { escalation: true, privileged: false }, ['ALL']],
    ['add that is not a list reads as ALL', { capabilities: { drop: ['ALL'], add: 'NET_ADMIN' } }, { escalation: true }, ['ALL']],
    ['drop that is not a list reads as dropping ALL', { capabilities: { drop: 'NET_RAW' } }, {}, []],
    [
      'dropping some of the defaults keeps the others',
      { capabilities: { drop: ['NET_RAW', 'CAP_chown', 'SETUID', 'SETGID', 'SETPCAP', 'SETFCAP', 'MKNOD', 'KILL', 'AUDIT_WRITE', 'FOWNER', 'FSETID', 'DAC_OVERRIDE'] } },
      {},
      ['NET_BIND_SERVICE', 'SYS_CHROOT'],
    ],
    ['allowPrivilegeEscalation: true', { allowPrivilegeEscalation: true }, { escalation: true }, []],
    ['allowPrivilegeEscalation absent', { allowPrivilegeEscalation: undefined }, { escalation: true }, []],
  ])('%s', (_name, change, expected, expectedCaps) => {
    const p = of(hardened(change));
    expect(p).toMatchObject(expected);
    expect(caps(p)).toEqual(expectedCaps);
  });

  test.each<[string, Obj | undefined, Obj | undefined, boolean]>([
    ['runAsUser 0', { runAsUser: 0, runAsNonRoot: undefined }, undefined, true],
    ['runAsUser 0 even with runAsNonRoot (the kubelet refuses to start it; the reading stays root)', { runAsUser: 0, runAsNonRoot: true }, undefined, true],
    ['runAsUser that is not a number', { runAsUser: '1337' }, undefined, true],
    ['runAsNonRoot without runAsUser', { runAsUser: undefined, runAsNonRoot: true }, undefined, false],
    ['neither (the image decides, may be root)', { runAsUser: undefined, runAsNonRoot: undefined }, undefined, true],
    ['runAsNonRoot false without runAsUser', { runAsUser: undefined, runAsNonRoot: false }, undefined, true],
    ["the pod's runAsUser when the container has none", { runAsUser: undefined, runAsNonRoot: undefined }, { runAsUser: 1000 }, false],
    ["the pod's runAsUser 0 when the container has none", { runAsUser: undefined, runAsNonRoot: undefined }, { runAsUser: 0 }, true],
    ["the container's runAsUser 0 over the pod's 1000", { runAsUser: 0 }, { runAsUser: 1000 }, true],
    ["a null runAsUser falls back to the pod's", { runAsUser: null, runAsNonRoot: undefined }, { runAsUser: 0 }, true],
    ["the pod's runAsNonRoot", { runAsUser: undefined, runAsNonRoot: undefined }, { runAsNonRoot: true }, false],
  ])('root: %s', (_name, change, podSc, root) => {
    const pod = podSc ? podWith({ securityContext: podSc }) : undefined;
    expect(of(hardened(change), pod).root).toBe(root);
  });

  test.each<[string, Obj, Obj | undefined, boolean]>([
    ['runAsGroup 0', { runAsGroup: 0 }, undefined, true],
    ['runAsGroup that is not a number', { runAsGroup: 'root' }, undefined, true],
    ['runAsGroup absent', { runAsGroup: undefined }, undefined, false],
    ["the pod's runAsGroup 0", { runAsGroup: undefined }, { runAsGroup: 0 }, true],
  ])('root group: %s', (_name, change, podSc, rootGroup) => {
    expect(of(hardened(change), podSc ? podWith({ securityContext: podSc }) : undefined).rootGroup).toBe(rootGroup);
  });

  test.each<[string, Obj, Obj | undefined, Record<string, string> | undefined, string[]]>([
    ['seccomp Unconfined', { seccompProfile: { type: 'Unconfined' } }, undefined, undefined, ['seccomp Unconfined']],
    ['seccomp Localhost is confined', { seccompProfile: { type: 'Localhost', localhostProfile: 'p.json' } }, undefined, undefined, []],
    ["the pod's seccomp profile when the container has none", { seccompProfile: undefined }, { seccompProfile: { type: 'RuntimeDefault' } }, undefined, []],
    ['no seccomp profile anywhere', { seccompProfile: undefined }, undefined, undefined, ['seccomp Unconfined (no profile)']],
    ['AppArmor Unconfined (field)', { appArmorProfile: { type: 'Unconfined' } }, undefined, undefined, ['AppArmor unconfined']],
    ['AppArmor RuntimeDefault (field)', { appArmorProfile: { type: 'RuntimeDefault' } }, undefined, undefined, []],
    ["the pod's AppArmor field", {}, { appArmorProfile: { type: 'Unconfined' } }, undefined, ['AppArmor unconfined']],
    ['AppArmor unconfined (annotation for this container)', {}, undefined, { 'container.apparmor.security.beta.kubernetes.io/istio-proxy': 'unconfined' }, ['AppArmor unconfined']],
    ['AppArmor annotation for another container', {}, undefined, { 'container.apparmor.security.beta.kubernetes.io/app': 'unconfined' }, []],
    ['SELinux spc_t', { seLinuxOptions: { type: 'spc_t' } }, undefined, undefined, ['SELinux type spc_t']],
    ['SELinux container_t', { seLinuxOptions: { type: 'container_t' } }, undefined, undefined, []],
    ['SELinux container_init_t', { seLinuxOptions: { type: 'container_init_t' } }, undefined, undefined, []],
    ['SELinux level only', { seLinuxOptions: { level: 's0:c1,c2' } }, undefined, undefined, []],
    ['SELinux user and role', { seLinuxOptions: { user: 'system_u', role: 'system_r', type: '' } }, undefined, undefined, ['an SELinux user', 'an SELinux role']],
    ["the pod's SELinux options", {}, { seLinuxOptions: { type: 'unconfined_t' } }, undefined, ['SELinux type unconfined_t']],
    ['procMount Unmasked', { procMount: 'Unmasked' }, undefined, undefined, ['procMount Unmasked']],
    ['procMount Default', { procMount: 'Default' }, undefined, undefined, []],
    ['a Windows host process', { windowsOptions: { hostProcess: true } }, undefined, undefined, ['a Windows host process']],
    ['hostProcess false', { windowsOptions: { hostProcess: false } }, undefined, undefined, []],
    ["the pod's Windows host process", {}, { windowsOptions: { hostProcess: true } }, undefined, ['a Windows host process']],
  ])('confinement: %s', (_name, change, podSc, annotations, unconfined) => {
    const pod = podSc || annotations ? podWith(podSc ? { securityContext: podSc } : {}, annotations) : undefined;
    expect(of(hardened(change), pod).unconfined).toEqual(unconfined);
  });

  test('a read-only root file system only when asked for', () => {
    expect(of(hardened({ readOnlyRootFilesystem: false })).writableRoot).toBe(true);
    expect(of(hardened({ readOnlyRootFilesystem: undefined })).writableRoot).toBe(true);
    expect(of(hardened({ readOnlyRootFilesystem: 'true' })).writableRoot).toBe(true);
  });

  test('host ports: every non-zero hostPort, one that is not a number as NaN', () => {
    const ports = [{ containerPort: 15090 }, { containerPort: 80, hostPort: 8080 }, { containerPort: 81, hostPort: 0 }, { containerPort: 82, hostPort: '9090' }, null];
    expect(of(hardened({}, { ports })).hostPorts).toEqual([8080, NaN]);
    expect(of(hardened({}, { ports: 'not a list' })).hostPorts).toEqual([]);
  });
});

describe('privilegesBeyond and the words of the refusal', () => {
  const proxy = of(hardened());
  test('nothing beyond itself', () => {
    expect(privilegesBeyond(proxy, proxy)).toEqual([]);
    expect(privilegesBeyond(NO_PRIVILEGES, proxy)).toEqual([]);
    const root = of(container());
    expect(privilegesBeyond(root, root)).toEqual([]);
  });

  test('one capability, then several (sorted), the allowed ones left out', () => {
    expect(privilegesBeyond(of(hardened({ capabilities: { drop: ['ALL'], add: ['NET_ADMIN'] } })), proxy)).toEqual(['with capability NET_ADMIN']);
    const more = of(hardened({ capabilities: { drop: ['ALL'], add: ['NET_RAW', 'NET_ADMIN', 'SYS_PTRACE'] } }));
    expect(privilegesBeyond(more, proxy)).toEqual(['with capabilities NET_ADMIN, NET_RAW, SYS_PTRACE']);
    const allowed = of(hardened({ capabilities: { drop: ['ALL'], add: ['NET_RAW'] } }));
    expect(privilegesBeyond(more, allowed)).toEqual(['with capabilities NET_ADMIN, SYS_PTRACE']);
  });

  test('privileged says so once (not "all capabilities", not escalation as well)', () => {
    expect(privilegesBeyond(of(hardened({ privileged: true })), proxy)).toEqual(['privileged']);
  });

  test('all capabilities without privileged, which also allows escalation', () => {
    expect(privilegesBeyond(of(hardened({ capabilities: { add: ['ALL'] } })), proxy)).toEqual(['with all capabilities', 'with allowPrivilegeEscalation']);
  });

  test('nothing about capabilities when the operator allows all of them', () => {
    const operator = of(hardened({ privileged: true }));
    expect(privilegesBeyond(of(hardened({ capabilities: { add: ['SYS_ADMIN', 'NET_ADMIN'] } })), operator)).toEqual([]);
  });

  test('every other privilege, in a fixed order', () => {
    const worst = of(
      container(
        { runAsUser: 0, runAsGroup: 0, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'Unconfined' }, procMount: 'Unmasked' },
        { ports: [{ containerPort: 80, hostPort: 80 }, { containerPort: 81, hostPort: 'x' }] },
      ),
    );
    expect(privilegesBeyond(worst, proxy)).toEqual([
      'as root (UID 0)',
      'with group 0',
      'with allowPrivilegeEscalation',
      'with a writable root file system',
      'with seccomp Unconfined',
      'with procMount Unmasked',
      'with host ports 80, (not a number)',
    ]);
    expect(privilegesBeyond(of(hardened({}, { ports: [{ containerPort: 80, hostPort: 8080 }] })), proxy)).toEqual(['with host port 8080']);
  });

  test('what the operator allows is not repeated: root, host ports, confinement', () => {
    const operator = of(container({ runAsUser: 0, capabilities: { drop: ['ALL'] }, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true }, { ports: [{ containerPort: 1, hostPort: 80 }] }));
    const actual = of(container({ runAsUser: 0, capabilities: { drop: ['ALL'] }, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true }, { ports: [{ containerPort: 1, hostPort: 80 }, { containerPort: 2, hostPort: 81 }] }));
    expect(privilegesBeyond(actual, operator)).toEqual(['with host port 81']);
  });

  test('describePrivileges: what the operator gives, for the message', () => {
    expect(describePrivileges(undefined)).toBe('none: it does not inject this container');
    expect(describePrivileges(proxy)).toBe('not root, no capabilities');
    expect(describePrivileges(of(hardened({ privileged: true, runAsUser: 0 })))).toBe('privileged, root, all capabilities');
    expect(describePrivileges(of(hardened({ runAsUser: 0, capabilities: { drop: ['ALL'], add: ['NET_RAW', 'NET_ADMIN'] } })))).toBe('root, capabilities NET_ADMIN, NET_RAW');
  });

  test('isPrivileged: root, privileged or any capability', () => {
    expect(isPrivileged(proxy)).toBe(false);
    expect(isPrivileged(of(hardened({ runAsUser: 0 })))).toBe(true);
    expect(isPrivileged(of(hardened({ privileged: true })))).toBe(true);
    expect(isPrivileged(of(hardened({ capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } })))).toBe(true);
    expect(isPrivileged(NO_PRIVILEGES)).toBe(false);
  });
});
