/**
 * The service's logger: pino JSON lines on stdout, written asynchronously; human-readable lines when stdout is a
 * terminal (someone running `serve` by hand), through pino-pretty.
 *
 * With pino's default (synchronous) destination every admission's log line is a write(2) on the request path. Here
 * the lines go through an asynchronous sonic-boom: a line is handed to the kernel at once when no write is under way,
 * and lines that arrive while one is (under load) are batched into the next write, so the request path only formats
 * its line. Nothing waits for a timer, so a line is never held back when the service is idle. At exit (including
 * `process.exit()` after a failed shutdown) pino flushes what is left synchronously.
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

export function createServiceLogger(level: LevelWithSilent | string = 'info', format: LogFormat = defaultLogFormat()): Logger {
  return pino({ level }, format === 'pretty' ? prettyStream() : destination({ dest: 1, sync: false }));
}
