/**
 * How `serve` ends: the drain on SIGTERM, Ctrl-C, a second signal, and close().
 *
 * SIGTERM (or `shutdown()`): the server says it is shutting down at once (/readyz 503, `Connection: close`) and keeps
 * serving for the drain delay, so the endpoint is removed from the Service before the listener closes; then the
 * resources close (requests in flight finish) and `closed` settles. SIGINT (an interactive Ctrl-C) and a second signal
 * skip the rest of the delay. On a signal, if closing takes longer than {@link SHUTDOWN_TIMEOUT_MS} the process exits
 * with 1. The signal handlers are removed only once everything has closed: a second SIGTERM while requests finish
 * must not kill the process (the default action).
 */
import type { Logger } from 'pino';

/** After SIGTERM/SIGINT and the drain delay, in-flight requests get this long before the process exits anyway. */
export const SHUTDOWN_TIMEOUT_MS = 15_000;

export interface LifecycleOptions {
  logger: Logger;
  /** SIGTERM's drain delay (and shutdown()'s default). */
  shutdownDelayMs: number;
  /** Install SIGTERM/SIGINT handlers. */
  handleSignals: boolean;
  /** Called at the first step of any shutdown: the server stops saying it is ready. */
  onShuttingDown: () => void;
  /** Stop watching files and close the listeners, letting requests in flight finish. */
  closeResources: () => Promise<void>;
}

export interface Lifecycle {
  /** Not ready at once, serve on for `delayMs`, then close(). Idempotent; resolves when closed. */
  shutdown(delayMs?: number, onListenerClosing?: () => void): Promise<void>;
  /** Close now (cuts a running drain short). Idempotent. */
  close(): Promise<void>;
  /** Settles when closed; rejects when closing failed. */
  closed: Promise<void>;
}

export function startLifecycle(opts: LifecycleOptions): Lifecycle {
  const { logger } = opts;
  let resolveClosed: () => void = () => {};
  let rejectClosed: (err: unknown) => void = () => {};
  const closed = new Promise<void>((resolve, reject) => {
    resolveClosed = resolve;
    rejectClosed = reject;
  });
  closed.catch(() => {}); // observed by whoever awaits it; never an unhandled rejection

  // The drain: a timer and a way to end it early (close(), a second signal).
  let endDrain: (() => void) | undefined;
  let shutdownStarted: Promise<void> | undefined;
  let closing: Promise<void> | undefined;

  function close(): Promise<void> {
    if (closing) return closing;
    closing = (async () => {
      opts.onShuttingDown();
      endDrain?.();
      try {
        await opts.closeResources();
      } finally {
        if (opts.handleSignals) {
          process.removeListener('SIGTERM', onSignal);
          process.removeListener('SIGINT', onSignal);
        }
      }
    })();
    closing.then(resolveClosed, rejectClosed);
    return closing;
  }

  function shutdown(delayMs = opts.shutdownDelayMs, onListenerClosing?: () => void): Promise<void> {
    opts.onShuttingDown();
    shutdownStarted ??= (async () => {
      if (delayMs > 0 && closing === undefined) {
        logger.info({ drainMs: delayMs }, 'not ready; serving on until the drain delay has passed');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delayMs);
          endDrain = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      logger.info('closing the listener; waiting for requests in flight');
      onListenerClosing?.();
      await close();
      logger.info('shut down');
    })();
    return shutdownStarted;
  }

  function onSignal(signal: NodeJS.Signals): void {
    if (shutdownStarted) {
      logger.info({ signal }, 'signal received again; closing now');
      endDrain?.();
      return;
    }
    logger.info({ signal }, 'shutting down');
    let exitTimer: NodeJS.Timeout | undefined;
    // SIGINT is an interactive Ctrl-C: no point waiting for endpoints to be removed.
    shutdown(signal === 'SIGTERM' ? opts.shutdownDelayMs : 0, () => {
      // If in-flight requests do not finish in time, do not hang the pod's termination.
      exitTimer = setTimeout(() => {
        logger.error('graceful shutdown timed out; exiting');
        process.exit(1);
      }, SHUTDOWN_TIMEOUT_MS).unref();
    })
      .catch((err: unknown) => {
        logger.error({ err }, 'error while shutting down');
        process.exitCode = 1;
      })
      .finally(() => clearTimeout(exitTimer));
  }
  if (opts.handleSignals) {
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }

  return { shutdown, close, closed };
}
