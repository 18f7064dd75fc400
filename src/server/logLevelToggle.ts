/**
 * What SIGUSR2 does to `serve`'s logger: switch between the configured level and debug (or info, when debug or trace
 * is the configured level), logging the change at info while the more verbose of the two is in force, so the line is
 * seen either way. Returns the new level.
 */
import type { Logger } from 'pino';

export function logLevelToggle(logger: Logger): () => string {
  const configuredLevel = logger.level;
  const alternateLevel = configuredLevel === 'debug' || configuredLevel === 'trace' ? 'info' : 'debug';
  return () => {
    const next = logger.level === alternateLevel ? configuredLevel : alternateLevel;
    const line = { from: logger.level, to: next, configured: configuredLevel };
    if (next === 'debug' || next === 'trace') {
      logger.level = next;
      logger.info(line, 'log level changed (SIGUSR2)');
    } else {
      logger.info(line, 'log level changed (SIGUSR2)');
      logger.level = next;
    }
    return next;
  };
}
