/**
 * `deaddrop`: the command-line client. Parses flags, runs one command, prints a one-line error and
 * exits non-zero on any failure (2 for usage errors).
 */
import { parseArgs } from 'node:util';
import { setLogLevel } from '../../../shared/log.js';
import { CliError } from './cliError.js';
import { type Print, fetchMessages, idCard, idNew, send } from './commands.js';

/** Seconds `send` waits for the drop to take the message (stamps and retries included). */
export const DEFAULT_SEND_TIMEOUT_S = 300;

export const USAGE = `usage:
  deaddrop id new --alias NAME --server URL --out FILE.qid [--bits N]
  deaddrop id card --id FILE.qid [--qco OUT.qco]
  deaddrop send --id FILE.qid --to CONTACT --text TEXT [--timeout SECONDS]
  deaddrop send --id FILE.qid --to CONTACT --file PATH [--text CAPTION] [--timeout SECONDS]
      (CONTACT: a .qco file, or a QABELCONTACT or DEADDROP1 contact code)
  deaddrop fetch --id FILE.qid [--since TOKEN] [--json] [--contacts FILE.qco ...] [--download-dir DIR]
The passphrase of FILE.qid comes from DEADDROP_PASSPHRASE or a prompt.
send reports on stderr what it waits for (proof of work a drop asks for, retries and why) and gives up
after --timeout seconds (default ${DEFAULT_SEND_TIMEOUT_S}; a file's upload counts too), or at once when the
drop will not take the message before then.
The command-line client keeps nothing between runs, so it speaks protocol version 0 only: its cards
carry no prekey and its messages do not offer forward secrecy, so apps write to it in version 0.
fetch prints the messages newer than TOKEN (all without --since) and ends with "cursor TOKEN": pass that as
--since next time, so old messages are neither shown nor answered again. It answers the receipts messages
ask for only when their sender is in a --contacts file (repeatable), at the drop URLs that file gives;
the others are withheld, and stderr says so. With --download-dir it downloads the files that senders in a
--contacts file announce, checked and decrypted, into DIR (never replacing a file there), and prints
"file KEY PATH" for each.`;

type Options = NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>['options']>;

/**
 * The flags of one command. Node's own parse errors speak of "ambiguous arguments"; they are turned
 * into what to type instead, naming the flag.
 */
function flags<T extends Options>(args: string[], options: T, required: string[]) {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args, options: { ...options, help: { type: 'boolean' } }, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new CliError(flagError(err as Error & { code?: string }, args), 2);
  }
  if (values['help']) return null;
  for (const name of required) if (typeof values[name] !== 'string' || values[name] === '') throw new CliError(`--${name} is required.`, 2);
  return values as Record<string, string | boolean | undefined>;
}

function flagError(err: Error & { code?: string }, args: string[]): string {
  const flag = /'(-[^']*)'/.exec(err.message)?.[1];
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag !== undefined) {
    const value = args[args.indexOf(flag) + 1];
    if (value === undefined) return `${flag} needs a value.`;
    if (value.startsWith('--')) return `${flag} needs a value, but ${value} follows it; write ${flag}=VALUE for a value that starts with "-".`;
    return `${flag} ${value}: a value that starts with "-" is written ${flag}=${value}.`;
  }
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag !== undefined) return `Unknown flag ${flag}. Try --help.`;
  if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `Unexpected argument ${/'([^']*)'/.exec(err.message)?.[1] ?? ''}: every value follows its flag (--flag VALUE). Try --help.`;
  return err.message.split('\n')[0]!;
}

function bitsFrom(text: string | undefined): number {
  if (text === undefined) return 256;
  const bits = Number(text);
  if (!/^\d+$/.test(text) || bits < 1 || bits > 256) throw new CliError('--bits must be a whole number from 1 to 256.', 2);
  return bits;
}

const MAX_SEND_TIMEOUT_S = 24 * 3600;

function timeoutFrom(text: string | undefined): number {
  if (text === undefined) return DEFAULT_SEND_TIMEOUT_S * 1000;
  const seconds = Number(text);
  if (!/^\d+$/.test(text) || seconds < 1 || seconds > MAX_SEND_TIMEOUT_S) throw new CliError(`--timeout must be a whole number of seconds from 1 to ${MAX_SEND_TIMEOUT_S}.`, 2);
  return seconds * 1000;
}

async function run(argv: string[], print: Print, note: Print): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') return print(USAGE);
  const str = { type: 'string' } as const;
  if (command === 'id') {
    const [sub, ...args] = rest;
    if (sub === 'new') {
      const v = flags(args, { alias: str, server: str, out: str, bits: str }, ['alias', 'server', 'out']);
      if (!v) return print(USAGE);
      return idNew({ alias: v['alias'] as string, server: v['server'] as string, out: v['out'] as string, bits: bitsFrom(v['bits'] as string | undefined) }, print);
    }
    if (sub === 'card') {
      const v = flags(args, { id: str, qco: str }, ['id']);
      if (!v) return print(USAGE);
      return idCard({ id: v['id'] as string, qco: v['qco'] as string | undefined }, print);
    }
    throw new CliError(`Unknown command "id ${sub ?? ''}". Try --help.`, 2);
  }
  if (command === 'send') {
    const v = flags(rest, { id: str, to: str, text: str, file: str, timeout: str }, ['id', 'to']);
    if (!v) return print(USAGE);
    const text = v['text'] as string | undefined;
    const file = v['file'] as string | undefined;
    if (file === undefined && (text === undefined || text === '')) throw new CliError('--text or --file is required.', 2);
    const timeoutMs = timeoutFrom(v['timeout'] as string | undefined);
    return send({ id: v['id'] as string, to: v['to'] as string, text, file, timeoutMs }, print, note);
  }
  if (command === 'fetch') {
    const v = flags(rest, { id: str, since: str, json: { type: 'boolean' }, contacts: { type: 'string', multiple: true }, 'download-dir': str }, ['id']);
    if (!v) return print(USAGE);
    const contacts = (v['contacts'] as unknown as string[] | undefined) ?? [];
    const downloadDir = v['download-dir'] as string | undefined;
    return fetchMessages({ id: v['id'] as string, since: v['since'] as string | undefined, json: v['json'] === true, contacts, downloadDir }, print, note);
  }
  throw new CliError(`Unknown command "${command}". Try --help.`, 2);
}

/** Runs the CLI; resolves with the process exit code. */
export async function main(argv: string[]): Promise<number> {
  setLogLevel('silent');
  // A reader that stops early (`deaddrop fetch | head`) closes the pipe: the rest is not wanted, and
  // that is no error. Printing stops; the command finishes and exits 0.
  let stdoutClosed = false;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    stdoutClosed = true;
    if (error.code !== 'EPIPE') process.stderr.write(`deaddrop: cannot write the output (${error.code ?? error.message})\n`);
  });
  const print = (line: string) => void (stdoutClosed || process.stdout.write(line + '\n'));
  const note = (line: string) => void process.stderr.write(`deaddrop: ${line}\n`);
  try {
    await run(argv, print, note);
    return 0;
  } catch (err) {
    const message = err instanceof Error ? err.message : 'Unexpected error';
    process.stderr.write(`deaddrop: ${message.split('\n')[0]}\n`);
    return err instanceof CliError ? err.exitCode : 1;
  }
}
