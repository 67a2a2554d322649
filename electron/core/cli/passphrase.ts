/** The CLI's passphrase: `DEADDROP_PASSPHRASE`, else a prompt on the terminal (not echoed), else one stdin line. */
import { createInterface } from 'node:readline';
import { CliError } from './cliError.js';

export async function readPassphrase(prompt: string): Promise<string> {
  const fromEnv = process.env['DEADDROP_PASSPHRASE'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const line = await readLine(prompt, Boolean(process.stdin.isTTY));
  if (!line) throw new CliError('No passphrase given (set DEADDROP_PASSPHRASE or type it at the prompt).');
  return line;
}

function readLine(prompt: string, hidden: boolean): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: hidden });
    if (hidden) {
      process.stderr.write(prompt);
      // Swallow the echo of typed characters; the prompt itself was written above.
      (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => undefined;
    }
    let answered = false;
    rl.once('line', (line) => {
      answered = true;
      if (hidden) process.stderr.write('\n');
      rl.close();
      resolve(line);
    });
    rl.once('close', () => {
      if (!answered) resolve('');
    });
  });
}
