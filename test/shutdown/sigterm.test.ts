/**
 * Graceful shutdown of the real CLI (`mesh-webhook serve`, dist/cli/main.js on the pinned Node 24): SIGTERM while
 * keep-alive connections are open and requests are in flight. /readyz turns 503 at once while the server keeps
 * serving for the drain delay; then the listener closes, idle keep-alive connections are closed, the requests in
 * flight complete with 200, and the process exits 0.
 * `npm test` builds first (pretest); when run directly, beforeAll rebuilds if dist is older than src.
 */
import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { expect, test } from 'vitest';
import { sampleAdmissionReview } from '../../src/admission/sample.js';
import { processFixture, spawnServe } from '../helpers/build.js';
import { waitFor } from '../helpers/wait.js';

const fx = processFixture('mesh-webhook-sigterm-', { certificates: true });

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function collect(req: ReturnType<typeof https.request>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

function request(port: number, p: string, opts: { agent?: https.Agent | false; method?: string; body?: string } = {}): Promise<Answer> {
  const req = https.request(`https://127.0.0.1:${port}${p}`, {
    method: opts.method ?? 'GET',
    agent: opts.agent ?? false,
    ca: fx.certs.ca,
    servername: 'localhost',
    rejectUnauthorized: true,
    timeout: 10_000,
    ...(opts.body !== undefined ? { headers: { 'content-type': 'application/json' } } : {}),
  });
  req.on('timeout', () => req.destroy(new Error('request timed out')));
  const answer = collect(req);
  req.end(opts.body);
  return answer;
}

/** The error code of a request that must fail (ECONNREFUSED once the listener is closed), or 'answered'. */
function failureCode(port: number): Promise<string> {
  return request(port, '/healthz').then(
    () => 'answered',
    (err: NodeJS.ErrnoException) => err.code ?? err.message,
  );
}

function review(uid: string): string {
  const r = sampleAdmissionReview();
  r.request.uid = uid;
  return JSON.stringify(r);
}

test('SIGTERM with keep-alive connections and requests in flight', async () => {
  const served = spawnServe(
    ['--port', '0', '--host', '127.0.0.1', '--metrics-port', '0', '--cert', fx.certs.certPath, '--key', fx.certs.keyPath, '--shutdown-delay', '2s'],
    fx.tmp,
  );
  const { proc, logs } = served;
  fx.child = proc;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );

  await waitFor('the listening log line', () => logs.some((l) => l['msg'] === 'mesh-webhook listening') || proc.exitCode !== null);
  const port = logs.find((l) => l['msg'] === 'mesh-webhook listening')?.['port'];
  expect(typeof port, served.stderr).toBe('number');
  const p = port as number;
  expect((await request(p, '/readyz')).status).toBe(200);

  // Idle keep-alive connections: opened by one request each, then left open in the agent's pool.
  const idleAgent = new https.Agent({ keepAlive: true, maxSockets: 3 });
  let idleClosed = 0;
  const idle = await Promise.all(
    [0, 1, 2].map(() => {
      const req = https.request(`https://127.0.0.1:${p}/healthz`, { agent: idleAgent, ca: fx.certs.ca, servername: 'localhost' });
      req.on('socket', (s) => {
        if (!(req as unknown as { reusedSocket: boolean }).reusedSocket) s.once('close', () => (idleClosed += 1));
      });
      const a = collect(req);
      req.end();
      return a;
    }),
  );
  expect(idle.map((a) => a.status)).toEqual([200, 200, 200]);

  // Requests in flight: each on its own keep-alive connection (warmed up by a first request), headers and half of
  // the body sent; the rest follows only after the listener has closed.
  const inFlight = await Promise.all(
    [0, 1, 2, 3].map(async (i) => {
      const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
      const warm = await request(p, '/inject?timeout=30s', { agent, method: 'POST', body: review(`warm-${i}`) });
      expect(warm.status).toBe(200);
      const body = Buffer.from(review(`in-flight-${i}`));
      const req = https.request(`https://127.0.0.1:${p}/inject?timeout=30s`, {
        method: 'POST',
        agent,
        ca: fx.certs.ca,
        servername: 'localhost',
        rejectUnauthorized: true, // the same TLS options as the warm-up request: the agent reuses its connection
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      });
      const answer = collect(req);
      const half = Math.floor(body.length / 2);
      req.write(body.subarray(0, half));
      return { req, answer, rest: body.subarray(half), agent, reused: () => req.reusedSocket };
    }),
  );

  expect(proc.kill('SIGTERM')).toBe(true);

  // At once: not ready, but still serving (the drain delay), and telling clients to reconnect elsewhere.
  await waitFor('/readyz to answer 503', async () => (await request(p, '/readyz')).status === 503);
  const readyz = await request(p, '/readyz');
  expect(readyz.status).toBe(503);
  expect(JSON.parse(readyz.body)).toEqual({ status: 'not ready', reason: 'shutting down' });
  const duringDrain = await request(p, '/inject', { method: 'POST', body: review('during-drain') });
  expect(duringDrain.status).toBe(200);
  expect(duringDrain.headers['connection']).toBe('close');
  expect(JSON.parse(duringDrain.body).response.uid).toBe('during-drain');

  // Then the listener closes and the idle keep-alive connections are closed by the server.
  await waitFor('the listener to close', async () => (await failureCode(p)) === 'ECONNREFUSED');
  await waitFor('the idle keep-alive connections to be closed', () => idleClosed === 3);
  expect(proc.exitCode).toBe(null); // still waiting for the requests in flight

  // The requests in flight complete normally.
  for (const f of inFlight) f.req.end(f.rest);
  const answers = await Promise.all(inFlight.map((f) => f.answer));
  expect(inFlight.map((f) => f.reused())).toEqual([true, true, true, true]);
  expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
  answers.forEach((a, i) => {
    const response = (JSON.parse(a.body) as { response: { uid: string; allowed: boolean; patch?: string } }).response;
    expect(response.uid).toBe(`in-flight-${i}`);
    expect(response.allowed).toBe(true);
    expect(response.patch).toBeDefined();
    expect(a.headers['connection']).toBe('close');
  });

  expect(await exited).toEqual({ code: 0, signal: null });
  expect(served.stderr).toBe('');
  const messages = logs.map((l) => l['msg']);
  expect(messages).toContain('shutting down');
  expect(messages).toContain('shut down');
  expect(messages).not.toContain('graceful shutdown timed out; exiting');
  // The in-flight admissions were handled after the listener had closed.
  const closing = messages.indexOf('closing the listener; waiting for requests in flight');
  const handled = logs.flatMap((l, i) => (l['msg'] === 'admission' && String(l['uid']).startsWith('in-flight-') ? [i] : []));
  expect(closing).toBeGreaterThan(-1);
  expect(handled).toHaveLength(4);
  expect(handled.every((i) => i > closing)).toBe(true);
  // Nothing answers after the exit.
  expect(await failureCode(p)).toBe('ECONNREFUSED');
  idleAgent.destroy();
  for (const f of inFlight) f.agent.destroy();
});
