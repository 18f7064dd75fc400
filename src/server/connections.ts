/**
 * A cap on the connections the admission listener holds. Each TLS connection costs tens of KiB of memory even when
 * it never sends a request, and a connection that does nothing lives until the handshake or header timeout (10 s):
 * without a cap, a few thousand idle connections from anything that can reach the Service take the process past its
 * memory limit. With the cap, a new connection beyond it closes the oldest connection that has no request in progress
 * (still in the TLS handshake, headers not complete, or idle between keep-alive requests); only when every connection
 * has a request in progress is the new one closed instead. So idle connections cannot crowd out the API server: it
 * opens a connection and sends its request at once, while a connection held open without a request is the first to go.
 * A client whose idle keep-alive connection was closed reconnects (Go's HTTP client retries a request that met a
 * connection closed while idle).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Counter, Gauge, type Registry } from 'prom-client';
import { DEFAULT_MAX_CONNECTIONS } from './defaults.js';

export { DEFAULT_MAX_CONNECTIONS };
export const CONNECTIONS_OPEN = 'mesh_webhook_connections';
export const CONNECTIONS_CLOSED = 'mesh_webhook_connections_closed_total';

export type ClosedReason = 'evicted_idle' | 'refused_busy';

export interface ConnectionLimitOptions {
  /** Connections held at most; default {@link DEFAULT_MAX_CONNECTIONS}. */
  maxConnections?: number;
  /** Register `mesh_webhook_connections` and `mesh_webhook_connections_closed_total` here. */
  registry?: Registry;
  /** Where reaching the cap is logged (a warning at most every 5 s). */
  logger?: { warn(fields: object, message: string): void };
}

export interface ConnectionLimiter {
  state(): { open: number; closed: Record<ClosedReason, number> };
}

interface Entry {
  key: string;
  socket: Socket;
  /** Requests in progress on the connection (headers received, answer not yet finished). */
  busy: number;
}

const LOG_EVERY_MS = 5_000;

/** The identity of a connection that its TLS socket and the TCP socket under it share. */
function keyOf(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string | undefined {
  return socket.remoteAddress === undefined || socket.remotePort === undefined ? undefined : `${socket.remoteAddress}|${socket.remotePort}`;
}

/** Apply the cap to a server (HTTPS: its TCP connections, whether or not TLS has completed). */
export function limitConnections(server: Server, opts: ConnectionLimitOptions = {}): ConnectionLimiter {
  const max = Math.max(1, opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS);
  // Insertion order is age order: the first idle entry is the oldest idle connection.
  const open = new Map<string, Entry>();
  const closed: Record<ClosedReason, number> = { evicted_idle: 0, refused_busy: 0 };
  let lastLog = -Infinity;

  // A registry reused from an earlier server (tests) still holds that server's metrics: replace them.
  for (const name of [CONNECTIONS_CLOSED, CONNECTIONS_OPEN]) opts.registry?.removeSingleMetric(name);
  const metrics = opts.registry
    ? {
        closed: new Counter({
          name: CONNECTIONS_CLOSED,
          help: 'Connections closed because the connection cap was reached, by reason (evicted_idle: the oldest connection without a request in progress made room; refused_busy: every connection had a request in progress, the new one was closed).',
          labelNames: ['reason'] as const,
          registers: [opts.registry],
        }),
        open: new Gauge({
          name: CONNECTIONS_OPEN,
          help: 'Connections the admission listener holds now.',
          registers: [opts.registry],
          collect() {
            this.set(open.size);
          },
        }),
      }
    : undefined;
  for (const reason of ['evicted_idle', 'refused_busy'] as const) metrics?.closed.inc({ reason }, 0);

  const count = (reason: ClosedReason) => {
    closed[reason]++;
    metrics?.closed.inc({ reason });
    const now = performance.now();
    if (opts.logger && now - lastLog >= LOG_EVERY_MS) {
      lastLog = now;
      opts.logger.warn({ maxConnections: max, open: open.size, ...closed }, 'connection cap reached: closing connections without a request in progress');
    }
  };

  server.on('connection', (socket: Socket) => {
    const key = keyOf(socket);
    if (key === undefined) return; // already gone
    if (open.size >= max) {
      let victim: Entry | undefined;
      for (const entry of open.values()) {
        if (entry.busy === 0) {
          victim = entry;
          break;
        }
      }
      if (victim === undefined) {
        count('refused_busy');
        socket.destroy();
        return;
      }
      count('evicted_idle');
      open.delete(victim.key);
      victim.socket.destroy();
    }
    const entry: Entry = { key, socket, busy: 0 };
    open.set(key, entry);
    socket.once('close', () => {
      if (open.get(key) === entry) open.delete(key);
    });
  });

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const key = keyOf(req.socket);
    const entry = key === undefined ? undefined : open.get(key);
    if (!entry) return;
    entry.busy++;
    res.once('close', () => {
      entry.busy--;
    });
  });

  return { state: () => ({ open: open.size, closed: { ...closed } }) };
}
