/**
 * Loggers of the drop server's modules. The server may run inside another program (the desktop
 * app), so its `logLevel` option filters only the server's own lines and leaves the host's level
 * alone. The shared logger still applies its own threshold and redaction.
 */
import { createLogger, logLevelPasses, type Logger, type LogLevel } from '../shared/log.js';

let threshold: LogLevel = 'info';

/** Sets the level of every server logger (the most recently started instance decides). */
export function setServerLogLevel(level: LogLevel): void {
  threshold = level;
}

export function createServerLogger(scope: string): Logger {
  const inner = createLogger(scope);
  const at =
    (level: Exclude<LogLevel, 'silent'>) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      if (logLevelPasses(level, threshold)) inner[level](msg, fields);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
