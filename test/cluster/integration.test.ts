/**
 * startClusterIntegration (the one call serve makes) and the serve flags that configure it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseCommandLine, UsageError } from '../../src/cli/args.js';
import {
  ClusterConfigError,
  resolveCertificateMode,
  serveClusterOptions,
  startClusterIntegration,
  type ClusterIntegration,
} from '../../src/server/clusterIntegration.js';
import { NAMESPACE, recordingLogger, startHarness, type Harness } from './helpers.js';

describe('startClusterIntegration', () => {
  let h: Harness | undefined;
  let integration: ClusterIntegration | undefined;
  afterEach(async () => {
    await integration?.stop();
    await h?.close();
    integration = undefined;
    h = undefined;
  });

  it('without a cluster: no view, no certificates, says so', async () => {
    const log = recordingLogger();
    integration = await startClusterIntegration({ selfManagedCerts: true, logger: log, connect: { serviceAccountRoot: '/nonexistent-root', env: {} } });
    expect(integration.view).toBeUndefined();
    expect(integration.certificates).toBeUndefined();
    expect(integration.namespace).toBe('mesh-webhook');
    expect(log.lines.map((l) => l.msg)).toContainEqual(expect.stringMatching(/^no cluster: running without cluster awareness/));
  });

  it('a kubeconfig that does not exist is a configuration error', async () => {
    await expect(startClusterIntegration({ kubeconfig: '/nonexistent/kc', selfManagedCerts: false, logger: recordingLogger() })).rejects.toBeInstanceOf(
      ClusterConfigError,
    );
  });

  it('with a cluster: a synced view and, self-managed, the first certificate before it returns', async () => {
    h = await startHarness();
    h.api.apply('namespaces', { metadata: { name: 'shop', labels: { 'istio-injection': 'enabled' } } });
    h.api.apply('nodes', { metadata: { name: 'n1' }, status: { nodeInfo: { kubeletVersion: 'v1.34.0' } } });
    const seen: string[] = [];
    integration = await startClusterIntegration({
      kubeconfig: h.kubeconfig,
      namespace: NAMESPACE,
      selfManagedCerts: true,
      logger: recordingLogger(),
      onCertificate: (tls) => seen.push(tls.cert),
      connect: { serviceAccountRoot: '/nonexistent-root' },
    });
    expect(integration.view?.namespaceLabels('shop')).toMatchObject({ 'istio-injection': 'enabled' });
    expect(integration.view?.nativeSidecarsSupported()).toBe(true);
    const tls = integration.certificates?.current();
    expect(tls?.cert).toBeDefined();
    expect(seen).toEqual([tls?.cert]);
    expect(h.api.get('secrets', 'mesh-webhook-tls', NAMESPACE)).toBeDefined();
  });

  it('does not wait longer than initialWaitMs when the API server is down, and keeps trying', async () => {
    h = await startHarness();
    await h.api.down();
    const log = recordingLogger();
    integration = await startClusterIntegration({
      kubeconfig: h.kubeconfig,
      namespace: NAMESPACE,
      selfManagedCerts: true,
      logger: log,
      initialWaitMs: 200,
      retry: { initialMs: 20, maxMs: 100 },
      connect: { serviceAccountRoot: '/nonexistent-root' },
    });
    expect(integration.view?.namespaceLabels(NAMESPACE)).toBeUndefined();
    expect(integration.certificates?.current()).toBeUndefined();
    expect(log.lines.some((l) => l.level === 'warn' && /no self-managed certificate yet; serving a temporary development certificate/.test(l.msg))).toBe(true);
    await h.api.up();
    expect(await integration.certificates?.waitForCertificate(20_000)).toBeDefined();
    expect(await integration.cache?.waitForSync(20_000)).toBe(true);
    expect(integration.view?.namespaceLabels(NAMESPACE)).toBeDefined();
  });
});

describe('certificate mode', () => {
  it('defaults: files with --cert/--key, self-managed with a cluster, dev otherwise', () => {
    expect(resolveCertificateMode(undefined, { hasCertFiles: true, clusterAvailable: true })).toBe('files');
    expect(resolveCertificateMode(undefined, { hasCertFiles: false, clusterAvailable: true })).toBe('self-managed');
    expect(resolveCertificateMode(undefined, { hasCertFiles: false, clusterAvailable: false })).toBe('dev');
    expect(resolveCertificateMode('dev', { hasCertFiles: false, clusterAvailable: true })).toBe('dev');
  });
});

describe('serveClusterOptions', () => {
  const outside = { env: {}, serviceAccountRoot: '/nonexistent-root' };

  it('outside a cluster: dev, or files with --cert', () => {
    expect(serveClusterOptions(undefined, { hasCertFiles: false, ...outside }).mode).toBe('dev');
    expect(serveClusterOptions(undefined, { hasCertFiles: true, ...outside }).mode).toBe('files');
  });

  it('with --kubeconfig: self-managed with the defaults', () => {
    const r = serveClusterOptions({ kubeconfig: 'kc' }, { hasCertFiles: false, ...outside });
    expect(r.mode).toBe('self-managed');
    expect(r.serviceNames).toEqual(['mesh-webhook.mesh-webhook.svc', 'mesh-webhook.mesh-webhook.svc.cluster.local', 'mesh-webhook.mesh-webhook', 'mesh-webhook']);
    expect(r.options).toMatchObject({
      kubeconfig: 'kc',
      namespace: 'mesh-webhook',
      service: 'mesh-webhook',
      secretName: 'mesh-webhook-tls',
      webhookNames: { mutating: 'mesh-webhook', validating: 'mesh-webhook' },
      selfManagedCerts: true,
    });
    const named = serveClusterOptions({ kubeconfig: 'kc', namespace: 'ns', service: 'svc', secretName: 's', webhookConfig: 'w' }, { hasCertFiles: false, ...outside });
    expect(named.serviceNames[0]).toBe('svc.ns.svc');
    expect(named.options).toMatchObject({ namespace: 'ns', secretName: 's', webhookNames: { mutating: 'w', validating: 'w' } });
    expect(serveClusterOptions({ kubeconfig: 'kc' }, { hasCertFiles: true, ...outside }).options.selfManagedCerts).toBe(false);
  });

  it('refuses self-managed without a cluster', () => {
    expect(() => serveClusterOptions({ certificates: 'self-managed' }, { hasCertFiles: false, ...outside })).toThrow(
      /--certificates self-managed needs a cluster: run in a pod with a service account, or pass --kubeconfig FILE/,
    );
  });
});

describe('serve cluster flags', () => {
  const serve = (...argv: string[]) => {
    const inv = parseCommandLine(['serve', ...argv]);
    if (inv.command !== 'serve') throw new Error(`parsed as ${inv.command}`);
    return inv.args;
  };
  const usage = (...argv: string[]) => {
    try {
      parseCommandLine(['serve', ...argv]);
    } catch (err) {
      expect(err).toBeInstanceOf(UsageError);
      return (err as Error).message;
    }
    throw new Error('expected a usage error');
  };

  it('are absent by default', () => {
    expect(serve().cluster).toBeUndefined();
  });

  it('are parsed', () => {
    expect(
      serve('--kubeconfig', 'kc.yaml', '--certificates', 'self-managed', '--namespace', 'ns', '--service', 'svc', '--secret', 'sec', '--webhook-config', 'wh')
        .cluster,
    ).toEqual({ kubeconfig: 'kc.yaml', certificates: 'self-managed', namespace: 'ns', service: 'svc', secretName: 'sec', webhookConfig: 'wh' });
    expect(serve('--certificates', 'files', '--cert', 'c', '--key', 'k').cluster).toEqual({ certificates: 'files' });
  });

  it('say what is wrong', () => {
    expect(usage('--certificates', 'vault')).toBe('--certificates must be one of self-managed, files, dev; got "vault"');
    expect(usage('--certificates', 'files')).toBe('--certificates files needs --cert FILE and --key FILE');
    expect(usage('--certificates', 'self-managed', '--cert', 'c', '--key', 'k')).toMatch(/use them with --certificates files, not self-managed/);
    expect(usage('--namespace', 'Bad_Name')).toMatch(/--namespace must be a Kubernetes object name/);
  });
});
