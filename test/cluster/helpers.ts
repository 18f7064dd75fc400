/**
 * Shared set-up for tests against the Kubernetes API test double: a double with the webhook's namespace, a kubeconfig
 * for it in a temporary directory, a connected client, and a logger that records what it was told.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connectCluster, type ClusterClient } from '../../src/cluster/client.js';
import type { ClusterLogger } from '../../src/cluster/cache.js';
import { parse } from 'yaml';
import { FakeApiServer, type FakeApiServerOptions, type KubeObject } from '../k8s/fakeApiServer.js';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  obj: unknown;
}

export interface RecordingLogger extends ClusterLogger {
  lines: LogLine[];
}

export function recordingLogger(): RecordingLogger {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine['level']) =>
    (objOrMsg: unknown, msg?: string): void => {
      if (typeof objOrMsg === 'string') lines.push({ level, msg: objOrMsg, obj: undefined });
      else lines.push({ level, msg: msg ?? '', obj: objOrMsg });
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as unknown as RecordingLogger;
}

export interface Harness {
  api: FakeApiServer;
  client: ClusterClient;
  kubeconfig: string;
  dir: string;
  close(): Promise<void>;
}

export const NAMESPACE = 'mesh-webhook';

/** A double (with namespace mesh-webhook), its kubeconfig and a client connected through it. */
export async function startHarness(options: FakeApiServerOptions = {}): Promise<Harness> {
  const api = await FakeApiServer.start(options);
  api.apply('namespaces', { metadata: { name: NAMESPACE } });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mesh-webhook-k8s-'));
  const kubeconfig = await api.writeKubeconfig(dir, NAMESPACE);
  const client = await connectCluster({ kubeconfig, requestTimeoutMs: 5000 });
  if (!client) throw new Error('connectCluster returned no client for a kubeconfig');
  return {
    api,
    client,
    kubeconfig,
    dir,
    async close() {
      await api.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}


/**
 * A ConfigMap of test/fixtures/istio-config (as `kubectl get -o yaml` prints it: istio-sidecar-injector.yaml,
 * istio.yaml) as another client would apply it to the double: name, namespace, labels and data.
 */
export function configMapFixture(file: string): KubeObject {
  const o = parse(readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'istio-config', file), 'utf8')) as KubeObject & { data: Record<string, string> };
  return { metadata: { name: o.metadata.name, namespace: o.metadata.namespace!, labels: o.metadata.labels ?? {} }, data: { ...o.data } };
}
