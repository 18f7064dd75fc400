/**
 * The webhook server without a socket: the same buildServer() answering through Fastify's inject(), for the HTTP
 * contract tests where no socket matters (status codes, answers, deadlines, caps). Tests of TLS, client certificates,
 * connections, overload and shutdown use the real server (test/helpers/https.ts startTestServer).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { BuildServerOptions, WebhookServer } from '../../src/server/app.js';
import { buildTestApp, jsonPost, type HttpsRequestOptions, type HttpsResponse, type TestServerOptions, type WebhookClient } from './https.js';

/** The server answering in process; the same calls as the HTTPS one. */
export type InProcessServer = WebhookClient;

/** buildServer() with `injector`, answering through inject(); no port, no TLS handshake. */
export async function startInProcessServer(injector: BuildServerOptions['injector'], options: TestServerOptions = {}): Promise<InProcessServer> {
  // No event-loop monitor: inject() has no socket to measure a wait on.
  const app = await buildTestApp(injector, { eventLoop: false, ...options });
  await app.ready();
  const request = async (p: string, o: Omit<HttpsRequestOptions, 'ca'> = {}): Promise<HttpsResponse> => {
    const res = await app.inject({
      method: (o.method ?? 'GET') as 'GET',
      url: p,
      headers: Object.fromEntries(Object.entries(o.headers ?? {}).map(([k, v]) => [k, String(v)])),
      ...(o.body !== undefined ? { payload: o.body } : {}),
    });
    let json: unknown;
    try {
      json = JSON.parse(res.body);
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, headers: res.headers as IncomingHttpHeaders, text: res.body, json };
  };
  return {
    app,
    close: () => app.close(),
    request,
    postJson: (p, body, headers = {}) => request(p, jsonPost(body, headers)),
  };
}

/**
 * A server clock (ms) that stands still, except that each request, right after the server stamped its arrival
 * (`meshReceivedAt`), spends `spent()` ms of it: every later reading (deadline, duration) sees arrival + spent.
 * `startInProcessServer(runtime, { ...steppedClock(() => ms).options })`; `now()` reads the clock.
 */
export function steppedClock(spent: () => number) {
  let now = 1_000_000;
  const options = {
    clock: () => now,
    // With the loop monitor, the arrival would be moved back by however long the loop waited: real time.
    eventLoop: false as const,
    beforeStart: (app: WebhookServer) =>
      // Registered after buildServer's own onRequest hook, so it runs after the arrival was stamped.
      app.addHook('onRequest', (_request, _reply, done) => {
        now += spent();
        done();
      }),
  };
  return { options, now: () => now };
}
