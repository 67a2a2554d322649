/**
 * `deaddrop-server`: parses flags, starts the server, prints `listening on <url>` as the first line
 * on stdout, and shuts down cleanly on SIGTERM/SIGINT. Errors are one line, never a stack trace.
 */
import { createLogger, setLogLevel } from '../shared/log.js';
import { parseCli, USAGE } from './config/cliArgs.js';
import { resolveOptions, type DropServerOptions } from './config/options.js';
import { PortInUseError, startDropServer } from './dropServer.js';

const log = createLogger('server');

function fail(message: string): never {
  process.stderr.write(`deaddrop-server: ${message}\n`);
  process.exit(2);
}

function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return describe(error.errors[0]);
  if (error instanceof PortInUseError) return error.message;
  const e = error as NodeJS.ErrnoException;
  if (e.code === 'EADDRINUSE') return 'the port is already in use';
  if (e.code === 'EACCES') return 'no permission to listen on that port';
  if (e.code === 'ECONNREFUSED') return 'cannot connect to the database (connection refused)';
  return e.message ? e.message.split('\n')[0]! : String(error);
}

async function main(): Promise<void> {
  let options: DropServerOptions;
  try {
    const command = parseCli(process.argv.slice(2), process.env);
    if (command.kind === 'help') {
      process.stdout.write(USAGE);
      return;
    }
    options = resolveOptions(command.options);
  } catch (error) {
    fail(describe(error));
  }
  setLogLevel(options.logLevel);
  let server;
  try {
    server = await startDropServer(options);
  } catch (error) {
    fail(`cannot start: ${describe(error)}`);
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    server.close().then(
      () => process.exit(0),
      (error: unknown) => fail(`error while shutting down: ${describe(error)}`),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Printed only now: whoever waits for this line may signal the process right after reading it.
  process.stdout.write(`listening on ${server.url}\n`);
  log.info('started', {
    store: options.db.startsWith('sqlite:') ? 'sqlite' : 'postgres',
    maxMessageBytes: options.maxMessageBytes,
    ttlSeconds: options.ttlSeconds,
    quotaBytes: options.quotaBytes,
    accessTokens: options.tokens.length,
  });
}

void main();
