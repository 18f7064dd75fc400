/**
 * Hostile input through the real HTTPS endpoints of a spawned `mesh-webhook serve` (dist/cli/main.js on the pinned
 * Node 24, so a crash is visible as an exit), with a CA-verified client:
 *
 * - a corpus of hand-made hostile requests: wrong types, missing fields, null request, huge strings, JSON nested
 *   10,000 levels deep, 10,000 containers, duplicate container names, invalid UTF-8, `__proto__`/`constructor` keys,
 *   wrong content types, bodies over the limit (with and without Content-Length), truncated bodies, 100,000
 *   annotations;
 * - property-based fuzzing (fast-check, test/fuzz/generators.ts): realistic reviews broken by random mutations, and
 *   raw bodies that are not reviews at all, to /inject and /validate (seed FUZZ_SEED, count FUZZ_RUNS);
 * - a slow sender dribbling its headers, cut off by the server (headers timeout, 10 s) while the fuzzing runs.
 *
 * Every answer must be a well-formed AdmissionReview for the request's uid (allowed, or allowed:false with a message
 * and never an internal error; a patch that applies to the object) or a 4xx with a JSON `{error}`; never a 5xx, never
 * a dropped connection. Afterwards the process is still up, logged no error and answers normally.
 *
 * The overload guard (src/server/overload.ts) is on, as in any `serve`: the stalls some inputs cause (JSON nested a
 * million levels, 10,000 containers) make it shed the requests after them for a second or so. A shed answer is
 * checked like any other, then the request is sent again after its retry delay, as the API server's clients do, so
 * every input reaches the full path in the end.
 *
 * Memory, sampled after a full GC (a test-only preload, test/fuzz/gc-on-signal.mjs, collects on SIGWINCH): the
 * JavaScript heap is back at its baseline (ordinary traffic only), and the RSS is under 2 × its baseline + 50 MiB and
 * within 150 MiB of it, the baseline being the RSS once the service has also served one of each of the largest
 * requests it reads whole (10,000 containers and 100,000 annotations, refused by the count caps after parsing; a 5 MiB
 * annotation; 6 MiB bodies): Node does not give
 * the memory of such a peak back to the system (allocator retention, not a leak: the heap after GC shows it), so the
 * test checks that hostile input does not grow memory beyond that steady state.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import tls from 'node:tls';
import fc from 'fast-check';
import jsonpatch from 'fast-json-patch';
import { expect, test } from 'vitest';
import { sampleAdmissionReview, samplePod } from '../../src/admission/sample.js';
import { cliMain, nodeBin, processFixture } from '../helpers/build.js';
import { waitFor } from '../helpers/wait.js';
import { fuzzCase, richPod, type FuzzCase } from './generators.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? 20_251_122);
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 2_500);
const CONCURRENCY = 8;

const fx = processFixture('mesh-webhook-fuzz-', { certificates: true });

interface Reply {
  status: number;
  contentType: string;
  text: string;
  retryAfter?: string;
}

interface Send {
  path: string;
  method?: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Write the body in chunks without Content-Length (chunked encoding). */
  chunked?: boolean;
}

let agent: https.Agent;
let port: number;

function send(req: Send): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body, 'utf8');
    const headers: Record<string, string | number> = { 'content-type': 'application/json', ...req.headers };
    if (headers['content-type'] === '') delete headers['content-type'];
    if (body !== undefined && !req.chunked) headers['content-length'] = body.length;
    const r = https.request(
      { host: '127.0.0.1', port, path: req.path, method: req.method ?? 'POST', agent, ca: fx.certs.ca, servername: 'localhost', headers, timeout: 60_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            text: Buffer.concat(chunks).toString('utf8'),
            ...(res.headers['retry-after'] !== undefined ? { retryAfter: res.headers['retry-after'] } : {}),
          }),
        );
        res.on('error', reject);
      },
    );
    r.on('timeout', () => r.destroy(new Error('client timeout')));
    // A server that answers early (413) and closes may make the rest of the write fail before the answer is read:
    // give the answer a moment to arrive before calling it an error.
    r.on('error', (err) => setTimeout(() => reject(err), 1_000).unref());
    if (body !== undefined && req.chunked) {
      for (let i = 0; i < body.length; i += 1 << 20) r.write(body.subarray(i, i + (1 << 20)));
      r.end();
    } else r.end(body);
  });
}

/** `denied`: HTTP 200 with an AdmissionReview that says allowed: false (a body Istio cannot decode either). */
type Expect = 'review' | 'denied' | number;

/** Why `reply` is not acceptable for `c`, or undefined. */
function problemWith(c: Pick<FuzzCase, 'uid' | 'apiVersion' | 'object' | 'path'>, reply: Reply, expected?: Expect): string | undefined {
  if (reply.status >= 500) return `HTTP ${reply.status}: ${reply.text.slice(0, 300)}`;
  if (!reply.contentType.startsWith('application/json')) return `content type ${reply.contentType}`;
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(reply.text) as Record<string, unknown>;
  } catch {
    return `not JSON: ${reply.text.slice(0, 200)}`;
  }
  if (typeof expected === 'number' && reply.status !== expected) return `expected HTTP ${expected}, got ${reply.status}: ${reply.text.slice(0, 300)}`;
  if (expected === 'denied' && (reply.status !== 200 || (json['response'] as { allowed?: unknown } | undefined)?.allowed !== false)) {
    return `expected a denial, got HTTP ${reply.status}: ${reply.text.slice(0, 300)}`;
  }
  if (expected === 'review' && reply.status !== 200) return `expected an AdmissionReview, got HTTP ${reply.status}: ${reply.text.slice(0, 300)}`;
  if (reply.status !== 200) {
    if (![400, 404, 405, 408, 413, 415, 429].includes(reply.status)) return `unexpected HTTP ${reply.status}`;
    return typeof json['error'] === 'string' && json['error'].length > 0 ? undefined : `4xx without {error}: ${reply.text.slice(0, 200)}`;
  }
  if (json['kind'] !== 'AdmissionReview') return `kind ${String(json['kind'])}`;
  // An apiVersion we do not serve is not echoed: its denial is written as admission.k8s.io/v1.
  const echoed = c.apiVersion === 'admission.k8s.io/v1beta1' || c.apiVersion === 'admission.k8s.io/v1' ? c.apiVersion : 'admission.k8s.io/v1';
  if (c.apiVersion !== undefined && json['apiVersion'] !== echoed) return `apiVersion ${String(json['apiVersion'])} for ${c.apiVersion}`;
  const response = json['response'] as Record<string, unknown> | undefined;
  if (typeof response !== 'object' || response === null) return 'no response';
  if (c.uid !== undefined && response['uid'] !== c.uid) return `uid ${String(response['uid'])} for ${c.uid}`;
  if (typeof response['allowed'] !== 'boolean') return 'allowed is not a boolean';
  const status = response['status'] as { message?: unknown; code?: unknown } | undefined;
  if (response['allowed'] === false) {
    if (typeof status?.message !== 'string' || status.message.length === 0) return 'allowed:false without a message';
    if (status.code === 500 || /internal error/.test(status.message)) return `internal error: ${status.message.slice(0, 300)}`;
  }
  const warnings = response['warnings'];
  if (Array.isArray(warnings) && warnings.some((w) => typeof w === 'string' && /internal error/.test(w))) return `internal error warning: ${String(warnings[0]).slice(0, 300)}`;
  if (response['patch'] !== undefined) {
    if (response['patchType'] !== 'JSONPatch') return 'patch without patchType JSONPatch';
    let ops: jsonpatch.Operation[];
    try {
      ops = JSON.parse(Buffer.from(String(response['patch']), 'base64').toString('utf8')) as jsonpatch.Operation[];
    } catch {
      return 'patch is not base64 JSON';
    }
    if (!Array.isArray(ops) || ops.length === 0) return 'patch is not a list of operations';
    if (c.object !== undefined && c.path.startsWith('/inject')) {
      try {
        const patched = jsonpatch.applyPatch(structuredClone(c.object), ops, true, false).newDocument as { spec?: { containers?: { name?: string }[]; initContainers?: { name?: string }[] } };
        const names = [...(patched.spec?.containers ?? []), ...(patched.spec?.initContainers ?? [])].map((x) => x?.name);
        if (!names.includes('istio-proxy')) return 'the patched pod has no istio-proxy';
      } catch (err) {
        return `the patch does not apply: ${(err as Error).message.slice(0, 200)}`;
      }
    }
  }
  return undefined;
}

/**
 * The retry delay (ms) of a shed answer of the overload guard: HTTP 429 with Retry-After (/validate, or an /inject
 * body without a usable uid), or an AdmissionReview with allowed false, code 429 TooManyRequests (/inject).
 */
function shedRetryMs(reply: Reply): number | undefined {
  if (reply.status === 429) return reply.retryAfter !== undefined ? Number(reply.retryAfter) * 1000 : undefined;
  if (reply.status !== 200) return undefined;
  try {
    const status = (JSON.parse(reply.text) as { response?: { allowed?: unknown; status?: { code?: unknown; reason?: unknown; details?: { retryAfterSeconds?: unknown } } } }).response?.status;
    if (status?.code === 429 && status.reason === 'TooManyRequests') return Number(status.details?.retryAfterSeconds ?? 1) * 1000;
  } catch {
    // not JSON: not a shed answer (problemWith says what it is)
  }
  return undefined;
}

let shedAnswers = 0;

/**
 * send(); a shed answer is checked by problemWith (without the entry's expected status: it is a valid answer to any
 * request) and the request sent again after its retry delay (at most 20 times), as the API server's clients do.
 */
async function sendThroughShedding(req: Send, c: Pick<FuzzCase, 'uid' | 'apiVersion' | 'object' | 'path'>, shedProblems: string[], label: string): Promise<Reply> {
  for (let attempt = 1; ; attempt++) {
    const reply = await send(req);
    const delay = attempt <= 20 ? shedRetryMs(reply) : undefined;
    if (delay === undefined) return reply;
    shedAnswers++;
    const p = problemWith(c, reply);
    if (p) shedProblems.push(`${label} (shed answer): ${p}`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

interface CorpusEntry {
  name: string;
  send: Send;
  expect?: Expect;
  /**
   * Over-limit bodies: the server answers 413 with `Connection: close` as soon as it sees the length, without reading
   * the rest, so a client that goes on writing may hit the closed connection (EPIPE/ECONNRESET) before it reads the 413.
   */
  orClosed?: boolean;
  uid?: string;
  object?: unknown;
}

function review(mutate: (r: Record<string, unknown> & { request: Record<string, unknown> }) => void, pod = samplePod()): string {
  const r = JSON.parse(JSON.stringify(sampleAdmissionReview({ pod, uid: 'corpus' }))) as Record<string, unknown> & { request: Record<string, unknown> };
  mutate(r);
  return JSON.stringify(r);
}

function corpus(): CorpusEntry[] {
  const valid = JSON.stringify(sampleAdmissionReview({ uid: 'corpus' }));
  const many = (n: number, dup: boolean) => {
    const pod = samplePod();
    pod.spec!.containers = Array.from({ length: n }, (_, i) => ({
      name: dup ? 'app' : `c${i}`,
      image: 'app:1',
      ports: [{ containerPort: 8080, name: 'http' }],
      readinessProbe: { httpGet: { path: '/ready', port: 'http' } },
    }));
    return pod;
  };
  const deep = (n: number) => valid.replace('"restartPolicy"', `"deep":${'{"a":'.repeat(n)}1${'}'.repeat(n)},"restartPolicy"`);
  const entries: CorpusEntry[] = [
    { name: 'valid', send: { path: '/inject', body: valid }, expect: 'review', uid: 'corpus' },
    { name: 'empty body', send: { path: '/inject', body: '' }, expect: 400 },
    { name: 'whitespace body', send: { path: '/validate', body: ' \n\t ' }, expect: 400 },
    { name: 'null', send: { path: '/inject', body: 'null' }, expect: 'denied', uid: '' },
    { name: 'array', send: { path: '/inject', body: '[]' }, expect: 'denied', uid: '' },
    { name: 'number', send: { path: '/validate', body: '42' }, expect: 'denied', uid: '' },
    { name: 'null request', send: { path: '/inject', body: review((r) => (r.request = null as never)) }, expect: 'denied', uid: '' },
    { name: 'request is a list', send: { path: '/validate', body: review((r) => (r.request = [] as never)) }, expect: 'denied', uid: '' },
    { name: 'no request', send: { path: '/inject', body: review((r) => delete (r as Record<string, unknown>).request) }, expect: 'denied', uid: '' },
    { name: 'uid is a number', send: { path: '/inject', body: review((r) => (r.request.uid = 5)) }, expect: 'denied', uid: '' },
    { name: 'uid is empty', send: { path: '/validate', body: review((r) => (r.request.uid = '')) }, expect: 'denied', uid: '' },
    { name: 'apiVersion wrong', send: { path: '/inject', body: review((r) => (r.apiVersion = 'admission.k8s.io/v2')) }, expect: 'denied', uid: 'corpus' },
    { name: 'apiVersion a list', send: { path: '/inject', body: review((r) => (r.apiVersion = ['admission.k8s.io/v1'])) }, expect: 'denied', uid: 'corpus' },
    { name: 'kind wrong', send: { path: '/validate', body: review((r) => (r.kind = 'Pod')) }, expect: 'denied', uid: 'corpus' },
    { name: 'object null', send: { path: '/inject', body: review((r) => (r.request.object = null)) }, expect: 'review', uid: 'corpus' },
    { name: 'object a string', send: { path: '/inject', body: review((r) => (r.request.object = 'pod')) }, expect: 'review', uid: 'corpus' },
    { name: 'spec a list', send: { path: '/inject', body: review((r) => ((r.request.object as Record<string, unknown>).spec = [])) }, expect: 'review', uid: 'corpus' },
    { name: 'containers an object', send: { path: '/validate', body: review((r) => (((r.request.object as Record<string, unknown>).spec as Record<string, unknown>).containers = {})) }, expect: 'review', uid: 'corpus' },
    { name: 'operation a number', send: { path: '/validate', body: review((r) => (r.request.operation = 7)) }, expect: 'review', uid: 'corpus' },
    { name: 'huge uid (1 MiB)', send: { path: '/inject', body: review((r) => (r.request.uid = 'u'.repeat(1 << 20))) }, expect: 'review', uid: 'u'.repeat(1 << 20) },
    { name: 'huge annotation (5 MiB)', send: { path: '/inject', body: review((r) => (((r.request.object as Record<string, Record<string, unknown>>).metadata as Record<string, unknown>).annotations = { 'proxy.istio.io/config': 'x'.repeat(5 << 20) })) }, expect: 'review', uid: 'corpus' },
    { name: '100,000 annotations', send: { path: '/validate', body: review((r) => (((r.request.object as Record<string, Record<string, unknown>>).metadata as Record<string, unknown>).annotations = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`a${i}`, 'v'])))) }, expect: 'review', uid: 'corpus' },
    { name: 'JSON nested 10,000 levels', send: { path: '/inject', body: deep(10_000) }, expect: 400 },
    { name: 'JSON nested 100,000 levels', send: { path: '/validate', body: deep(100_000) }, expect: 400 },
    // 1,000,000 tokens: refused by the token count before parsing (413: no AdmissionReview identity at its start).
    { name: 'arrays nested 1,000,000 levels', send: { path: '/inject', body: `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}` }, expect: 413 },
    { name: 'JSON nested 100 levels (allowed)', send: { path: '/inject', body: deep(100) }, expect: 'review', uid: 'corpus' },
    { name: '__proto__ key', send: { path: '/inject', body: valid.replace('"restartPolicy"', '"__proto__":{"polluted":1},"restartPolicy"') }, expect: 400 },
    { name: 'escaped __proto__ key', send: { path: '/validate', body: valid.replace('"restartPolicy"', '"\\u005f_proto__":{"polluted":1},"restartPolicy"') }, expect: 400 },
    { name: 'constructor.prototype', send: { path: '/inject', body: valid.replace('"restartPolicy"', '"constructor":{"prototype":{"polluted":1}},"restartPolicy"') }, expect: 400 },
    { name: 'constructor as a plain value', send: { path: '/inject', body: review((r) => (r.request.constructor_ = 'x')).replace('constructor_', 'constructor') }, expect: 'review', uid: 'corpus' },
    { name: 'text/plain', send: { path: '/inject', body: valid, headers: { 'content-type': 'text/plain' } }, expect: 415 },
    { name: 'no content type', send: { path: '/validate', body: valid, headers: { 'content-type': '' } }, expect: 415 },
    { name: 'form', send: { path: '/inject', body: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, expect: 415 },
    { name: 'yaml', send: { path: '/inject', body: 'apiVersion: v1', headers: { 'content-type': 'application/yaml' } }, expect: 415 },
    { name: 'json-patch+json', send: { path: '/inject', body: valid, headers: { 'content-type': 'application/json-patch+json' } }, expect: 415 },
    { name: 'multipart', send: { path: '/validate', body: valid, headers: { 'content-type': 'multipart/form-data; boundary=x' } }, expect: 415 },
    { name: 'json with charset', send: { path: '/inject', body: valid, headers: { 'content-type': 'application/json; charset=utf-8' } }, expect: 'review', uid: 'corpus' },
    { name: 'body over 6 MiB', send: { path: '/inject', body: Buffer.alloc(6 * 1024 * 1024 + 1, 0x20) }, expect: 413, orClosed: true },
    { name: 'body over 12 MiB, chunked', send: { path: '/validate', body: Buffer.alloc(12 * 1024 * 1024 + 1, 0x20), chunked: true }, expect: 413, orClosed: true },
    { name: 'valid review, chunked', send: { path: '/inject', body: valid, chunked: true }, expect: 'review', uid: 'corpus' },
    { name: 'truncated JSON', send: { path: '/inject', body: valid.slice(0, valid.length / 2) }, expect: 'denied', uid: '' },
    { name: 'invalid UTF-8 in a value', send: { path: '/inject', body: Buffer.concat([Buffer.from(valid.slice(0, valid.indexOf('httpbin') + 3)), Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0xed, 0xa0, 0x80]), Buffer.from(valid.slice(valid.indexOf('httpbin') + 3))]) }, expect: 'review', uid: 'corpus' },
    { name: 'invalid UTF-8 in a key', send: { path: '/validate', body: Buffer.concat([Buffer.from(valid.replace('"restartPolicy"', '"restart\u0000Policy"').slice(0, 200)), Buffer.from([0xff]), Buffer.from(valid.replace('"restartPolicy"', '"restart\u0000Policy"').slice(200))]) } },
    { name: 'lone surrogates and NUL', send: { path: '/inject', body: valid.replace('"httpbin"', '"\\ud800\\u0000\\udfff"') }, expect: 'review', uid: 'corpus' },
    { name: 'BOM', send: { path: '/inject', body: `\ufeff${valid}` } },
    { name: '10,000 containers', send: { path: '/inject', body: JSON.stringify(sampleAdmissionReview({ uid: 'corpus', pod: many(10_000, false) })) }, expect: 'review', uid: 'corpus', object: many(10_000, false) },
    { name: '10,000 containers, /validate', send: { path: '/validate', body: JSON.stringify(sampleAdmissionReview({ uid: 'corpus', pod: many(10_000, false) })) }, expect: 'review', uid: 'corpus' },
    { name: '2,000 containers with the same name', send: { path: '/inject', body: JSON.stringify(sampleAdmissionReview({ uid: 'corpus', pod: many(2_000, true) })) }, expect: 'review', uid: 'corpus', object: many(2_000, true) },
    { name: 'duplicate istio-proxy containers', send: { path: '/inject', body: JSON.stringify(sampleAdmissionReview({ uid: 'corpus', pod: { ...samplePod(), spec: { containers: [{ name: 'istio-proxy', image: 'auto' }, { name: 'istio-proxy', image: 'x' }, { name: 'app', image: 'a' }] } } })) }, expect: 'review', uid: 'corpus' },
    { name: 'rich pod', send: { path: '/inject', body: JSON.stringify(sampleAdmissionReview({ uid: 'corpus', pod: richPod() })) }, expect: 'review', uid: 'corpus', object: richPod() },
    { name: 'unknown route', send: { path: '/mutate', body: valid }, expect: 404 },
    { name: 'bad percent-encoding', send: { path: '/inject/%zz', body: valid } },
    { name: 'long path', send: { path: `/inject/${'a/'.repeat(3000)}`, body: valid } },
    { name: 'deadline 1ns', send: { path: '/inject?timeout=1ns', body: valid }, expect: 'review', uid: 'corpus' },
  ];
  return entries;
}

/** VmRSS of a process, KiB. */
async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
}

/** The largest legitimate requests of the corpus: served once before the memory baseline is taken. */
const LARGE = new Set(['huge uid (1 MiB)', 'huge annotation (5 MiB)', '100,000 annotations', '10,000 containers', '10,000 containers, /validate', 'body over 6 MiB', 'body over 12 MiB, chunked']);

/** A client that sends headers one byte every 200 ms: resolves with how long the server let it go on. */
function slowSender(): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const head = `POST /inject HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nX-Slow: ${'a'.repeat(10_000)}`;
    let i = 0;
    let timer: NodeJS.Timeout | undefined;
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: fx.certs.ca }, () => {
      timer = setInterval(() => {
        if (!socket.destroyed) socket.write(head[i++ % head.length] as string);
      }, 200);
    });
    const guard = setTimeout(() => (socket.destroy(), reject(new Error('the slow sender was not cut off within 40 s'))), 40_000);
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(guard);
      resolve(performance.now() - started);
    });
  });
}

/** A truncated body: Content-Length says more than is sent, then the client closes its side. */
function truncatedThenClosed(): Promise<string> {
  return new Promise((resolve) => {
    const body = JSON.stringify(sampleAdmissionReview());
    let received = '';
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: fx.certs.ca }, () => {
      socket.write(`POST /inject HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length + 100}\r\n\r\n${body.slice(0, 100)}`);
      socket.end();
    });
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (received += c));
    socket.on('error', () => {});
    socket.on('close', () => resolve(received.split('\r\n', 1)[0] ?? ''));
  });
}

test('hostile input through /inject and /validate of the real service', async () => {
  const preload = path.join(import.meta.dirname, 'gc-on-signal.mjs');
  const proc = spawn(nodeBin, ['--expose-gc', '--import', preload, cliMain, 'serve', '--port', '0', '--host', '127.0.0.1', '--cert', fx.certs.certPath, '--key', fx.certs.keyPath, '--metrics-port', '0', '--shutdown-delay', '0'], {
    cwd: fx.tmp,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  fx.child = proc;
  const errorLines: string[] = [];
  let listening: Record<string, unknown> | undefined;
  let stderr = '';
  proc.stderr?.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    try {
      const l = JSON.parse(line) as Record<string, unknown>;
      if (l['msg'] === 'mesh-webhook listening') listening = l;
      if (typeof l['level'] === 'number' && l['level'] >= 50) errorLines.push(line.slice(0, 1000));
    } catch {
      // the banner is not JSON
    }
  });
  await waitFor('the listening log line', () => listening !== undefined || proc.exitCode !== null, 20_000);
  expect(listening, stderr).toBeDefined();
  port = listening?.['port'] as number;
  agent = new https.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const pid = proc.pid as number;

  /** RSS (KiB) and V8 heap used (bytes, from /metrics) after a full GC and a pause. */
  const memory = async (): Promise<{ rssKiB: number; heapUsed: number }> => {
    proc.kill('SIGWINCH');
    await new Promise((r) => setTimeout(r, 1_500));
    const metrics = await send({ path: '/metrics', method: 'GET' });
    const heapUsed = Number(/^nodejs_heap_size_used_bytes (\d+)/m.exec(metrics.text)?.[1] ?? NaN);
    return { rssKiB: await rssKiB(pid), heapUsed };
  };
  const mib = (kib: number) => Math.round(kib / 1024);

  // Baselines: after ordinary admissions; then after one of each of the largest legitimate requests.
  const ordinary = JSON.stringify(sampleAdmissionReview({ uid: 'warm' }));
  for (let i = 0; i < 200; i++) await send({ path: i % 2 ? '/inject' : '/validate', body: ordinary });
  const ordinaryBaseline = await memory();
  for (const e of corpus().filter((x) => LARGE.has(x.name))) await send(e.send).catch(() => undefined);
  for (let i = 0; i < 50; i++) await send({ path: '/inject', body: ordinary });
  const baseline = await memory();

  const problems: string[] = [];
  let tried = 0;
  const slow = slowSender();

  // 1. The corpus.
  const entries = corpus();
  for (const e of entries) {
    tried++;
    try {
      const c = { path: e.send.path, ...(e.uid !== undefined ? { uid: e.uid } : {}), ...(e.object !== undefined ? { object: e.object } : {}) };
      const reply = await sendThroughShedding(e.send, c, problems, `corpus "${e.name}"`);
      const p = problemWith(c, reply, e.expect);
      if (p) problems.push(`corpus "${e.name}": ${p}`);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (!(e.orClosed && ['EPIPE', 'ECONNRESET'].includes(code))) problems.push(`corpus "${e.name}": ${(err as Error).message}`);
    }
  }
  tried++;
  const truncated = await truncatedThenClosed();
  if (truncated !== '' && !/^HTTP\/1\.1 4\d\d/.test(truncated)) problems.push(`truncated body then close: ${truncated}`);

  // 2. Property-based fuzzing, CONCURRENCY requests at a time.
  const cases = fc.sample(fuzzCase, { numRuns: RUNS, seed: SEED });
  let next = 0;
  const counts: Record<string, number> = {};
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < cases.length) {
        const c = cases[next++] as FuzzCase;
        tried++;
        try {
          const reply = await sendThroughShedding({ path: c.path, body: c.body }, c, problems, `fuzz (${c.origin}) ${c.path}`);
          counts[reply.status] = (counts[reply.status] ?? 0) + 1;
          const p = problemWith(c, reply);
          if (p) problems.push(`fuzz (${c.origin}) ${c.path}: ${p}\n  body: ${c.body.slice(0, 600)}`);
        } catch (err) {
          problems.push(`fuzz (${c.origin}) ${c.path}: ${(err as Error).message}\n  body: ${c.body.slice(0, 600)}`);
        }
      }
    }),
  );

  const slowMs = await slow;
  tried++;

  // Still up, still answering, memory back at the baseline.
  expect(proc.exitCode).toBe(null);
  for (let i = 0; i < 50; i++) await send({ path: '/inject', body: ordinary });
  const after = await memory();
  const healthy = await sendThroughShedding({ path: '/inject', body: ordinary }, { path: '/inject', uid: 'warm' }, problems, 'after');
  agent.destroy();

  console.log(
    `fuzz: ${tried} hostile inputs (${entries.length} corpus, ${cases.length} generated with seed ${SEED}, a truncated body, a slow sender); ` +
      `generated answers by HTTP status ${JSON.stringify(counts)}; slow sender cut off after ${Math.round(slowMs / 100) / 10} s; ` +
      `RSS ${mib(ordinaryBaseline.rssKiB)} MiB with ordinary traffic, ${mib(baseline.rssKiB)} MiB after the largest legitimate requests, ` +
      `${mib(after.rssKiB)} MiB after the hostile input; JS heap after GC ${Math.round(ordinaryBaseline.heapUsed / 1048576)} → ${Math.round(after.heapUsed / 1048576)} MiB; ` +
      `${shedAnswers} shed answers ("overloaded, retry"), each sent again; ` +
      `${problems.length} problems`,
  );
  expect(problems.slice(0, 10)).toEqual([]);
  expect(errorLines.slice(0, 5)).toEqual([]);
  expect(problemWith({ path: '/inject', uid: 'warm' }, healthy, 'review')).toBeUndefined();
  expect(slowMs).toBeLessThan(15_000); // headers timeout 10 s, checked every second
  expect(after.heapUsed).toBeLessThan(1.5 * ordinaryBaseline.heapUsed + 16 * 1048576);
  expect(after.rssKiB).toBeLessThan(2 * baseline.rssKiB + 50 * 1024);
  expect(after.rssKiB).toBeLessThan(baseline.rssKiB + 150 * 1024);
  expect(proc.exitCode).toBe(null);
  expect(stderr).toBe('');
  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
  expect(proc.exitCode).toBe(0);
}, 120_000);
