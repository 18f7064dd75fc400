/**
 * The connection cap (src/server/connections.ts) on the real HTTPS server with a cap of 4: idle connections (TLS
 * handshake done, no request; or no TLS at all) are closed oldest first to make room, so an idle flood cannot keep a
 * client with a request out; only when every connection has a request in progress is a new connection refused. The
 * memory this bounds is measured in bench/ (connection flood under the Deployment's memory limit).
 */
import { EventEmitter } from 'node:events';
import type { Server } from 'node:net';
import net from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, test } from 'vitest';
import { sampleAdmissionReview } from '../../src/admission/sample.js';
import { profileConfig } from '../../src/config/profiles.js';
import { createMetrics } from '../../src/metrics.js';
import { createRuntime } from '../../src/server/runtime.js';
import { limitConnections } from '../../src/server/connections.js';
import { startTestServer, type TestServer } from '../helpers/https.js';
import { waitFor } from '../helpers/wait.js';

const runtime = createRuntime(profileConfig('kyma'));
const sockets: net.Socket[] = [];
let server: TestServer | undefined;
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await server?.close();
  server = undefined;
});

interface Tracked {
  socket: tls.TLSSocket | net.Socket;
  closed: boolean;
}

function track<T extends net.Socket>(socket: T): Tracked & { socket: T } {
  const t = { socket, closed: false };
  sockets.push(socket);
  socket.on('close', () => (t.closed = true));
  socket.on('error', () => {});
  return t;
}

/** A TLS connection that completes the handshake and then sends nothing. */
async function idleTls(port: number, ca: string): Promise<Tracked> {
  const t = track(tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }));
  await new Promise<void>((resolve, reject) => {
    t.socket.once('secureConnect', () => resolve());
    t.socket.once('error', reject);
  });
  return t;
}

/** A TCP connection that never starts TLS. */
async function idleTcp(port: number): Promise<Tracked> {
  const t = track(net.connect({ host: '127.0.0.1', port }));
  await new Promise<void>((resolve) => t.socket.once('connect', () => resolve()));
  return t;
}

/** A TLS connection with a request in progress: headers sent, the body not finished. */
async function busyTls(port: number, ca: string): Promise<Tracked> {
  const t = await idleTls(port, ca);
  t.socket.write('POST /inject HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"apiVersion":');
  return t;
}

async function start(maxConnections: number) {
  const metrics = createMetrics({ processMetrics: false });
  server = await startTestServer(runtime, { maxConnections, metrics, eventLoop: false });
  return { server, metrics };
}

async function closedCount(metrics: ReturnType<typeof createMetrics>): Promise<Record<string, number>> {
  const text = await metrics.registry.getSingleMetricAsString('mesh_webhook_connections_closed_total');
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^mesh_webhook_connections_closed_total\{reason="(\w+)"\} (\d+)$/gm)) out[m[1] as string] = Number(m[2]);
  return out;
}

describe('connection cap', () => {
  test('at the cap, a new connection closes the oldest idle one (TCP or TLS), and a request on the new one is answered', async () => {
    const { server, metrics } = await start(4);
    const first = await idleTcp(server.port);
    const second = await idleTls(server.port, server.ca);
    const third = await idleTls(server.port, server.ca);
    const fourth = await idleTls(server.port, server.ca);
    // Room is made for each request below by closing idle connections, oldest first.
    const res = await server.postJson('/inject', sampleAdmissionReview({ uid: 'made-room' }));
    expect(res.status).toBe(200);
    await waitFor('the oldest idle connection to be closed', () => first.closed);
    expect([second.closed, third.closed, fourth.closed]).toEqual([false, false, false]);
    // The request's own connection closed after its answer (Connection: close): fill the cap again.
    const fifth = await idleTls(server.port, server.ca);
    const again = await server.postJson('/inject', sampleAdmissionReview({ uid: 'made-room-2' }));
    expect(again.status).toBe(200);
    await waitFor('the next oldest to be closed', () => second.closed);
    expect([third.closed, fourth.closed, fifth.closed]).toEqual([false, false, false]);
    expect(await closedCount(metrics)).toEqual({ evicted_idle: 2, refused_busy: 0 });
  });

  test('a flood of idle connections far beyond the cap never keeps a request out', async () => {
    const { server } = await start(4);
    const flood = await Promise.all(Array.from({ length: 40 }, () => idleTls(server.port, server.ca).catch(() => undefined)));
    const res = await server.postJson('/validate', sampleAdmissionReview({ uid: 'after-flood' }));
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ response: { uid: 'after-flood', allowed: true } });
    await waitFor('the flood to be cut to the cap', () => flood.filter((t) => t !== undefined && !t.closed).length <= 3);
  });

  test('a keep-alive connection whose request has been answered is idle again: it is the one evicted', async () => {
    const { server, metrics } = await start(2);
    const reused = await idleTls(server.port, server.ca);
    const body = JSON.stringify(sampleAdmissionReview({ uid: 'kept-alive' }));
    let received = '';
    reused.socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
    reused.socket.write(`POST /inject HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    await waitFor('the answer on the kept-alive connection', () => received.includes('"kept-alive"'));
    expect(received).toMatch(/^HTTP\/1\.1 200 /);
    // Let the server finish the response it has written (its 'close' ends the request's busy mark).
    await new Promise((r) => setTimeout(r, 100));
    const younger = await idleTls(server.port, server.ca);
    const newcomer = await idleTcp(server.port);
    await waitFor('the connection that had a request to be evicted', () => reused.closed, 5_000);
    expect([younger.closed, newcomer.closed]).toEqual([false, false]);
    expect(await closedCount(metrics)).toEqual({ evicted_idle: 1, refused_busy: 0 });
  });

  test('with every connection busy, the new connection is refused and the busy ones are kept', async () => {
    const { server, metrics } = await start(3);
    const busy = [await busyTls(server.port, server.ca), await busyTls(server.port, server.ca), await busyTls(server.port, server.ca)];
    // Give the server the time to see the three requests' headers.
    await new Promise((r) => setTimeout(r, 100));
    const extra = await idleTcp(server.port);
    // Closed at once, not by the 10 s TLS handshake timeout.
    await waitFor('the new connection to be refused', () => extra.closed, 5_000);
    expect(busy.map((b) => b.closed)).toEqual([false, false, false]);
    expect(await closedCount(metrics)).toEqual({ evicted_idle: 0, refused_busy: 1 });
    expect(await metrics.registry.getSingleMetricAsString('mesh_webhook_connections')).toMatch(/^mesh_webhook_connections 3$/m);
  });
});

describe('limitConnections on its own: sockets whose close comes later, as in a flood', () => {
  /** A socket whose `destroy()` emits `close` only on a later turn of the loop, as a real one does. */
  class FakeSocket extends EventEmitter {
    destroyed = false;
    constructor(
      readonly remoteAddress: string | undefined,
      readonly remotePort: number | undefined,
    ) {
      super();
    }
    destroy() {
      if (this.destroyed) return;
      this.destroyed = true;
      setImmediate(() => this.emit('close'));
    }
  }
  let port = 40000;
  const fake = () => {
    const server = new EventEmitter();
    const limiter = limitConnections(server as unknown as Server, { maxConnections: 2 });
    const connect = () => {
      const socket = new FakeSocket('10.0.0.1', port++);
      server.emit('connection', socket);
      return socket;
    };
    /** A request on `socket`; the returned function ends it (its response's close). */
    const request = (socket: FakeSocket) => {
      const res = new EventEmitter();
      server.emit('request', { socket }, res);
      return () => res.emit('close');
    };
    return { server, limiter, connect, request };
  };
  const tick = () => new Promise((r) => setImmediate(r));

  test('two connections in the same turn at the cap evict two different idle ones, and the count stays at the cap', async () => {
    const { limiter, connect } = fake();
    const [a, b] = [connect(), connect()];
    const [c, d] = [connect(), connect()];
    expect([a.destroyed, b.destroyed, c.destroyed, d.destroyed]).toEqual([true, true, false, false]);
    expect(limiter.state()).toEqual({ open: 2, closed: { evicted_idle: 2, refused_busy: 0 } });
    await tick();
    expect(limiter.state().open).toBe(2);
  });

  test('a connection with a request in progress is passed over; once its response closes it is idle again', async () => {
    const { limiter, connect, request } = fake();
    const [a, b] = [connect(), connect()];
    const end = request(a);
    const c = connect();
    expect([a.destroyed, b.destroyed]).toEqual([false, true]);
    await tick();
    end();
    const d = connect();
    expect([a.destroyed, c.destroyed, d.destroyed]).toEqual([true, false, false]);
    expect(limiter.state()).toEqual({ open: 2, closed: { evicted_idle: 2, refused_busy: 0 } });
  });

  test('two requests on one keep-alive connection: idle only when both responses have closed', () => {
    const { connect, request } = fake();
    const [a] = [connect(), connect()];
    const first = request(a);
    const second = request(a);
    first();
    connect(); // evicts the other connection: a still has a request in progress
    expect(a.destroyed).toBe(false);
    second();
    connect();
    expect(a.destroyed).toBe(true);
  });

  test('every connection busy: the new one is closed and counted, the busy ones kept', () => {
    const { limiter, connect, request } = fake();
    const [a, b] = [connect(), connect()];
    request(a);
    request(b);
    const c = connect();
    expect([a.destroyed, b.destroyed, c.destroyed]).toEqual([false, false, true]);
    expect(limiter.state()).toEqual({ open: 2, closed: { evicted_idle: 0, refused_busy: 1 } });
  });

  test('a socket already gone (no remote address) is not counted', () => {
    const { server, limiter } = fake();
    server.emit('connection', new FakeSocket(undefined, undefined));
    expect(limiter.state().open).toBe(0);
  });
});
