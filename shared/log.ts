/**
 * Scoped logger. Keys, message text and drop IDs never reach a log line: callers pass only
 * non-secret facts, and `redact` masks anything that looks like a drop ID or a key on the way out.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };
/** Every level, least severe first (for flags and settings that name one). */
export const LOG_LEVELS = Object.keys(order) as readonly LogLevel[];

/** Whether a line of `level` passes a `threshold`. */
export function logLevelPasses(level: LogLevel, threshold: LogLevel): boolean {
  return order[level] >= order[threshold];
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export type LogWriter = (line: string, level: LogLevel) => void;

/** The default writer: warnings and errors to stderr, the rest to stdout. A host adds its own beside it. */
export const consoleLogWriter: LogWriter = (line, level) =>
  // eslint-disable-next-line no-console -- the logger is the one place that writes to the console
  level === 'error' || level === 'warn' ? console.error(line) : console.log(line);

let threshold: LogLevel = 'info';
let writer: LogWriter = consoleLogWriter;

export function setLogLevel(level: LogLevel): void {
  threshold = level;
}
export function setLogWriter(next: LogWriter): void {
  writer = next;
}

const dropIdLike = /[-_A-Za-z0-9]{43}(?![-_A-Za-z0-9])/g;
const hexKeyLike = /\b[0-9a-fA-F]{64}\b/g;

/** Masks drop IDs (43 base64url chars) and 32-byte hex keys in a string. */
export function redact(text: string): string {
  return text.replace(hexKeyLike, '[key]').replace(dropIdLike, '[drop]');
}

export function createLogger(scope: string): Logger {
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (!logLevelPasses(level, threshold)) return;
    const extra = fields ? ' ' + JSON.stringify(fields) : '';
    writer(redact(`${new Date().toISOString()} ${level} [${scope}] ${msg}${extra}`), level);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}
