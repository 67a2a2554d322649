/** The CLI's passphrase: `DEADDROP_PASSPHRASE`, else a prompt on the terminal (not echoed), else lines on stdin. */
import { createInterface } from 'node:readline';
import { MIN_PASSPHRASE_LENGTH } from '../../../shared/protocol/passphrasePolicy.js';
import { CliError } from './cliError.js';

const fromEnvironment = (): string | null => {
  const value = process.env['DEADDROP_PASSPHRASE'];
  return value !== undefined && value !== '' ? value : null;
};

/** The passphrase of an existing file. */
export async function readPassphrase(prompt: string): Promise<string> {
  const fromEnv = fromEnvironment();
  if (fromEnv !== null) return fromEnv;
  const [line] = await readLines([prompt]);
  if (!line) throw new CliError('No passphrase given (set DEADDROP_PASSPHRASE or type it at the prompt).');
  return line;
}

/**
 * A new passphrase: from the environment once, or typed twice at the prompt (a typo would lock the
 * file for good). Refuses a mismatch and one shorter than the minimum.
 */
export async function readNewPassphrase(prompt: string): Promise<string> {
  let passphrase = fromEnvironment();
  if (passphrase === null) {
    const [first, second] = await readLines([prompt, 'Type it again: ']);
    if (!first) throw new CliError('No passphrase given (set DEADDROP_PASSPHRASE or type it at the prompt).');
    if (first !== second) throw new CliError('The two passphrases differ; nothing was written. Run the command again.');
    passphrase = first;
  }
  if (passphrase.length < MIN_PASSPHRASE_LENGTH) {
    throw new CliError(`The passphrase must be at least ${MIN_PASSPHRASE_LENGTH} characters long; choose a longer one.`);
  }
  return passphrase;
}

/** One line per prompt from one reader (piped input may hold them all at once); '' for each line missing. */
function readLines(prompts: string[]): Promise<string[]> {
  const hidden = Boolean(process.stdin.isTTY);
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: hidden });
    const lines: string[] = [];
    const ask = () => {
      if (hidden) process.stderr.write(prompts[lines.length]!);
    };
    if (hidden) {
      // Swallow the echo of typed characters; the prompt itself is written by `ask`.
      (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => undefined;
    }
    const finish = () => resolve(prompts.map((_, i) => lines[i] ?? ''));
    rl.on('line', (line) => {
      if (hidden) process.stderr.write('\n');
      lines.push(line);
      if (lines.length === prompts.length) rl.close();
      else ask();
    });
    rl.once('close', finish);
    ask();
  });
}
