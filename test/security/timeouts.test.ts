/**
 * Slow and silent clients are cut off (src/server/tls.ts ServerTimeouts, applied by buildServer): a TCP connection
 * that never starts the TLS handshake, a client that dribbles its headers one byte at a time, one that sends the
 * headers and then dribbles the body, and an idle keep-alive connection. Each runs against a server built with short
 * timeouts (the mechanism); the defaults (10 s handshake and headers, 30 s request, 72 s keep-alive, 60 s idle, checked
 * every second) are asserted on the real server object. test/fuzz/admission.fuzz.test.ts also cuts a dribbling client
 * off the spawned `mesh-webhook serve` with the defaults.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sampleAdmissionReview } from '../../src/admission/sample.js';
import { loadConfig } from '../../src/config/load.js';
import { buildServer, type WebhookServer } from '../../src/server/app.js';
import { createRuntime } from '../../src/server/runtime.js';
import { DEFAULT_SERVER_TIMEOUTS } from '../../src/server/tls.js';
import { testCertificates } from '../helpers/https.js';

const SHORT = { handshakeMs: 400, headersMs: 600, requestMs: 1_200, keepAliveMs: 500, idleMs: 5_000, checkIntervalMs: 100 };

let app: WebhookServer;
let port: number;
let ca: string;
beforeAll(async () => {
  const certs = await testCertificates();
  ca = certs.ca;
  app = buildServer({ injector: createRuntime(loadConfig({})), tls: { cert: certs.cert, key: certs.key }, logger: false, timeouts: SHORT });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as net.AddressInfo).port;
});
afterAll(async () => {
  await app?.close();
});

interface Outcome {
  /** ms from the start until the server closed the connection. */
  closedAfterMs: number;
  /** What the server sent before closing (an HTTP status line, if any). */
  received: string;
  /** Bytes the client managed to send before the close. */
  sent: number;
}

/** Open a TLS connection, then call `drive(write)` (which writes slowly until the socket closes); report the close. */
function slowClient(drive: (write: (chunk: string) => boolean) => void, maxMs = 10_000): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let received = '';
    let sent = 0;
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca }, () => {
      drive((chunk) => {
        if (socket.destroyed || socket.writableEnded) return false;
        socket.write(chunk);
        sent += chunk.length;
        return true;
      });
    });
    const guard = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server did not close the connection within ${maxMs} ms (sent ${sent} bytes)`));
    }, maxMs);
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (received += c));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(guard);
      resolve({ closedAfterMs: performance.now() - started, received, sent });
    });
  });
}

/** Write `text` one character every `everyMs`, forever (until the socket is closed). */
function dribble(text: string, everyMs: number) {
  return (write: (chunk: string) => boolean) => {
    let i = 0;
    const timer = setInterval(() => {
      if (!write(text[i % text.length] as string)) clearInterval(timer);
      i++;
    }, everyMs);
  };
}

describe('slow and silent clients are cut off', () => {
  test('a TCP connection that never starts the TLS handshake is closed after handshakeMs', async () => {
    const started = performance.now();
    const closedAfter = await new Promise<number>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      const guard = setTimeout(() => (socket.destroy(), reject(new Error('not closed'))), 5_000);
      socket.on('error', () => {});
      socket.on('close', () => (clearTimeout(guard), resolve(performance.now() - started)));
    });
    expect(closedAfter).toBeGreaterThanOrEqual(SHORT.handshakeMs - 50);
    expect(closedAfter).toBeLessThan(SHORT.handshakeMs + 1_500);
  });

  test('headers dribbled one byte at a time: 408 and closed after headersMs', async () => {
    const head = 'POST /inject HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nX-Slow: ' + 'a'.repeat(1000);
    const outcome = await slowClient(dribble(head, 20));
    expect(outcome.closedAfterMs).toBeGreaterThanOrEqual(SHORT.headersMs - 50);
    expect(outcome.closedAfterMs).toBeLessThan(SHORT.headersMs + 1_500);
    expect(outcome.received === '' || outcome.received.startsWith('HTTP/1.1 408')).toBe(true);
  });

  test('headers at once, body dribbled: closed after requestMs, the admission never runs', async () => {
    const body = JSON.stringify(sampleAdmissionReview());
    const outcome = await slowClient((write) => {
      write(`POST /inject HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
      dribble(body, 25)(write);
    });
    expect(outcome.closedAfterMs).toBeGreaterThanOrEqual(SHORT.requestMs - 50);
    expect(outcome.closedAfterMs).toBeLessThan(SHORT.requestMs + 1_500);
    expect(outcome.sent).toBeLessThan(body.length + 200);
    expect(outcome.received === '' || outcome.received.startsWith('HTTP/1.1 408')).toBe(true);
  });

  test('an idle keep-alive connection is closed after keepAliveMs', async () => {
    const outcome = await slowClient((write) => {
      write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
    });
    expect(outcome.received).toMatch(/^HTTP\/1\.1 200/);
    expect(outcome.closedAfterMs).toBeGreaterThanOrEqual(SHORT.keepAliveMs - 50);
    // Node adds keepAliveTimeoutBuffer (1 s) to the socket timeout of an idle keep-alive connection.
    expect(outcome.closedAfterMs).toBeLessThan(SHORT.keepAliveMs + 3_000);
  });

  test('a normal client is not affected: keep-alive requests in a row are answered', async () => {
    const body = JSON.stringify(sampleAdmissionReview());
    const request = `POST /inject HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const answers = await new Promise<number>((resolve, reject) => {
      let text = '';
      const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca }, () => {
        socket.write(request);
        setTimeout(() => socket.write(request), 300);
        setTimeout(() => socket.write(request), 600);
        setTimeout(() => (socket.destroy(), resolve((text.match(/HTTP\/1\.1 200/g) ?? []).length)), 900);
      });
      socket.setEncoding('utf8');
      socket.on('data', (c: string) => (text += c));
      socket.on('error', reject);
    });
    expect(answers).toBe(3);
  });
});

test('the defaults on the real server: handshake and headers 10 s, request 30 s, keep-alive 72 s, idle 60 s', async () => {
  expect(DEFAULT_SERVER_TIMEOUTS).toEqual({ handshakeMs: 10_000, headersMs: 10_000, requestMs: 30_000, keepAliveMs: 72_000, idleMs: 60_000, checkIntervalMs: 1_000 });
  const certs = await testCertificates();
  const real = buildServer({ injector: createRuntime(loadConfig({})), tls: { cert: certs.cert, key: certs.key }, logger: false });
  try {
    const server = real.server as unknown as { headersTimeout: number; requestTimeout: number; keepAliveTimeout: number; timeout: number };
    expect({ headers: server.headersTimeout, request: server.requestTimeout, keepAlive: server.keepAliveTimeout, idle: server.timeout }).toEqual({
      headers: 10_000,
      request: 30_000,
      keepAlive: 72_000,
      idle: 60_000,
    });
  } finally {
    await real.close();
  }
});
