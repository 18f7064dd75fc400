/**
 * The injection-safety findings (MW0603-MW0607) as `mesh-webhook validate` reports them before a pod exists: the built
 * CLI on real files, JSON output, for every privilege path, with the `kyma` profile (errors, exit code 1), the `istio`
 * profile (none of the safety errors: Istio allows these; istioctl's IST0108 for annotations istio/api does not list
 * stays), and the `kyma` profile with the privilege set by the operator (no finding). Also POST /validate in enforce
 * mode: denied with the finding.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { deployment, NS, pod } from './examples.js';
import { useCliWorkspace, parseJsonFindings, postValidate, validationReview, type JsonFinding, type Obj, useEnforcingServer } from './helpers.js';

const workspace = useCliWorkspace();

const ann = (key: string) => `spec.template.metadata.annotations["${key}"]`;
const withAnnotations = (name: string, annotations: Record<string, string>) => deployment(name, {}, { annotations });
const withContainers = (name: string, containers: Obj[], initContainers?: Obj[]) =>
  deployment(name, { containers: [{ name: 'app', image: 'example.com/app:1' }, ...containers], ...(initContainers ? { initContainers } : {}) });

/** Every privilege path: the object, and the findings the kyma profile gives it (code and path). */
const PATHS: { what: string; object: Obj; kyma: string[]; istio: string[] }[] = [
  {
    what: 'proxy.istio.io/overrides giving istio-init another image, a shell and root',
    object: withAnnotations('overrides', {
      'proxy.istio.io/overrides': JSON.stringify({ initContainers: [{ name: 'istio-init', image: 'evil.example.com/tools:1', command: ['/bin/sh', '-c', 'id'], securityContext: { runAsUser: 0, privileged: true } }] }),
    }),
    kyma: [`MW0605 ${ann('proxy.istio.io/overrides')}`, `MW0603 ${ann('proxy.istio.io/overrides')}`, `MW0604 ${ann('proxy.istio.io/overrides')}`],
    istio: [],
  },
  {
    what: 'a declared istio-init with args and SYS_ADMIN',
    object: withContainers('own-init', [], [{ name: 'istio-init', image: 'auto', args: ['-c', 'id'], securityContext: { capabilities: { add: ['SYS_ADMIN'] } } }]),
    kyma: ['MW0603 spec.template.spec.initContainers[0]', 'MW0604 spec.template.spec.initContainers[0]'],
    istio: [],
  },
  {
    what: 'a declared istio-proxy from another registry',
    object: withContainers('own-proxy', [{ name: 'istio-proxy', image: 'docker.io/istio/proxyv2:1.30.2' }]),
    kyma: ['MW0605 spec.template.spec.containers[1]'],
    istio: [],
  },
  {
    what: 'a declared istio-proxy replacing CA_ADDR',
    object: withContainers('own-env', [{ name: 'istio-proxy', image: 'auto', env: [{ name: 'CA_ADDR', value: 'ca.evil.example.com:15012' }] }]),
    kyma: ['MW0606 spec.template.spec.containers[1]'],
    istio: [],
  },
  {
    what: 'core dumps (istio/api no longer lists the annotation: IST0108 as istioctl)',
    object: withAnnotations('core-dump', { 'sidecar.istio.io/enableCoreDump': 'true' }),
    kyma: [`IST0108 ${ann('sidecar.istio.io/enableCoreDump')}`, `MW0603 ${ann('sidecar.istio.io/enableCoreDump')}`],
    istio: [`IST0108 ${ann('sidecar.istio.io/enableCoreDump')}`],
  },
  {
    what: 'TPROXY interception',
    object: withAnnotations('tproxy', { 'sidecar.istio.io/interceptionMode': 'TPROXY' }),
    kyma: [`MW0603 ${ann('sidecar.istio.io/interceptionMode')}`],
    istio: [],
  },
  {
    what: 'capNetBindService (not in istio/api either: IST0108)',
    object: withAnnotations('bind', { 'sidecar.istio.io/capNetBindService': 'true' }),
    kyma: [`IST0108 ${ann('sidecar.istio.io/capNetBindService')}`, `MW0603 ${ann('sidecar.istio.io/capNetBindService')}`],
    istio: [`IST0108 ${ann('sidecar.istio.io/capNetBindService')}`],
  },
  {
    what: 'IPTABLES_TRACE_LOGGING in proxyMetadata (privileged proxy)',
    object: withAnnotations('trace', { 'proxy.istio.io/config': 'proxyMetadata:\n  IPTABLES_TRACE_LOGGING: "true"\n' }),
    kyma: [`MW0603 ${ann('proxy.istio.io/config')}`],
    istio: [],
  },
  {
    what: 'LD_PRELOAD, PROXY_UID and CA_ADDR in proxyMetadata (into istio-init and istio-proxy: one finding)',
    object: withAnnotations('metadata', { 'proxy.istio.io/config': 'proxyMetadata:\n  LD_PRELOAD: /x.so\n  PROXY_UID: "0"\n  CA_ADDR: evil:15012\n' }),
    kyma: [`MW0606 ${ann('proxy.istio.io/config')}`],
    istio: [],
  },
  {
    what: 'a sidecar.istio.io/status naming another container',
    object: {
      ...withContainers('status', [{ name: 'vault-agent', image: 'example.com/vault:1' }]),
    },
    kyma: [`MW0607 ${ann('sidecar.istio.io/status')}`],
    istio: [`MW0607 ${ann('sidecar.istio.io/status')}`],
  },
];
(PATHS.at(-1)!.object.spec.template.metadata as Obj).annotations = { 'sidecar.istio.io/status': '{"containers":["vault-agent"]}' };

function findings(args: string[], objects: Obj[]): JsonFinding[] {
  const run = workspace().run(['validate', '-f', workspace().file(objects), '-o', 'json', ...args]);
  expect(run.stderr).toBe('');
  return parseJsonFindings(run.stdout);
}

const byObject = (all: JsonFinding[], name: string) => all.filter((f) => f.object === `Deployment ${NS}/${name}`).map((f) => `${f.code} ${f.path}`);

describe('mesh-webhook validate', () => {
  let kyma: JsonFinding[];
  let istio: JsonFinding[];
  beforeAll(() => {
    kyma = findings([], PATHS.map((p) => p.object));
    istio = findings(['--profile', 'istio'], PATHS.map((p) => p.object));
  });

  it.each(PATHS)('$what', ({ object, kyma: expectKyma, istio: expectIstio }) => {
    const name = object.metadata.name as string;
    expect(byObject(kyma, name)).toEqual(expectKyma);
    expect(byObject(istio, name)).toEqual(expectIstio);
  });

  it('kyma: the messages say what, where from and which setting', () => {
    const message = (name: string, code: string) => kyma.find((f) => f.object === `Deployment ${NS}/${name}` && f.code === code)!.message;
    expect(message('tproxy', 'MW0603')).toBe(
      "injected container istio-proxy would run as root (UID 0), with capability NET_ADMIN, beyond what the operator's configuration gives it (not root, no capabilities); set by annotation sidecar.istio.io/interceptionMode=TPROXY: remove that, or ask the operator to allow it (safety.limitInjectedPrivileges)",
    );
    expect(message('metadata', 'MW0606')).toBe(
      "injected containers istio-init and istio-proxy: environment variables CA_ADDR, LD_PRELOAD, PROXY_UID set by annotation proxy.istio.io/config (proxyMetadata) are ones pods may not set (they change the loader, the proxy's identity or what istio-iptables captures); remove them, or ask the operator (safety.forbiddenInjectedEnv)",
    );
    expect(message('status', 'MW0607')).toBe(
      'sidecar.istio.io/status names container(s) vault-agent, which the injector does not add: they are kept (safety.stripOnlyInjectedContainers); remove the annotation, the injector writes it',
    );
    expect(istio.find((f) => f.code === 'MW0607')!.message).toBe(
      'sidecar.istio.io/status names container(s) vault-agent, which the injector does not add: injection removes them, as Istio does; remove the annotation, or set safety.stripOnlyInjectedContainers',
    );
    expect(kyma.find((f) => f.code === 'MW0607')!.severity).toBe('warning');
    expect(kyma.filter((f) => /^MW060[3-6]$/.test(f.code)).every((f) => f.severity === 'error')).toBe(true);
  });

  it('kyma with the privilege set by the operator: no finding; exit codes 1 and 0', () => {
    const tproxy = withAnnotations('tproxy', { 'sidecar.istio.io/interceptionMode': 'TPROXY' });
    const bind = withAnnotations('bind', { 'sidecar.istio.io/capNetBindService': 'true' });
    const file = workspace().file([tproxy]);
    expect(workspace().run(['validate', '-f', file, '-o', 'json']).status).toBe(1);
    const operator = workspace().run(['validate', '-f', file, '-o', 'json', '--set', 'meshConfig.defaultConfig.interceptionMode=TPROXY']);
    expect(operator.status).toBe(0);
    expect(parseJsonFindings(operator.stdout)).toEqual([]);
    expect(byObject(findings(['--set', 'values.global.proxy.capNetBindService=true'], [bind]), 'bind')).toEqual([`IST0108 ${ann('sidecar.istio.io/capNetBindService')}`]);
    // One limit off, the others still on.
    expect(byObject(findings(['--set', 'safety.limitInjectedPrivileges=false'], [PATHS[0]!.object]), 'overrides')).toEqual([
      `MW0605 ${ann('proxy.istio.io/overrides')}`,
      `MW0604 ${ann('proxy.istio.io/overrides')}`,
    ]);
  });

  it('a Pod points at its own metadata and spec', () => {
    const own = pod('own', { initContainers: [{ name: 'istio-init', image: 'auto', command: ['/bin/sh'] }] }, { annotations: { 'sidecar.istio.io/interceptionMode': 'TPROXY' } });
    expect(findings([], [own]).map((f) => `${f.code} ${f.path}`)).toEqual(['MW0604 spec.initContainers[0]', 'MW0603 metadata.annotations["sidecar.istio.io/interceptionMode"]']);
  });
});

describe('POST /validate (enforce): denied with the finding', () => {
  const server = useEnforcingServer();

  it.each(PATHS.filter((p) => p.kyma.some((k) => /^MW060[3-6]/.test(k))))('$what', async ({ object, kyma }) => {
    const answer = await postValidate(server, validationReview(object));
    expect(answer.allowed).toBe(false);
    expect(answer.code).toBe(403);
    for (const expected of kyma) {
      const space = expected.indexOf(' ');
      const [code, path] = [expected.slice(0, space), expected.slice(space + 1)];
      expect(answer.message).toContain(`${code} Deployment ${NS}/${object.metadata.name} ${path}: `);
    }
  });
});
