/**
 * Injection safety (config key `safety`, docs/security.md, "Injection safety"): every path by which a pod could make the
 * injected containers root, privileged, run a command or image of its choosing, or carry a loader/identity variable,
 * through the real HTTPS webhook with the answer's patch applied:
 * - the `kyma` profile refuses it (allowed: false, the whole one-line message written here literally);
 * - the `istio` profile keeps Istio's behaviour (the pod is injected with what it asked for);
 * - what the operator's own configuration asks for (meshConfig TPROXY, values capNetBindService, CNI) is still
 *   injected with the `kyma` profile.
 * Also: a `sidecar.istio.io/status` written by the pod cannot remove another container (kyma), and `image: auto` in
 * `proxy.istio.io/overrides` means the injected image (both profiles, as Istio).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type LoadConfigOptions } from '../../src/config/load.js';
import { createRuntime } from '../../src/server/runtime.js';
import type { Container, Pod } from '../../src/k8s/types.js';
import { startTestServer, type TestServer } from '../helpers/https.js';
import { admitPod, appPod, container, env } from './review.js';

const HUB = 'europe-docker.pkg.dev/kyma-project/prod/external/istio';
const KYMA_IMAGE = `${HUB}/proxyv2:1.30.2-distroless`;
const ISTIO_IMAGE = 'docker.io/istio/proxyv2:1.30.2';

const CONFIGS: Record<string, LoadConfigOptions> = {
  kyma: {},
  istio: { profile: 'istio' },
  kymaOperatorTproxy: { sets: ['meshConfig.defaultConfig.interceptionMode=TPROXY'] },
  kymaOperatorCapNetBind: { sets: ['values.global.proxy.capNetBindService=true'] },
  kymaCni: { sets: ['values.pilot.cni.enabled=true'] },
};
const servers: Record<string, TestServer> = {};
beforeAll(async () => {
  for (const [name, options] of Object.entries(CONFIGS)) servers[name] = await startTestServer(createRuntime(loadConfig(options)));
});
afterAll(async () => {
  await Promise.all(Object.values(servers).map((s) => s.close()));
});

const withAnnotations = (annotations: Record<string, string>) => appPod({ annotations });
const withContainers = (containers: Container[], initContainers?: Container[]) => {
  const pod = appPod();
  pod.spec!.containers = [...pod.spec!.containers!, ...containers];
  if (initContainers) pod.spec!.initContainers = initContainers;
  return pod;
};

async function refused(server: string, pod: Pod, message: string): Promise<void> {
  const answer = await admitPod(servers[server]!, pod);
  expect(answer.allowed).toBe(false);
  expect(answer.patch).toBeUndefined();
  expect(answer.message).toBe(message);
}

async function injected(server: string, pod: Pod): Promise<Pod> {
  const answer = await admitPod(servers[server]!, pod);
  expect(answer.message).toBeUndefined();
  expect(answer.allowed).toBe(true);
  return answer.pod;
}

const sc = (c: Container | undefined) => c?.securityContext as Record<string, unknown> | undefined;

describe('proxy.istio.io/overrides on a new pod: istio-init with another image, a shell and user 0', () => {
  const overrides = JSON.stringify({
    initContainers: [
      {
        name: 'istio-init',
        image: 'evil.example.com/tools:1',
        command: ['/bin/sh', '-c', 'nsenter -t 1 -m -u -i -n -p -- sh'],
        securityContext: { runAsUser: 0, privileged: true },
      },
    ],
  });

  it('kyma: refused, naming the annotation, each problem and the setting to change', async () => {
    await refused(
      'kyma',
      withAnnotations({ 'proxy.istio.io/overrides': overrides }),
      "injected container istio-init: image 'evil.example.com/tools:1' set by annotation proxy.istio.io/overrides (its istio-init entry) does not come from europe-docker.pkg.dev/kyma-project/prod/external/istio; use image: auto (the injected image) or one from there (safety.allowedProxyImagePrefixes); " +
        "injected container istio-init would run privileged, beyond what the operator's configuration gives it (root, capabilities NET_ADMIN, NET_RAW); set by annotation proxy.istio.io/overrides (its istio-init entry): remove that, or ask the operator to allow it (safety.limitInjectedPrivileges); " +
        'injected container istio-init: command ["/bin/sh","-c","nsenter -t 1 -m -u -i -n -p -- sh"] set by annotation proxy.istio.io/overrides (its istio-init entry) would change what it runs; pods may not change what privileged injected containers run (safety.lockInjectedCommands)',
    );
  });

  it('istio: injected with the overrides, as Istio does', async () => {
    const pod = await injected('istio', withAnnotations({ 'proxy.istio.io/overrides': overrides }));
    const init = container(pod, 'istio-init')!;
    expect(init.image).toBe('evil.example.com/tools:1');
    expect(init.command).toEqual(['/bin/sh', '-c', 'nsenter -t 1 -m -u -i -n -p -- sh']);
    expect(sc(init)).toMatchObject({ runAsUser: 0, privileged: true });
  });
});

describe('a pod declaring its own istio-init / istio-proxy', () => {
  const ownInit: Container = { name: 'istio-init', image: 'auto', args: ['-c', 'iptables -F'], securityContext: { capabilities: { add: ['SYS_ADMIN'] } } };

  it('kyma: istio-init with its own args and SYS_ADMIN is refused, pointing at the declared container', async () => {
    await refused(
      'kyma',
      withContainers([], [ownInit]),
      "injected container istio-init would run with capability SYS_ADMIN, with allowPrivilegeEscalation, beyond what the operator's configuration gives it (root, capabilities NET_ADMIN, NET_RAW); set by the pod's own istio-init container (spec.initContainers[0]): remove that, or ask the operator to allow it (safety.limitInjectedPrivileges); " +
        'injected container istio-init: args ["-c","iptables -F"] set by the pod\'s own istio-init container (spec.initContainers[0]) would change what it runs; pods may not change what privileged injected containers run (safety.lockInjectedCommands)',
    );
  });

  it('istio: the declared istio-init wins field by field', async () => {
    const pod = await injected('istio', withContainers([], [ownInit]));
    const init = container(pod, 'istio-init')!;
    expect(init.args).toEqual(['-c', 'iptables -F']);
    expect(init.image).toBe(ISTIO_IMAGE);
    expect((sc(init)!.capabilities as { add: string[] }).add).toEqual(['SYS_ADMIN']);
  });

  it('kyma: istio-proxy from another registry is refused; image: auto is the injected image', async () => {
    await refused(
      'kyma',
      withContainers([{ name: 'istio-proxy', image: 'docker.io/istio/proxyv2:1.30.2' }]),
      "injected container istio-proxy: image 'docker.io/istio/proxyv2:1.30.2' set by the pod's own istio-proxy container (spec.containers[1]) does not come from europe-docker.pkg.dev/kyma-project/prod/external/istio; use image: auto (the injected image) or one from there (safety.allowedProxyImagePrefixes)",
    );
    const pod = await injected('kyma', withContainers([{ name: 'istio-proxy', image: 'auto', resources: { limits: { memory: '512Mi' } } }]));
    expect(container(pod, 'istio-proxy')!.image).toBe(KYMA_IMAGE);
    expect((container(pod, 'istio-proxy')!.resources as { limits: Record<string, string> }).limits.memory).toBe('512Mi');
  });

  it('istio: istio-proxy from any registry', async () => {
    const pod = await injected('istio', withContainers([{ name: 'istio-proxy', image: 'other.example.com/proxyv2:1' }]));
    expect(container(pod, 'istio-proxy')!.image).toBe('other.example.com/proxyv2:1');
  });

  it('kyma: istio-proxy as root is refused; another non-root UID is Istio feature and allowed (istio-init -u follows)', async () => {
    await refused(
      'kyma',
      withContainers([{ name: 'istio-proxy', image: 'auto', securityContext: { runAsUser: 0 } }]),
      "injected container istio-proxy would run as root (UID 0), beyond what the operator's configuration gives it (not root, no capabilities); set by the pod's own istio-proxy container (spec.containers[1]): remove that, or ask the operator to allow it (safety.limitInjectedPrivileges)",
    );
    const pod = await injected('kyma', withContainers([{ name: 'istio-proxy', image: 'auto', securityContext: { runAsUser: 1234, runAsGroup: 1234 } }]));
    expect(sc(container(pod, 'istio-proxy'))).toMatchObject({ runAsUser: 1234, runAsGroup: 1234, runAsNonRoot: true });
    const args = container(pod, 'istio-init')!.args!;
    expect(args.slice(args.indexOf('-u'), args.indexOf('-u') + 2)).toEqual(['-u', '1234']);
  });

  it('kyma CNI: a root istio-proxy would also make istio-validation root: both refused, one message each', async () => {
    await refused(
      'kymaCni',
      withContainers([{ name: 'istio-proxy', image: 'auto', securityContext: { runAsUser: 0 } }]),
      "injected container istio-validation would run as root (UID 0), beyond what the operator's configuration gives it (not root, no capabilities); set by the pod's own istio-proxy container (spec.containers[1]), whose runAsUser/runAsGroup istio-validation takes: remove that, or ask the operator to allow it (safety.limitInjectedPrivileges); " +
        "injected container istio-proxy would run as root (UID 0), beyond what the operator's configuration gives it (not root, no capabilities); set by the pod's own istio-proxy container (spec.containers[1]): remove that, or ask the operator to allow it (safety.limitInjectedPrivileges)",
    );
  });

  it('kyma: host ports, no seccomp profile and an unconfined AppArmor profile are privileges too', async () => {
    await refused(
      'kyma',
      withContainers([{ name: 'istio-proxy', image: 'auto', ports: [{ containerPort: 15090, hostPort: 80 }], securityContext: { seccompProfile: null } as never }]),
      "injected container istio-proxy would run with seccomp Unconfined (no profile), with host port 80, beyond what the operator's configuration gives it (not root, no capabilities); set by the pod's own istio-proxy container (spec.containers[1]): remove that, or ask the operator to allow it (safety.limitInjectedPrivileges)",
    );
    await refused(
      'kyma',
      withAnnotations({ 'container.apparmor.security.beta.kubernetes.io/istio-proxy': 'unconfined' }),
      "injected container istio-proxy would run with AppArmor unconfined, beyond what the operator's configuration gives it (not root, no capabilities); set by annotation container.apparmor.security.beta.kubernetes.io/istio-proxy=unconfined: remove that, or ask the operator to allow it (safety.limitInjectedPrivileges)",
    );
  });

  it('kyma: an unprivileged istio-proxy may get other args (Istio feature); istio-init may not', async () => {
    const pod = await injected('kyma', withContainers([{ name: 'istio-proxy', image: 'auto', args: ['proxy', 'sidecar', '--concurrency=2'] }]));
    expect(container(pod, 'istio-proxy')!.args).toEqual(['proxy', 'sidecar', '--concurrency=2']);
  });
});

describe('core dumps (sidecar.istio.io/enableCoreDump)', () => {
  it('kyma: the privileged enable-core-dump init container is refused', async () => {
    await refused(
      'kyma',
      withAnnotations({ 'sidecar.istio.io/enableCoreDump': 'true' }),
      "injected container enable-core-dump would run privileged, as root (UID 0), with group 0, with a writable root file system, with seccomp Unconfined (no profile), beyond what the operator's configuration gives it (none: it does not inject this container); set by annotation sidecar.istio.io/enableCoreDump=true: remove that, or ask the operator to allow it (safety.limitInjectedPrivileges)",
    );
  });

  it('kyma with core dumps allowed: still no command of the pod in it (nsenter into the host)', async () => {
    const server = await startTestServer(createRuntime(loadConfig({ sets: ['safety.limitInjectedPrivileges=false'] })));
    try {
      const pod = withAnnotations({
        'sidecar.istio.io/enableCoreDump': 'true',
        'proxy.istio.io/overrides': JSON.stringify({ initContainers: [{ name: 'enable-core-dump', args: ['-c', 'nsenter -t 1 -m -u -i -n -p -- sh -c id'] }] }),
      });
      const answer = await admitPod(server, pod);
      expect(answer.allowed).toBe(false);
      expect(answer.message).toBe(
        'injected container enable-core-dump: args ["-c","nsenter -t 1 -m -u -i -n -p -- sh -c id"] set by annotation proxy.istio.io/overrides (its enable-core-dump entry) would change what it runs; pods may not change what privileged injected containers run (safety.lockInjectedCommands)',
      );
    } finally {
      await server.close();
    }
  });

  it('istio: injected, privileged with SYS_ADMIN, and the override runs (this template still has the container)', async () => {
    const pod = await injected(
      'istio',
      withAnnotations({
        'sidecar.istio.io/enableCoreDump': 'true',
        'proxy.istio.io/overrides': JSON.stringify({ initContainers: [{ name: 'enable-core-dump', args: ['-c', 'nsenter -t 1 -- id'] }] }),
      }),
    );
    const dump = container(pod, 'enable-core-dump')!;
    expect(dump.args).toEqual(['-c', 'nsenter -t 1 -- id']);
    expect(sc(dump)).toMatchObject({ privileged: true, runAsUser: 0, capabilities: { add: ['SYS_ADMIN'], drop: ['ALL'] } });
  });
});

describe('TPROXY interception and capNetBindService: a root proxy', () => {
  it('kyma: asked by the pod, refused', async () => {
    await refused(
      'kyma',
      withAnnotations({ 'sidecar.istio.io/interceptionMode': 'TPROXY' }),
      "injected container istio-proxy would run as root (UID 0), with capability NET_ADMIN, beyond what the operator's configuration gives it (not root, no capabilities); set by annotation sidecar.istio.io/interceptionMode=TPROXY: remove that, or ask the operator to allow it (safety.limitInjectedPrivileges)",
    );
    await refused(
      'kyma',
      withAnnotations({ 'sidecar.istio.io/capNetBindService': 'true' }),
      "injected container istio-proxy would run as root (UID 0), with capability NET_BIND_SERVICE, beyond what the operator's configuration gives it (not root, no capabilities); set by annotation sidecar.istio.io/capNetBindService=true: remove that, or ask the operator to allow it (safety.limitInjectedPrivileges)",
    );
  });

  it('istio: the proxy runs as root with NET_ADMIN / NET_BIND_SERVICE, as Istio', async () => {
    const tproxy = await injected('istio', withAnnotations({ 'sidecar.istio.io/interceptionMode': 'TPROXY' }));
    expect(sc(container(tproxy, 'istio-proxy'))).toMatchObject({ runAsUser: 0, runAsNonRoot: false, capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] } });
    const bind = await injected('istio', withAnnotations({ 'sidecar.istio.io/capNetBindService': 'true' }));
    expect(sc(container(bind, 'istio-proxy'))).toMatchObject({ runAsUser: 0, capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] } });
  });

  it('kyma: set by the operator (meshConfig TPROXY, values capNetBindService), injected; a pod adding the other is refused', async () => {
    const tproxy = await injected('kymaOperatorTproxy', appPod());
    expect(sc(container(tproxy, 'istio-proxy'))).toMatchObject({ runAsUser: 0, capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] } });
    expect(container(tproxy, 'istio-init')!.args).toContain('TPROXY');
    const bind = await injected('kymaOperatorCapNetBind', appPod());
    expect(sc(container(bind, 'istio-proxy'))).toMatchObject({ runAsUser: 0, capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] } });
    await refused(
      'kymaOperatorCapNetBind',
      withAnnotations({ 'sidecar.istio.io/interceptionMode': 'TPROXY' }),
      "injected container istio-proxy would run with capability NET_ADMIN, beyond what the operator's configuration gives it (root, capabilities NET_BIND_SERVICE); set by annotation sidecar.istio.io/interceptionMode=TPROXY: remove that, or ask the operator to allow it (safety.limitInjectedPrivileges)",
    );
  });

  it('kyma with operator TPROXY: the root proxy runs the template\'s programs (no volume over /usr/local/bin)', async () => {
    const mounts = { 'sidecar.istio.io/userVolume': '{"bin":{"emptyDir":{}}}', 'sidecar.istio.io/userVolumeMount': '{"bin":{"mountPath":"/usr/local/bin"}}' };
    await refused(
      'kymaOperatorTproxy',
      withAnnotations(mounts),
      'injected container istio-proxy (which runs with privileges): a volume mounted over its programs at "/usr/local/bin" set by annotation sidecar.istio.io/userVolumeMount would change what it runs; pods may not change what privileged injected containers run (safety.lockInjectedCommands)',
    );
    // The same mount on the unprivileged proxy of the kyma defaults is Istio's feature: allowed.
    const pod = await injected('kyma', withAnnotations(mounts));
    expect(container(pod, 'istio-proxy')!.volumeMounts).toContainEqual({ name: 'bin', mountPath: '/usr/local/bin' });
  });

  it("kyma with operator TPROXY: the pod's ProxyConfig cannot choose the program pilot-agent runs as root", async () => {
    const binary = { 'proxy.istio.io/config': 'binaryPath: /var/lib/istio/data/evil\n' };
    await refused(
      'kymaOperatorTproxy',
      withAnnotations(binary),
      'injected container istio-proxy (which runs with privileges): ProxyConfig binaryPath "/var/lib/istio/data/evil" set by annotation proxy.istio.io/config would change what it runs; pods may not change what privileged injected containers run (safety.lockInjectedCommands)',
    );
    const pod = await injected('kyma', withAnnotations(binary));
    expect(JSON.parse(env(container(pod, 'istio-proxy'), 'PROXY_CONFIG')!).binaryPath).toBe('/var/lib/istio/data/evil');
  });

  it('IPTABLES_TRACE_LOGGING in proxyMetadata: Istio\'s privileged proxy; refused by kyma', async () => {
    const config = { 'proxy.istio.io/config': 'proxyMetadata:\n  IPTABLES_TRACE_LOGGING: "true"\n' };
    await refused(
      'kyma',
      withAnnotations(config),
      "injected container istio-proxy would run privileged, as root (UID 0), beyond what the operator's configuration gives it (not root, no capabilities); set by annotation proxy.istio.io/config (proxyMetadata IPTABLES_TRACE_LOGGING): remove that, or ask the operator to allow it (safety.limitInjectedPrivileges)",
    );
    const pod = await injected('istio', withAnnotations(config));
    // Istio's injection-template.yaml, the IPTABLES_TRACE_LOGGING branch of the proxy's securityContext.
    expect(sc(container(pod, 'istio-proxy'))).toEqual({
      allowPrivilegeEscalation: true,
      capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] },
      privileged: true,
      readOnlyRootFilesystem: true,
      runAsGroup: 1337,
      runAsNonRoot: false,
      runAsUser: 0,
    });
  });

  it('kyma: the interception mode NONE needs no init container; REDIRECT is what the defaults give', async () => {
    const none = await injected('kyma', withAnnotations({ 'sidecar.istio.io/interceptionMode': 'NONE' }));
    expect(container(none, 'istio-init')).toBeUndefined();
    const redirect = await injected('kyma', withAnnotations({ 'sidecar.istio.io/interceptionMode': 'REDIRECT' }));
    expect(container(redirect, 'istio-init')).toBeDefined();
  });
});

describe('environment variables that change the loader or the proxy identity', () => {
  const metadata = { 'proxy.istio.io/config': 'proxyMetadata:\n  LD_PRELOAD: /var/lib/istio/data/x.so\n  PROXY_UID: "0"\n  CA_ADDR: ca.evil.example.com:15012\n  ISTIO_META_DNS_CAPTURE: "true"\n' };

  it('kyma: proxyMetadata reaching the root istio-init and istio-proxy is refused, naming each variable', async () => {
    await refused(
      'kyma',
      withAnnotations(metadata),
      "injected containers istio-init and istio-proxy: environment variables CA_ADDR, LD_PRELOAD, PROXY_UID set by annotation proxy.istio.io/config (proxyMetadata) are ones pods may not set (they change the loader, the proxy's identity or what istio-iptables captures); remove them, or ask the operator (safety.forbiddenInjectedEnv)",
    );
  });

  it('kyma: other proxyMetadata is fine (ISTIO_META_DNS_CAPTURE)', async () => {
    const pod = await injected('kyma', withAnnotations({ 'proxy.istio.io/config': 'proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "true"\n' }));
    expect(container(pod, 'istio-init')!.env).toEqual([{ name: 'ISTIO_META_DNS_CAPTURE', value: 'true' }]);
  });

  it('istio: every proxyMetadata variable reaches istio-init and istio-proxy, as Istio', async () => {
    const pod = await injected('istio', withAnnotations(metadata));
    for (const name of ['istio-init', 'istio-proxy']) {
      expect(env(container(pod, name), 'LD_PRELOAD')).toBe('/var/lib/istio/data/x.so');
      expect(env(container(pod, name), 'PROXY_UID')).toBe('0');
    }
    // The template's CA_ADDR comes first and proxyMetadata's after it: Kubernetes takes the last one.
    expect((container(pod, 'istio-proxy')!.env ?? []).filter((e) => e.name === 'CA_ADDR').map((e) => e.value)).toEqual(['istiod.istio-system.svc:15012', 'ca.evil.example.com:15012']);
  });

  it('kyma: a declared istio-proxy replacing CA_ADDR, or bringing envFrom, is refused; one repeating the template value is not', async () => {
    await refused(
      'kyma',
      withContainers([{ name: 'istio-proxy', image: 'auto', env: [{ name: 'CA_ADDR', value: 'ca.evil.example.com:15012' }] }]),
      "injected container istio-proxy: environment variable CA_ADDR set by the pod's own istio-proxy container (spec.containers[1]) is one pods may not set (they change the loader, the proxy's identity or what istio-iptables captures); remove it, or ask the operator (safety.forbiddenInjectedEnv)",
    );
    await refused(
      'kyma',
      withContainers([{ name: 'istio-proxy', image: 'auto', envFrom: [{ configMapRef: { name: 'proxy-env' } }] }]),
      "injected container istio-proxy: envFrom set by the pod's own istio-proxy container (spec.containers[1]) can set any environment variable, including ones pods may not set; list the variables under env instead (safety.forbiddenInjectedEnv)",
    );
    const pod = await injected('kyma', withContainers([{ name: 'istio-proxy', image: 'auto', env: [{ name: 'CA_ADDR', value: 'istiod.istio-system.svc:15012' }, { name: 'EXTRA', value: '1' }] }]));
    expect(env(container(pod, 'istio-proxy'), 'CA_ADDR')).toBe('istiod.istio-system.svc:15012');
    expect(env(container(pod, 'istio-proxy'), 'EXTRA')).toBe('1');
  });

  it('istio: the declared CA_ADDR wins', async () => {
    const pod = await injected('istio', withContainers([{ name: 'istio-proxy', image: 'auto', env: [{ name: 'CA_ADDR', value: 'ca.evil.example.com:15012' }] }]));
    expect(env(container(pod, 'istio-proxy'), 'CA_ADDR')).toBe('ca.evil.example.com:15012');
  });
});

describe('re-injection: sidecar.istio.io/status written by the pod', () => {
  const forged = () => {
    const pod = withContainers([{ name: 'vault-agent', image: 'example.com/vault:1' }]);
    pod.metadata!.annotations = { 'sidecar.istio.io/status': '{"containers":["vault-agent","istio-proxy"],"initContainers":["istio-init"]}' };
    return pod;
  };

  it('kyma: only the injector\'s own containers are stripped: vault-agent stays, and the template sees it', async () => {
    const pod = await injected('kyma', forged());
    expect(pod.spec!.containers!.map((c) => c.name)).toEqual(['app', 'vault-agent']);
    expect(pod.spec!.initContainers!.map((c) => c.name)).toEqual(['istio-init', 'istio-proxy']);
    expect(env(container(pod, 'istio-proxy'), 'ISTIO_META_APP_CONTAINERS')).toBe('app,vault-agent');
  });

  // Istio strips the containers the status names from the template's input only (inject.go stripPod); the template is
  // merged onto the pod as received (RunTemplate), so vault-agent stays in the pod, unseen by the template.
  it('istio: every container the status names is hidden from the template, and stays in the pod, as Istio', async () => {
    const pod = await injected('istio', forged());
    expect(pod.spec!.containers!.map((c) => c.name)).toEqual(['app', 'vault-agent']);
    expect(pod.spec!.initContainers!.map((c) => c.name)).toEqual(['istio-init', 'istio-proxy']);
    expect(env(container(pod, 'istio-proxy'), 'ISTIO_META_APP_CONTAINERS')).toBe('app');
  });

  it('kyma: a real re-injection still replaces the injected containers', async () => {
    const first = await injected('kyma', appPod());
    const second = await injected('kyma', first);
    expect(second).toEqual(first);
  });
});

describe('proxy.istio.io/overrides with image: auto means the injected image (both profiles, as Istio)', () => {
  it.each([
    ['kyma', KYMA_IMAGE],
    ['istio', ISTIO_IMAGE],
  ])('%s', async (server, image) => {
    const pod = await injected(server, withAnnotations({ 'proxy.istio.io/overrides': '{"containers":[{"name":"istio-proxy","image":"auto"}],"initContainers":[{"name":"istio-proxy","image":"auto"}]}' }));
    expect(container(pod, 'istio-proxy')!.image).toBe(image);
  });
});

describe('proxy.istio.io/overrides entries that are not objects', () => {
  it.each(['kyma', 'istio'])('%s: ignored (Go decodes them to an empty container), not an internal error', async (server) => {
    const pod = await injected(server, withAnnotations({ 'proxy.istio.io/overrides': '{"initContainers":[null,7,"istio-init",{"name":"istio-proxy"}]}' }));
    expect(container(pod, 'istio-proxy')).toBeDefined();
  });
});

describe('kyma: what the locked istio-init runs, case by case (proxy.istio.io/overrides)', () => {
  const overrides = (init: Record<string, unknown>) => withAnnotations({ 'proxy.istio.io/overrides': JSON.stringify({ initContainers: [{ name: 'istio-init', ...init }] }) });
  const outcome = async (pod: Pod): Promise<string> => {
    const answer = await admitPod(servers['kyma']!, pod);
    return answer.allowed ? 'injected' : (answer.message ?? 'refused');
  };

  it.each<[string, unknown, boolean]>([
    ['/usr', '/usr', true],
    ['a directory under /usr', '/usr/local/bin', true],
    ['/usr spelled with extra slashes', '//usr//lib/', true],
    ['/usr spelled relative', './lib64', true],
    ['the root', '/', true],
    ['/etc, which holds the loader files', '/etc', true],
    ['/etc/ld.so.preload', '/etc/ld.so.preload', true],
    ['under /etc/ld.so.conf.d', '/etc/ld.so.conf.d/x.conf', true],
    ['/bin', '/bin', true],
    ['/sbin', '/sbin', true],
    ['a path with ..', '/var/../usr', true],
    ['a mountPath that is not a string', 5, true],
    ['/var/lib/istio/data', '/var/lib/istio/data', false],
    ['/etc/istio/proxy', '/etc/istio/proxy', false],
    ['/tmp', '/tmp', false],
    ['/usrx (not /usr)', '/usrx', false],
    ['/libx (not /lib)', '/libx', false],
  ])('a volume at %s: refused %s', async (_name, mountPath, refusedExpected) => {
    const result = await outcome(overrides({ volumeMounts: [{ name: 'x', mountPath }] }));
    if (refusedExpected) {
      expect(result).toMatch(/^injected container istio-init: a volume mounted over its programs .* set by annotation proxy\.istio\.io\/overrides \(its istio-init entry\) would change what it runs/);
    } else {
      expect(result).toBe('injected');
    }
  });

  it("args: only istio-iptables' proxy UID after -u may differ, and only as a positive number", async () => {
    const template = container(await injected('kyma', appPod()), 'istio-init')!.args as string[];
    const u = template.indexOf('-u');
    expect(u).toBeGreaterThan(0);
    const withUid = (uid: string) => template.map((a, i) => (i === u + 1 ? uid : a));
    expect(await outcome(overrides({ args: withUid('1234') }))).toBe('injected');
    expect(await outcome(overrides({ args: template }))).toBe('injected');
    for (const uid of ['0', '01337', '-1', '12345678901', 'x']) {
      expect(await outcome(overrides({ args: withUid(uid) })), uid).toMatch(/^injected container istio-init: args .* would change what it runs/);
    }
    const otherFlag = template.map((a, i) => (i > 0 && template[i - 1] === '-p' ? '15002' : a));
    expect(otherFlag).not.toEqual(template);
    expect(await outcome(overrides({ args: otherFlag }))).toMatch(/^injected container istio-init: args /);
    expect(await outcome(overrides({ args: [...template, '--dry-run'] }))).toMatch(/^injected container istio-init: args /);
    expect(await outcome(overrides({ args: template.slice(0, -1) }))).toMatch(/^injected container istio-init: args /);
  });

  it('exec hooks, exec probes and volume devices', async () => {
    const exec = { exec: { command: ['/bin/sh', '-c', 'id'] } };
    expect(await outcome(overrides({ lifecycle: { postStart: exec } }))).toMatch(/^injected container istio-init: lifecycle\.postStart\.exec /);
    expect(await outcome(overrides({ lifecycle: { preStop: exec } }))).toMatch(/^injected container istio-init: lifecycle\.preStop\.exec /);
    expect(await outcome(overrides({ readinessProbe: exec }))).toMatch(/^injected container istio-init: readinessProbe\.exec /);
    expect(await outcome(overrides({ livenessProbe: exec }))).toMatch(/^injected container istio-init: livenessProbe\.exec /);
    expect(await outcome(overrides({ startupProbe: exec }))).toMatch(/^injected container istio-init: startupProbe\.exec /);
    expect(await outcome(overrides({ volumeDevices: [{ name: 'd', devicePath: '/dev/xvda' }] }))).toMatch(/^injected container istio-init: volumeDevices /);
    expect(await outcome(overrides({ volumeDevices: [] }))).toBe('injected');
  });
});
