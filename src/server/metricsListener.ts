/**
 * The plain-HTTP metrics listener (`--metrics-port`, default 9090): `GET /metrics` in the Prometheus text format, for
 * scrapers that should not need the webhook's serving CA or a client certificate. Nothing else is served on it (the
 * admission endpoints are HTTPS only); other paths get 404, other methods 405, as JSON.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Registry } from 'prom-client';
import { PROBE_ROUTES } from './routes.js';
import { DEFAULT_METRICS_HOST, DEFAULT_METRICS_PORT } from './defaults.js';

export { DEFAULT_METRICS_HOST, DEFAULT_METRICS_PORT };

export interface MetricsListener {
  port: number;
  address: string;
  /** `http://<host>:<port>/metrics`. */
  url: string;
  close(): Promise<void>;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Listen on `host:port` (port 0: any free port) and serve `registry` on GET /metrics. */
export async function startMetricsListener(opts: { registry: Registry; port: number; host?: string }): Promise<MetricsListener> {
  const { registry } = opts;
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path !== PROBE_ROUTES.metrics) return sendJson(res, 404, { error: `no route for ${req.method ?? 'GET'} ${path}; the metrics listener serves GET ${PROBE_ROUTES.metrics}` });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return sendJson(res, 405, { error: `method ${req.method ?? ''} is not allowed on ${PROBE_ROUTES.metrics}; use GET, HEAD` }, { allow: 'GET, HEAD' });
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType, 'content-length': Buffer.byteLength(text) });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      () => sendJson(res, 500, { error: 'collecting the metrics failed' }),
    );
  });
  server.requestTimeout = 30_000;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const host = opts.host ?? DEFAULT_METRICS_HOST;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const urlHost = bound.address === '0.0.0.0' || bound.address === '::' ? 'localhost' : bound.address.includes(':') ? `[${bound.address}]` : bound.address;
  let closing: Promise<void> | undefined;
  return {
    port: bound.port,
    address: bound.address,
    url: `http://${urlHost}:${bound.port}/metrics`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Scrapers keep connections alive; the listener must not hold the shutdown up.
        server.closeIdleConnections();
        for (const s of sockets) s.destroy();
      });
      return closing;
    },
  };
}
