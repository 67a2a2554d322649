import { consoleLogWriter, createLogger, setLogWriter } from '../../shared/log.js';
import type { HostHandlers } from '../../shared/ipc/contract.js';
import { ApiFailure } from '../../shared/ipc/result.js';
import { type RotatingLogFile, type RotatingLogOptions, createRotatingLogFile } from './rotatingLogFile.js';

const log = createLogger('log');

/**
 * Sends every log line to the console as before and to the profile's rotating log file. The lines are
 * redacted by shared/log.ts before any writer sees them, so the file holds nothing the console would not.
 */
export function installLogFile(options: Omit<RotatingLogOptions, 'onProblem'>): RotatingLogFile {
  const file = createRotatingLogFile({
    ...options,
    onProblem: (reason) => log.warn('the log file is turned off: its folder cannot be written', { reason }),
  });
  setLogWriter((line, level) => {
    consoleLogWriter(line, level);
    file.write(line);
  });
  return file;
}

export interface DebugLogFacts {
  version: string;
  platform: string;
  arch: string;
  now?(): Date;
}

/** `logs/export`: the log files joined for a bug report, headed by what a reader asks first. */
export function debugLogExport(file: RotatingLogFile, facts: DebugLogFacts): Pick<HostHandlers, 'logs/export'> {
  return {
    'logs/export': async () => {
      const at = (facts.now ?? (() => new Date()))();
      let content: string;
      try {
        content = await file.read();
      } catch (err) {
        throw new ApiFailure('unavailable', `The log could not be read (${err instanceof Error ? err.message : 'unknown error'}). Try again, or restart Deaddrop.`);
      }
      const problem = file.problem();
      if (content === '' && problem !== null) {
        throw new ApiFailure(
          'unavailable',
          `No log was written: its folder cannot be written (${problem}). Start Deaddrop from a terminal to see the log there.`,
        );
      }
      const header =
        `Deaddrop ${facts.version} on ${facts.platform} ${facts.arch}, exported ${at.toISOString()}\n` +
        (problem === null ? '' : `The log file was turned off: ${problem}\n`) +
        '\n';
      const stamp = at.toISOString().slice(0, 19).replace(/[:T]/g, '-');
      return { fileName: `deaddrop-debug-${stamp}.log`, content: header + content };
    },
  };
}
