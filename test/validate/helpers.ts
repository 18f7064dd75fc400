/**
 * Helpers for the validation tests: AdmissionReviews for /validate, the answer in a handy shape, and the built CLI
 * (dist/cli/main.js run by the pinned Node 24) with real files on disk.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { stringify } from 'yaml';
import type { AdmissionReviewResponse } from '../../src/admission/review.js';
import { loadConfig, type LoadConfigOptions } from '../../src/config/load.js';
import type { InjectorConfig } from '../../src/config/types.js';
import { createRuntime, type WebhookRuntime } from '../../src/server/runtime.js';
import { ensureBuilt } from '../helpers/build.js';
import { runCli, runCliAsync, type CliRun } from '../helpers/cli.js';
import { startTestServer, type TestServer, type WebhookClient } from '../helpers/https.js';

export type Obj = Record<string, any>;

// ---- AdmissionReviews ---------------------------------------------------------------------------------------------

let uid = 0;

const RESOURCES: Record<string, { group: string; version: string; resource: string }> = {
  Pod: { group: '', version: 'v1', resource: 'pods' },
  Service: { group: '', version: 'v1', resource: 'services' },
  Namespace: { group: '', version: 'v1', resource: 'namespaces' },
  Deployment: { group: 'apps', version: 'v1', resource: 'deployments' },
  StatefulSet: { group: 'apps', version: 'v1', resource: 'statefulsets' },
  DaemonSet: { group: 'apps', version: 'v1', resource: 'daemonsets' },
  ReplicaSet: { group: 'apps', version: 'v1', resource: 'replicasets' },
  ReplicationController: { group: '', version: 'v1', resource: 'replicationcontrollers' },
  Job: { group: 'batch', version: 'v1', resource: 'jobs' },
  CronJob: { group: 'batch', version: 'v1', resource: 'cronjobs' },
  PeerAuthentication: { group: 'security.istio.io', version: 'v1', resource: 'peerauthentications' },
};

export interface ReviewOptions {
  operation?: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  dryRun?: boolean;
  apiVersion?: 'admission.k8s.io/v1' | 'admission.k8s.io/v1beta1';
  /** request.namespace; default the object's metadata.namespace (none for cluster-scoped objects). */
  namespace?: string;
  oldObject?: Obj;
}

/** An AdmissionReview as the API server sends it to a validating webhook. */
export function validationReview(object: Obj | undefined, opts: ReviewOptions = {}) {
  uid += 1;
  const kind = (object?.kind ?? opts.oldObject?.kind ?? 'Pod') as string;
  const gvr = RESOURCES[kind] ?? { group: '', version: 'v1', resource: `${kind.toLowerCase()}s` };
  const namespace = opts.namespace ?? object?.metadata?.namespace ?? opts.oldObject?.metadata?.namespace;
  const operation = opts.operation ?? 'CREATE';
  return {
    apiVersion: opts.apiVersion ?? 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `validate-${uid}`,
      kind: { group: gvr.group, version: gvr.version, kind },
      resource: gvr,
      requestKind: { group: gvr.group, version: gvr.version, kind },
      requestResource: gvr,
      name: object?.metadata?.name ?? opts.oldObject?.metadata?.name,
      ...(namespace ? { namespace } : {}),
      operation,
      userInfo: { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] },
      object: operation === 'DELETE' ? null : (object ?? null),
      oldObject: opts.oldObject ?? null,
      dryRun: opts.dryRun ?? false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: operation === 'DELETE' ? 'DeleteOptions' : 'CreateOptions' },
    },
  };
}

export interface ValidationAnswer {
  uid: string;
  apiVersion: string;
  allowed: boolean;
  code?: number;
  message?: string;
  warnings: string[];
  /** The `mesh-webhook/validation` audit annotation. */
  audit?: string;
  response: AdmissionReviewResponse['response'];
}

/** POST a review to /validate and return the answer (HTTP 200 required, uid checked). */
export async function postValidate(server: WebhookClient, review: ReturnType<typeof validationReview>, path = '/validate'): Promise<ValidationAnswer> {
  const res = await server.postJson(path, review);
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.text}`);
  const body = res.json as AdmissionReviewResponse;
  if (body.kind !== 'AdmissionReview') throw new Error(`kind ${String(body.kind)}`);
  if (body.response.uid !== review.request.uid) throw new Error('response uid does not match the request uid');
  return {
    uid: body.response.uid,
    apiVersion: body.apiVersion,
    allowed: body.response.allowed,
    ...(body.response.status?.code !== undefined ? { code: body.response.status.code } : {}),
    ...(body.response.status?.message !== undefined ? { message: body.response.status.message } : {}),
    warnings: body.response.warnings ?? [],
    ...(body.response.auditAnnotations?.['mesh-webhook/validation'] !== undefined ? { audit: body.response.auditAnnotations['mesh-webhook/validation'] } : {}),
    response: body.response,
  };
}

/** Codes named in a warning (`CODE Kind ns/name path: message`). */
export function warningCodes(warnings: readonly string[]): string[] {
  return warnings.map((w) => w.split(' ', 1)[0] ?? '');
}

/** Codes in the audit annotation (`<mode>: CODE(severity) path; ...`). */
export function auditCodes(audit: string | undefined): string[] {
  return [...(audit ?? '').matchAll(/\b([A-Z]{2,3}\d{4})\((error|warning|info)\)/g)].map((m) => m[1]!);
}

export function config(opts: LoadConfigOptions = {}): InjectorConfig {
  return loadConfig(opts);
}

export function runtime(opts: LoadConfigOptions = {}): WebhookRuntime {
  return createRuntime(loadConfig(opts));
}

// ---- the CLI ------------------------------------------------------------------------------------------------------

export { ensureBuilt } from '../helpers/build.js';
export type { CliRun } from '../helpers/cli.js';

export interface CliWorkspace {
  dir: string;
  /** Write a file (YAML text, or objects written as a multi-document stream) and return its path. */
  file(content: string | Obj[], name?: string): string;
  /** Run the CLI synchronously in the workspace. */
  run(args: string[], input?: string): CliRun;
  /** Run the CLI asynchronously (keeps the test process responsive for big inputs). */
  runAsync(args: string[]): Promise<CliRun>;
  remove(): void;
}

export function yamlStream(objects: readonly Obj[]): string {
  return objects.map((o) => `---\n${stringify(o)}`).join('');
}

/**
 * A CLI workspace for the enclosing describe block (or file): the CLI built and a temporary directory made before its
 * tests, removed after them. Call it at collection time; the returned function gives the workspace inside tests.
 */
export function useCliWorkspace(): () => CliWorkspace {
  let ws: CliWorkspace | undefined;
  beforeAll(() => {
    ensureBuilt();
    ws = cliWorkspace();
  }, 120_000);
  afterAll(() => ws?.remove());
  return () => {
    if (!ws) throw new Error('the CLI workspace is made in beforeAll: use it inside a test');
    return ws;
  };
}

export function cliWorkspace(prefix = 'mesh-webhook-validate-'): CliWorkspace {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let count = 0;
  return {
    dir,
    file(content, name) {
      const path = join(dir, name ?? `m${++count}.yaml`);
      writeFileSync(path, typeof content === 'string' ? content : yamlStream(content));
      return path;
    },
    run(args, input) {
      return runCli(args, { cwd: dir, input });
    },
    runAsync(args) {
      return runCliAsync(args, { cwd: dir });
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface JsonFinding {
  code: string;
  severity: string;
  object: string;
  path: string;
  message: string;
}

/** `validate -o json` output, with its shape checked. */
export function parseJsonFindings(stdout: string): JsonFinding[] {
  const value = JSON.parse(stdout) as unknown;
  if (!Array.isArray(value)) throw new Error(`expected a JSON array, got ${stdout.slice(0, 200)}`);
  for (const f of value as JsonFinding[]) {
    const keys = Object.keys(f).sort();
    if (keys.join(',') !== 'code,message,object,path,severity') throw new Error(`unexpected finding keys ${keys.join(',')}`);
  }
  return value as JsonFinding[];
}

/**
 * The validating webhook over HTTPS in enforce mode for the tests of the calling `describe` (started in its beforeAll,
 * closed in its afterAll), as a client whose calls reach the server once it runs.
 */
export function useEnforcingServer(): WebhookClient {
  let server: TestServer | undefined;
  beforeAll(async () => {
    server = await startTestServer(runtime({ sets: ['validation.mode=enforce'] }));
  });
  afterAll(() => server?.close());
  const running = (): TestServer => {
    if (!server) throw new Error('the server starts in beforeAll: use it inside a test');
    return server;
  };
  return {
    get app() {
      return running().app;
    },
    close: () => running().close(),
    request: (path, options) => running().request(path, options),
    postJson: (path, body, headers) => running().postJson(path, body, headers),
  };
}
