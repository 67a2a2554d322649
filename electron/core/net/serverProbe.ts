/**
 * Is there a drop server at this address? Asked before the user puts a drop there: a HEAD on a fresh
 * random drop ID (PROTOCOL.md section 2), which a drop server answers with 204 (an empty drop), or
 * with 200/304 and its `X-Qabel-Latest` header. A web server that answers 200 to anything, without
 * that header, is not one.
 */
import type { ResponseOf } from '../../../shared/ipc/contract.js';
import { formatDropUrl, generateDropId } from '../../../shared/protocol/dropId.js';
import { ApiFailure } from '../../../shared/ipc/result.js';
import { DropRequestError } from './dropClient.js';
import type { Network } from './network.js';

export type ProbeAnswer = ResponseOf<'servers/probe'>;

/** @throws ApiFailure 'bad_input' when `serverUrl` is no server address a drop URL can be made of */
export async function probeDropServer(network: Network, serverUrl: string): Promise<ProbeAnswer> {
  let dropUrl: string;
  try {
    dropUrl = formatDropUrl(serverUrl, generateDropId());
  } catch (err) {
    throw new ApiFailure('bad_input', err instanceof Error ? err.message : 'This is not a server address.');
  }
  try {
    const { hasNew, latest } = await network.asOwnServer(serverUrl, () => network.client.probe(dropUrl, null));
    if (hasNew && latest === null) return { outcome: 'notDropServer', detail: 'The server answered HEAD with 200 but without the X-Qabel-Latest header of a drop.' };
    return { outcome: 'dropServer', detail: null };
  } catch (err) {
    return { outcome: outcomeOf(err), detail: err instanceof Error ? err.message : 'unknown error' };
  }
}

function outcomeOf(err: unknown): ProbeAnswer['outcome'] {
  if (!(err instanceof DropRequestError)) return 'unreachable';
  if (err.kind === 'refused') return 'refused';
  if (err.kind === 'network' || err.kind === 'timeout') return 'unreachable';
  if (err.kind === 'http' && err.status !== undefined && (err.status >= 500 || err.status === 429)) return 'trouble';
  return 'notDropServer';
}
