/**
 * POST /validate over CA-verified HTTPS: the modes (enforce, warn, audit), the namespace label that overrides the
 * mode, suppression annotations, DELETE/CONNECT, dry runs, v1beta1, the HTTP errors shared with /inject, an
 * already-injected pod (the mutating webhook runs first), metrics, the log line, and the atomic swap of injector and
 * validator on configuration reload.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { configBaseline } from '../../src/reload/config.js';
import { loadConfig } from '../../src/config/load.js';
import { createMetrics, VALIDATION_FINDINGS, VALIDATION_REQUESTS } from '../../src/metrics.js';
import { createRuntime } from '../../src/server/runtime.js';
import { serve, type RunningServer } from '../../src/server/serve.js';
import { MODE_LABEL } from '../../src/validate/index.js';
import { httpsRequest, startTestServer, testCertificates, type TestServer } from '../helpers/https.js';
import { waitFor } from '../helpers/wait.js';
import { admitPod, appPod } from '../inject/review.js';
import { deployment, namespace, NS, pod, service } from './examples.js';
import { auditCodes, postValidate, runtime, validationReview, warningCodes, type Obj, useEnforcingServer } from './helpers.js';

/** One error (MW0101), one warning (MW0102) and one info finding (IST0135). */
function mixed(ns = NS): Obj {
  const d = deployment(
    'mixed',
    {
      containers: [
        {
          name: 'app',
          image: 'example.com/app:1',
          ports: [
            { name: 'http', containerPort: 15006 },
            { name: 'udp-stats', containerPort: 8125, protocol: 'UDP' },
          ],
        },
      ],
    },
    { annotations: { 'sidecar.istio.io/inject': 'true' } },
  );
  d.metadata.namespace = ns;
  return d;
}
const MIXED_CODES = ['IST0135', 'MW0101', 'MW0102'];

describe('modes', () => {
  const servers: Record<string, TestServer> = {};
  beforeAll(async () => {
    for (const mode of ['enforce', 'warn', 'audit']) servers[mode] = await startTestServer(runtime({ sets: [`validation.mode=${mode}`] }));
  });
  afterAll(async () => {
    for (const s of Object.values(servers)) await s.close();
  });

  it('enforce: errors deny, the message lists every finding, warnings go to warnings, everything to the audit annotation', async () => {
    const answer = await postValidate(servers.enforce!, validationReview(mixed()));
    expect(answer.allowed).toBe(false);
    expect(answer.code).toBe(403);
    expect(answer.message).toMatch(/^mesh-webhook denied: 1 error\(s\): /);
    for (const code of MIXED_CODES) expect(answer.message).toContain(`${code} Deployment shop/mixed `);
    expect(warningCodes(answer.warnings)).toEqual(['MW0102']);
    expect(answer.audit).toMatch(/^enforce: /);
    expect(auditCodes(answer.audit).sort()).toEqual(MIXED_CODES);
  });

  it('enforce: warnings and info only are allowed', async () => {
    const d = mixed();
    d.spec.template.spec.containers[0].ports[0].containerPort = 8080;
    const answer = await postValidate(servers.enforce!, validationReview(d));
    expect(answer.allowed).toBe(true);
    expect(answer.response.status).toBeUndefined();
    expect(warningCodes(answer.warnings)).toEqual(['MW0102']);
    expect(auditCodes(answer.audit).sort()).toEqual(['IST0135', 'MW0102']);
  });

  it('warn: never denies; errors and warnings become warnings (info does not)', async () => {
    const answer = await postValidate(servers.warn!, validationReview(mixed()));
    expect(answer.allowed).toBe(true);
    expect(answer.response.status).toBeUndefined();
    expect(warningCodes(answer.warnings).sort()).toEqual(['MW0101', 'MW0102']);
    expect(answer.warnings.find((w) => w.startsWith('MW0101'))).toBe(
      'MW0101 Deployment shop/mixed spec.template.spec.containers[0].ports[0]: port 15006 is reserved by the proxy (inbound capture); move the application to another port',
    );
    expect(answer.audit).toMatch(/^warn: /);
    expect(auditCodes(answer.audit).sort()).toEqual(MIXED_CODES);
  });

  it('audit: allowed, no warnings; the findings only in the audit annotation', async () => {
    const answer = await postValidate(servers.audit!, validationReview(mixed()));
    expect(answer.allowed).toBe(true);
    expect(answer.warnings).toEqual([]);
    expect(answer.response.warnings).toBeUndefined();
    expect(answer.audit).toMatch(/^audit: /);
    expect(auditCodes(answer.audit).sort()).toEqual(MIXED_CODES);
  });

  it('the default mode is warn', async () => {
    const server = await startTestServer(runtime());
    try {
      const answer = await postValidate(server, validationReview(mixed()));
      expect(answer.allowed).toBe(true);
      expect(answer.audit).toMatch(/^warn: /);
    } finally {
      await server.close();
    }
  });

  it('a clean object: allowed, no warnings field, audit "<mode>: ok"', async () => {
    for (const mode of ['enforce', 'warn', 'audit']) {
      const answer = await postValidate(servers[mode]!, validationReview(pod('clean')));
      expect(answer.allowed).toBe(true);
      expect(answer.response.warnings).toBeUndefined();
      expect(answer.audit).toBe(`${mode}: ok`);
    }
  });
});

describe(`the namespace label ${MODE_LABEL}`, () => {
  let server: TestServer;
  beforeAll(async () => {
    // Global enforce; namespace labels as config namespaceLabels (what the cluster cache provides in a cluster).
    const sets = [
      'validation.mode=enforce',
      `namespaceLabels={"relaxed":{"${MODE_LABEL}":"audit"},"warned":{"${MODE_LABEL}":"warn"},"typo":{"${MODE_LABEL}":"enforcing"}}`,
    ];
    server = await startTestServer(runtime({ sets }));
  });
  afterAll(() => server.close());

  it('overrides the global mode for the namespace\'s objects', async () => {
    expect((await postValidate(server, validationReview(mixed('relaxed'))))).toMatchObject({ allowed: true, warnings: [], audit: expect.stringMatching(/^audit: /) });
    const warned = await postValidate(server, validationReview(mixed('warned')));
    expect(warned.allowed).toBe(true);
    expect(warningCodes(warned.warnings).sort()).toEqual(['MW0101', 'MW0102']);
    expect((await postValidate(server, validationReview(mixed(NS)))).allowed).toBe(false);
  });

  it('an unknown value is ignored: the global mode applies', async () => {
    const answer = await postValidate(server, validationReview(mixed('typo')));
    expect(answer.allowed).toBe(false);
    expect(answer.audit).toMatch(/^enforce: /);
  });

  it('a Namespace object is judged by its own labels', async () => {
    const psa = { 'pod-security.kubernetes.io/enforce': 'restricted' };
    const denied = await postValidate(server, validationReview(namespace('apps', psa)));
    expect(denied.allowed).toBe(false);
    expect(denied.message).toContain('MW0301 Namespace apps ');
    const own = await postValidate(server, validationReview(namespace('apps', { ...psa, [MODE_LABEL]: 'warn' })));
    expect(own.allowed).toBe(true);
    expect(warningCodes(own.warnings)).toEqual(['MW0301']);
    expect(own.audit).toMatch(/^warn: /);
  });

  it('raises the mode too: global warn, namespace enforce', async () => {
    const strict = await startTestServer(runtime({ sets: [`namespaceLabels={"strict":{"${MODE_LABEL}":"enforce"}}`] }));
    try {
      expect((await postValidate(strict, validationReview(mixed('strict')))).allowed).toBe(false);
      expect((await postValidate(strict, validationReview(mixed(NS)))).allowed).toBe(true);
    } finally {
      await strict.close();
    }
  });
});

describe('suppression', () => {
  const server = useEnforcingServer();

  it('mesh-webhook.kyma-project.io/suppress: "IST0118" on a Service', async () => {
    const svc = service('legacy', [{ name: 'web', port: 80 }]);
    expect(auditCodes((await postValidate(server, validationReview(svc))).audit)).toEqual(['IST0118']);
    svc.metadata.annotations = { 'mesh-webhook.kyma-project.io/suppress': 'IST0118' };
    expect(await postValidate(server, validationReview(svc))).toMatchObject({ allowed: true, warnings: [], audit: 'enforce: ok' });
  });

  it('galley.istio.io/analyze-suppress on the pod template, several codes; other codes stay', async () => {
    const d = mixed();
    d.spec.template.metadata.annotations['galley.istio.io/analyze-suppress'] = 'MW0101, MW0102';
    const answer = await postValidate(server, validationReview(d));
    expect(answer.allowed).toBe(true);
    expect(answer.warnings).toEqual([]);
    expect(auditCodes(answer.audit)).toEqual(['IST0135']);
  });

  it('galley.istio.io/analyze-suppress on a Pod, and "*" suppresses everything', async () => {
    const p = pod('legacy', { containers: [{ name: 'app', image: 'example.com/app:1', ports: [{ containerPort: 15000 }] }] });
    expect((await postValidate(server, validationReview(p))).allowed).toBe(false);
    p.metadata.annotations = { 'galley.istio.io/analyze-suppress': 'MW0101' };
    expect(await postValidate(server, validationReview(p))).toMatchObject({ allowed: true, audit: 'enforce: ok' });
    p.metadata.annotations = { 'mesh-webhook.kyma-project.io/suppress': '*' };
    expect(await postValidate(server, validationReview(p))).toMatchObject({ allowed: true, audit: 'enforce: ok' });
  });
});

describe('operations and request forms', () => {
  const server = useEnforcingServer();

  it('DELETE and CONNECT are allowed without checking', async () => {
    for (const operation of ['DELETE', 'CONNECT'] as const) {
      const answer = await postValidate(server, validationReview(undefined, { operation, oldObject: mixed() }));
      expect(answer.allowed).toBe(true);
      expect(answer.warnings).toEqual([]);
      expect(answer.audit).toBe(`skipped: operation ${operation} is not validated`);
    }
  });

  it('UPDATE is validated like CREATE for what it introduces (the old object had no findings)', async () => {
    const old = deployment('mixed', { containers: [{ name: 'app', image: 'example.com/app:1' }] }, { annotations: { 'sidecar.istio.io/inject': 'true' } });
    const answer = await postValidate(server, validationReview(mixed(), { operation: 'UPDATE', oldObject: old }));
    expect(answer.allowed).toBe(false);
    expect(auditCodes(answer.audit).sort()).toEqual(MIXED_CODES);
  });

  it('a dry run is answered as the real request', async () => {
    const { uid: _a, ...real } = (await postValidate(server, validationReview(mixed()))).response;
    const { uid: _b, ...dry } = (await postValidate(server, validationReview(mixed(), { dryRun: true }))).response;
    expect(dry).toEqual(real);
    expect(dry.allowed).toBe(false);
  });

  it('admission.k8s.io/v1beta1 is answered in v1beta1 with the uid echoed', async () => {
    const review = validationReview(mixed(), { apiVersion: 'admission.k8s.io/v1beta1' });
    const answer = await postValidate(server, review);
    expect(answer.apiVersion).toBe('admission.k8s.io/v1beta1');
    expect(answer.uid).toBe(review.request.uid);
    expect(answer.allowed).toBe(false);
  });

  it('/validate/ (trailing slash) is the same endpoint', async () => {
    expect((await postValidate(server, validationReview(mixed()), '/validate/')).allowed).toBe(false);
  });

  it('an object without a namespace takes request.namespace', async () => {
    const d = mixed();
    delete d.metadata.namespace;
    const answer = await postValidate(server, validationReview(d, { namespace: 'orders' }));
    expect(answer.message).toContain('MW0101 Deployment orders/mixed ');
  });

  it('kinds without rules are allowed: "<mode>: ok"', async () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: NS }, data: { a: 'b' } };
    expect(await postValidate(server, validationReview(cm))).toMatchObject({ allowed: true, audit: 'enforce: ok' });
  });

  it('CREATE without an object is allowed, unchecked', async () => {
    const review = validationReview(mixed());
    (review.request as Obj).object = null;
    expect(await postValidate(server, review)).toMatchObject({ allowed: true, audit: 'skipped: request.object is missing' });
  });

  it('the HTTP answers of /inject: 415, 400 for an empty body, a denial naming the field for a body that is not an AdmissionReview, 413, 405', async () => {
    const wrongType = await server.request('/validate', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
    expect(wrongType.status).toBe(415);
    expect(wrongType.json).toEqual({ error: 'Content-Type must be application/json, got "text/plain"' });

    const empty = await server.request('/validate', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '' });
    expect(empty.status).toBe(400);
    // As Istio's webhooks answer a body they cannot decode: HTTP 200, allowed false, the problem in status.message.
    const notJson = await server.postJson('/validate', '{not json');
    expect(notJson.status).toBe(200);
    expect(notJson.json).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: '', allowed: false, status: { message: "mesh-webhook: request body is not valid JSON: Expected property name or '}' in JSON at position 1 (line 1 column 2)", code: 400 } },
    });
    const noUid = await server.postJson('/validate', { apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: {} });
    expect(noUid.status).toBe(200);
    expect(noUid.json).toEqual({
      apiVersion: 'admission.k8s.io/v1beta1',
      kind: 'AdmissionReview',
      response: { uid: '', allowed: false, status: { message: 'mesh-webhook: request.uid is missing', code: 400 } },
    });
    const wrongVersion = await server.postJson('/validate', { apiVersion: 'admission.k8s.io/v2', kind: 'AdmissionReview', request: { uid: 'x' } });
    expect(wrongVersion.status).toBe(200);
    expect(wrongVersion.json).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: {
        uid: 'x',
        allowed: false,
        status: { message: 'mesh-webhook: apiVersion "admission.k8s.io/v2" is not supported; expected one of admission.k8s.io/v1, admission.k8s.io/v1beta1', code: 400 },
      },
    });

    // /validate takes 12 MiB (an UPDATE carries the object and the old object).
    const big = await server.postJson('/validate', JSON.stringify({ pad: 'x'.repeat(12 * 1024 * 1024) }));
    expect(big.status).toBe(413);
    expect((big.json as { error: string }).error).toMatch(/larger than the limit of 12582912 bytes of \/validate$/);

    const get = await server.request('/validate');
    expect(get.status).toBe(405);
    expect(get.headers['allow']).toBe('POST');
  });

  it('a request whose deadline passed while queued is answered at once: enforce denies (504, retry), warn allows with a warning', async () => {
    // A clock that advances 6 s per reading: arrival = t, handler start = t + 6 s, past `?timeout=5s`. No real waiting.
    const servers: TestServer[] = [];
    try {
      for (const mode of ['enforce', 'warn'] as const) {
        let t = 0;
        const slow = await startTestServer(runtime({ sets: [`validation.mode=${mode}`] }), { clock: () => (t += 6_000) });
        servers.push(slow);
        const answer = await postValidate(slow, validationReview(mixed()), '/validate?timeout=5s');
        expect(answer.audit).toBe(`${mode}: not validated: request deadline (5s) passed before processing`);
        if (mode === 'enforce') {
          expect(answer).toMatchObject({ allowed: false, code: 504, message: 'mesh-webhook: request deadline (5s) passed before processing; retry' });
        } else {
          expect(answer).toMatchObject({ allowed: true, warnings: ['mesh-webhook: request deadline (5s) passed before processing; retry (not validated)'] });
        }
        // With the default budget (10 s) the same clock leaves enough time: validated as usual.
        expect(auditCodes((await postValidate(slow, validationReview(mixed()))).audit).sort()).toEqual(MIXED_CODES);
      }
    } finally {
      for (const s of servers) await s.close();
    }
  });
});

describe('a validator that throws (a bug)', () => {
  it('enforce: refused with code 500 and the message, never a stack; warn: allowed with a warning; logged at error', async () => {
    for (const mode of ['enforce', 'warn'] as const) {
      const real = runtime({ sets: [`validation.mode=${mode}`] });
      const broken = {
        ...real,
        validator: { modeFor: real.validator.modeFor, validate: () => { throw new TypeError('boom'); } },
      };
      const lines: Record<string, unknown>[] = [];
      const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
      const server = await startTestServer(() => broken, { logger });
      try {
        const answer = await postValidate(server, validationReview(pod('p')));
        expect(answer.audit).toBe(`${mode}: error: boom`);
        if (mode === 'enforce') {
          expect(answer).toMatchObject({ allowed: false, code: 500, message: 'mesh-webhook: internal error while validating: boom' });
        } else {
          expect(answer).toMatchObject({ allowed: true, warnings: ['mesh-webhook: internal error while validating: boom'] });
        }
        expect(JSON.stringify(answer.response)).not.toMatch(/\bat /);
        const line = lines.find((l) => l['msg'] === 'validation');
        expect(line).toMatchObject({ level: 50, allowed: mode !== 'enforce', reason: 'internal error: boom' });
      } finally {
        await server.close();
      }
    }
  });
});

describe('an already-injected pod (the mutating webhook runs first)', () => {
  for (const native of [true, false]) {
    it(`has no findings from what the injector added (${native ? 'native' : 'classic'} sidecar)`, async () => {
      const server = await startTestServer(runtime({ sets: ['validation.mode=enforce'], nativeSidecars: native }));
      try {
        const original = appPod({
          name: 'shop-frontend',
          annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090', 'proxy.istio.io/config': '{"holdApplicationUntilProxyStarts": true}' },
          spec: {
            containers: [
              {
                name: 'app',
                image: 'example.com/app:1',
                ports: [{ name: 'http', containerPort: 8080 }, { name: 'metrics', containerPort: 9090 }],
                readinessProbe: { httpGet: { path: '/ready', port: 'http' } },
                livenessProbe: { tcpSocket: { port: 8080 } },
                startupProbe: { grpc: { port: 8080 } },
              },
            ],
          },
        });
        const before = await postValidate(server, validationReview({ ...original, metadata: { ...original.metadata, namespace: NS } }));
        expect(before.audit).toBe('enforce: ok');

        const injected = await admitPod(server, original, NS);
        expect(injected.audit).toMatch(/^injected: /);
        const containers = [...(injected.pod.spec?.initContainers ?? []), ...(injected.pod.spec?.containers ?? [])].map((c) => c.name);
        expect(containers).toEqual(expect.arrayContaining(['istio-init', 'istio-proxy', 'app']));
        const after = await postValidate(server, validationReview({ ...injected.pod, metadata: { ...injected.pod.metadata, namespace: NS } }));
        expect(after).toMatchObject({ allowed: true, warnings: [], audit: 'enforce: ok' });
      } finally {
        await server.close();
      }
    });
  }
});

describe('metrics and the log line', () => {
  it('counts requests by mode and answer and findings by code, severity and mode; logs one line per review', async () => {
    const metrics = createMetrics();
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    const server = await startTestServer(runtime({ sets: ['validation.mode=enforce'] }), { metrics, logger });
    try {
      const denied = validationReview(mixed());
      await postValidate(server, denied);
      await postValidate(server, validationReview(pod('clean')));
      await postValidate(server, validationReview(undefined, { operation: 'DELETE', oldObject: mixed() }));

      const text = (await server.request('/metrics')).text;
      expect(text).toContain(`${VALIDATION_REQUESTS}{mode="enforce",allowed="false"} 1`);
      expect(text).toContain(`${VALIDATION_REQUESTS}{mode="enforce",allowed="true"} 1`);
      expect(text).toContain(`${VALIDATION_FINDINGS}{code="MW0101",severity="error",mode="enforce"} 1`);
      expect(text).toContain(`${VALIDATION_FINDINGS}{code="MW0102",severity="warning",mode="enforce"} 1`);
      expect(text).toContain(`${VALIDATION_FINDINGS}{code="IST0135",severity="info",mode="enforce"} 1`);

      const validations = lines.filter((l) => l['msg'] === 'validation');
      expect(validations).toHaveLength(3);
      expect(validations[0]).toMatchObject({
        uid: denied.request.uid,
        operation: 'CREATE',
        kind: 'Deployment',
        namespace: NS,
        name: 'mixed',
        mode: 'enforce',
        allowed: false,
        durationMs: expect.any(Number),
      });
      expect((validations[0]!['findings'] as string[]).slice().sort()).toEqual(MIXED_CODES);
      expect(validations[2]).toMatchObject({ operation: 'DELETE', allowed: true, findings: [], reason: 'operation DELETE is not validated' });
      expect(JSON.stringify(validations), 'never the object itself').not.toContain('example.com/app');
    } finally {
      await server.close();
    }
  });
});

describe('configuration reload', () => {
  let dir: string;
  let running: RunningServer | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mesh-webhook-validate-reload-'));
  });
  afterAll(async () => {
    await running?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('swaps the injector and the validator together', async () => {
    const configFile = path.join(dir, 'config.yaml');
    await writeFile(configFile, stringify({ policy: 'enabled', validation: { mode: 'warn' } }));
    const load = { configFile };
    const baseline = await configBaseline(load);
    const certs = await testCertificates();
    const certFile = path.join(dir, 'tls.crt');
    const keyFile = path.join(dir, 'tls.key');
    await writeFile(certFile, certs.cert);
    await writeFile(keyFile, certs.key);
    running = await serve({
      injector: createRuntime(loadConfig(load)),
      reloadConfig: { load, baseline },
      port: 0,
      host: '127.0.0.1',
      certFile,
      keyFile,
      logger: pino({ level: 'silent' }),
      handleSignals: false,
      reloadDebounceMs: 20,
    });
    const server = running;
    const post = async (p: string, body: unknown) => {
      const res = await httpsRequest(new URL(p, server.url), {
        ca: certs.ca,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return (res.json as { response: { allowed: boolean; patch?: string } }).response;
    };
    const podReview = validationReview(pod('app'));
    const before = running.runtime();
    expect((await post('/validate', validationReview(mixed()))).allowed).toBe(true);
    expect((await post('/inject', podReview)).patch).toBeDefined();

    await writeFile(configFile, stringify({ policy: 'disabled', validation: { mode: 'enforce' } }));
    await waitFor('the reload', () => running!.runtime() !== before);
    const after = running.runtime()!;
    expect(after.injector.config.policy).toBe('disabled');
    expect(after.validator.modeFor(NS)).toBe('enforce');
    expect((await post('/validate', validationReview(mixed()))).allowed).toBe(false);
    expect((await post('/inject', podReview)).patch).toBeUndefined();

    // setInjector with a plain Injector: a validator is compiled from its configuration.
    running.setInjector(createRuntime(loadConfig({ sets: ['validation.mode=audit'] })));
    expect(running.runtime()!.validator.modeFor(NS)).toBe('audit');
    expect((await post('/validate', validationReview(mixed()))).allowed).toBe(true);
  });
});
