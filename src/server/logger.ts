/**
 * The service's logger: pino JSON lines on stdout, written asynchronously.
 *
 * With pino's default (synchronous) destination every admission's log line is a write(2) on the request path. Here
 * the lines go through an asynchronous sonic-boom: a line is handed to the kernel at once when no write is under way,
 * and lines that arrive while one is (under load) are batched into the next write, so the request path only formats
 * its line. Nothing waits for a timer, so a line is never held back when the service is idle. At exit (including
 * `process.exit()` after a failed shutdown) pino flushes what is left synchronously.
 */
import { destination, pino, type Logger, type LevelWithSilent } from 'pino';

export function createServiceLogger(level: LevelWithSilent | string = 'info'): Logger {
  return pino({ level }, destination({ dest: 1, sync: false }));
}
