/**
 * The service's logger: pino JSON lines on stdout, written asynchronously; human-readable lines when stdout is a
 * terminal (someone running `serve` by hand), through pino-pretty.
 *
 * With pino's default (synchronous) destination every admission's log line is a write(2) on the request path. Here
 * the lines go through an asynchronous sonic-boom that collects them and writes {@link LOG_BUFFER_BYTES} at a time,
 * and whatever it holds at least every {@link LOG_FLUSH_MS}: a write per line (each a trip through libuv's thread
 * pool) cost 30–40 µs of CPU per admission, a batched one 13 µs (bench/RESULTS.md, "Against the payload floor").
 * So a line reaches stdout at most {@link LOG_FLUSH_MS} late. At exit (a signal's shutdown, `process.exit()` after a
 * failed one, an uncaught error) pino writes what is left synchronously; only a SIGKILL (an OOM kill) loses the lines
 * of the last moments, as it would lose writes still in flight.
 *
 * In a pod, a pipe or a file stdout is not a terminal, so the lines stay JSON for the log collector; pino-pretty is
 * loaded only for a terminal.
 */
import { createRequire } from 'node:module';
import { destination, pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type LogFormat = 'json' | 'pretty';

/** `pretty` when stdout is a terminal, else `json`. */
export function defaultLogFormat(stdout: { isTTY?: boolean } = process.stdout): LogFormat {
  return stdout.isTTY === true ? 'pretty' : 'json';
}

function prettyStream(): DestinationStream {
  const require = createRequire(import.meta.url);
  const pretty = require('pino-pretty') as (options: Record<string, unknown>) => DestinationStream;
  // Synchronous: a terminal is a person reading, not a request path under load.
  return pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', sync: true });
}

/** Lines are written in batches of about this many bytes (about 16 admission lines)... */
export const LOG_BUFFER_BYTES = 4096;
/** ...and at least this often, so a quiet service's lines are not held back. */
export const LOG_FLUSH_MS = 250;

export function createServiceLogger(level: LevelWithSilent | string = 'info', format: LogFormat = defaultLogFormat()): Logger {
  return pino({ level }, format === 'pretty' ? prettyStream() : destination({ dest: 1, sync: false, minLength: LOG_BUFFER_BYTES, periodicFlush: LOG_FLUSH_MS }));
}
