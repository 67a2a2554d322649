import type { ResponseOf } from '../../../shared/ipc/contract.js';
import { describeServerProblem, serverName } from '../settings/serverProblem.js';

/**
 * What a failed drop server check (`servers/probe`) means, in words, with what to check. Null for a
 * drop server: nothing to say.
 */
export function serverProbeProblem(serverUrl: string, { outcome, detail }: ResponseOf<'servers/probe'>): string | null {
  const name = serverName(serverUrl);
  switch (outcome) {
    case 'dropServer':
      return null;
    case 'unreachable':
      return `No drop server answered at ${name}. ${sentence(describeServerProblem(detail))}`;
    case 'notDropServer':
      return `${name} answered, but not as a drop server. Check the address and its path (some servers keep their drops under a path, like /drop).`;
    case 'trouble':
      return `The server at ${name} has trouble at the moment.`;
    case 'refused':
      return `Your safety settings do not let Deaddrop contact ${name}. ${sentence(describeServerProblem(detail))}`;
  }
}

function sentence(words: string): string {
  return `${words.charAt(0).toUpperCase()}${words.slice(1)}.`;
}
