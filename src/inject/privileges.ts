/**
 * What a container may do beyond an ordinary unprivileged process, read from its securityContext (with the pod-level
 * fallbacks Kubernetes applies), its ports and the pod's AppArmor annotation for it. Used to compare an injected
 * container with what the operator's own configuration makes the template produce (safety.limitInjectedPrivileges).
 *
 * Fields with a wrong type count as the privileged reading (`privileged: "yes"` is privileged, a runAsUser that is not
 * a number may be root): the API server refuses such pods anyway, and a check must never be argued out of a refusal.
 */
import type { Container, Pod } from '../k8s/types.js';
import { isPlainObject } from '../util/json.js';

/** The capabilities a container has unless it drops them (containerd's and CRI-O's defaults, united). */
const DEFAULT_CAPABILITIES = [
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'NET_RAW',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
];

/** SELinux types Pod Security "baseline" allows (anything else, or a user or role, lifts confinement). */
const CONFINED_SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);

export interface Privileges {
  privileged: boolean;
  /** allowPrivilegeEscalation not false (also true when privileged or with CAP_SYS_ADMIN). */
  escalation: boolean;
  /** May run as UID 0. */
  root: boolean;
  /** Runs with GID 0. */
  rootGroup: boolean;
  /** Effective capabilities (names without CAP_, upper case); `ALL` stands for every capability. */
  capabilities: ReadonlySet<string>;
  writableRoot: boolean;
  /** Confinement lifted, as words for a message (`seccomp Unconfined`, `AppArmor unconfined`, ...). */
  unconfined: readonly string[];
  hostPorts: readonly number[];
}

type Obj = Record<string, unknown>;
const present = (v: unknown): boolean => v !== undefined && v !== null;

function capabilityNames(v: unknown): string[] {
  if (!Array.isArray(v)) return present(v) ? ['ALL'] : [];
  return v.map((c) => String(c).toUpperCase().replace(/^CAP_/, ''));
}

/** The privileges of container `c` of `pod` (the pod supplies securityContext fallbacks and AppArmor annotations). */
export function containerPrivileges(c: Container, pod: Pod | undefined): Privileges {
  const sc = isPlainObject(c.securityContext) ? c.securityContext : {};
  const podSc = isPlainObject(pod?.spec?.securityContext) ? (pod!.spec!.securityContext as Obj) : {};
  const pick = (field: string): unknown => (present(sc[field]) ? sc[field] : podSc[field]);

  const privileged = present(sc.privileged) && sc.privileged !== false;
  const caps = isPlainObject(sc.capabilities) ? sc.capabilities : {};
  const drop = new Set(capabilityNames(caps.drop));
  const add = capabilityNames(caps.add);
  const capabilities = new Set<string>();
  if (privileged || add.includes('ALL')) capabilities.add('ALL');
  else {
    if (!drop.has('ALL')) for (const cap of DEFAULT_CAPABILITIES) if (!drop.has(cap)) capabilities.add(cap);
    for (const cap of add) capabilities.add(cap);
  }
  const escalation = sc.allowPrivilegeEscalation !== false || privileged || capabilities.has('ALL') || capabilities.has('SYS_ADMIN');

  const runAsUser = pick('runAsUser');
  const runAsNonRoot = pick('runAsNonRoot');
  const root = present(runAsUser) ? runAsUser === 0 || typeof runAsUser !== 'number' : runAsNonRoot !== true;
  const runAsGroup = pick('runAsGroup');
  const rootGroup = present(runAsGroup) && (runAsGroup === 0 || typeof runAsGroup !== 'number');

  const unconfined: string[] = [];
  const seccomp = pick('seccompProfile');
  const seccompType = isPlainObject(seccomp) ? seccomp.type : undefined;
  if (seccompType !== 'RuntimeDefault' && seccompType !== 'Localhost') unconfined.push(`seccomp ${present(seccompType) ? String(seccompType) : 'Unconfined (no profile)'}`);
  const appArmor = pick('appArmorProfile');
  const appArmorAnnotation = pod?.metadata?.annotations?.[`container.apparmor.security.beta.kubernetes.io/${c.name}`];
  if ((isPlainObject(appArmor) && appArmor.type === 'Unconfined') || appArmorAnnotation === 'unconfined') unconfined.push('AppArmor unconfined');
  const seLinux = pick('seLinuxOptions');
  if (isPlainObject(seLinux)) {
    const type = present(seLinux.type) ? String(seLinux.type) : '';
    if (!CONFINED_SELINUX_TYPES.has(type)) unconfined.push(`SELinux type ${type}`);
    if (present(seLinux.user) && seLinux.user !== '') unconfined.push('an SELinux user');
    if (present(seLinux.role) && seLinux.role !== '') unconfined.push('an SELinux role');
  }
  if (present(sc.procMount) && sc.procMount !== 'Default') unconfined.push(`procMount ${String(sc.procMount)}`);
  const windows = pick('windowsOptions');
  if (isPlainObject(windows) && present(windows.hostProcess) && windows.hostProcess !== false) unconfined.push('a Windows host process');

  const hostPorts: number[] = [];
  for (const p of Array.isArray(c.ports) ? c.ports : []) {
    if (isPlainObject(p) && present(p.hostPort) && p.hostPort !== 0) hostPorts.push(typeof p.hostPort === 'number' ? p.hostPort : NaN);
  }

  return {
    privileged,
    escalation,
    root,
    rootGroup,
    capabilities,
    writableRoot: sc.readOnlyRootFilesystem !== true,
    unconfined,
    hostPorts,
  };
}

/** Privileges of a container the operator's configuration does not inject at all: none. */
export const NO_PRIVILEGES: Privileges = {
  privileged: false,
  escalation: false,
  root: false,
  rootGroup: false,
  capabilities: new Set(),
  writableRoot: false,
  unconfined: [],
  hostPorts: [],
};

/** Whether the container can do anything an unprivileged process cannot (what makes its command worth locking). */
export function isPrivileged(p: Privileges): boolean {
  return p.privileged || p.root || p.capabilities.size > 0;
}

/** What `actual` has beyond `allowed`, as phrases for a message (`as root (UID 0)`, `with capability NET_ADMIN`). */
export function privilegesBeyond(actual: Privileges, allowed: Privileges): string[] {
  const out: string[] = [];
  if (actual.privileged && !allowed.privileged) out.push('privileged');
  if (actual.root && !allowed.root) out.push('as root (UID 0)');
  if (actual.rootGroup && !allowed.rootGroup) out.push('with group 0');
  if (!allowed.capabilities.has('ALL')) {
    if (actual.capabilities.has('ALL')) {
      if (!actual.privileged) out.push('with all capabilities');
    } else {
      const extra = [...actual.capabilities].filter((cap) => !allowed.capabilities.has(cap)).sort();
      if (extra.length > 0) out.push(`with ${extra.length === 1 ? 'capability' : 'capabilities'} ${extra.join(', ')}`);
    }
  }
  if (actual.escalation && !allowed.escalation && !actual.privileged) out.push('with allowPrivilegeEscalation');
  if (actual.writableRoot && !allowed.writableRoot) out.push('with a writable root file system');
  for (const u of actual.unconfined) if (!allowed.unconfined.includes(u)) out.push(`with ${u}`);
  const hostPorts = actual.hostPorts.filter((p) => !allowed.hostPorts.includes(p));
  if (hostPorts.length > 0) out.push(`with host ${hostPorts.length === 1 ? 'port' : 'ports'} ${hostPorts.map((p) => (Number.isNaN(p) ? '(not a number)' : String(p))).join(', ')}`);
  return out;
}

/** A short description of what a container may do (`UID 1337, no capabilities`), for messages. */
export function describePrivileges(p: Privileges | undefined): string {
  if (!p) return 'none: it does not inject this container';
  const parts: string[] = [];
  if (p.privileged) parts.push('privileged');
  parts.push(p.root ? 'root' : 'not root');
  if (p.capabilities.has('ALL')) parts.push('all capabilities');
  else parts.push(p.capabilities.size > 0 ? `capabilities ${[...p.capabilities].sort().join(', ')}` : 'no capabilities');
  return parts.join(', ');
}
