/**
 * The engine's state file as read from disk (stateStore.ts writes it): parsed and checked against the
 * schema, so a corrupt or foreign file stops the engine with a clear error and is never overwritten;
 * and the state a first unlock starts with when there is no file yet.
 */
import { readFile } from 'node:fs/promises';
import { ApiFailure } from '../../../shared/ipc/result.js';
import { type EngineState, STATE_FORMAT, STATE_VERSION, defaultSettings, stateSchema } from './stateSchema.js';

/**
 * The state in the file at `path`, still sealed; null when there is no file.
 * @throws ApiFailure 'unavailable' when it cannot be read, 'bad_input' when it is not a readable Deaddrop state file.
 */
export async function readStateFile(path: string): Promise<EngineState | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ApiFailure('unavailable', `The engine state file ${path} cannot be read (${(err as Error).message}).`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw corrupt(path, 'it is not valid JSON');
  }
  const parsed = stateSchema.safeParse(json);
  if (!parsed.success) {
    const foreign = (json as { format?: unknown } | null)?.format !== STATE_FORMAT;
    throw corrupt(path, foreign ? 'it is not a Deaddrop engine state file' : 'its contents are damaged');
  }
  return parsed.data;
}

/** The state of a first unlock: nothing but the data key, sealed as `keyWrap`. */
export function freshState(keyWrap: string): EngineState {
  return {
    format: STATE_FORMAT,
    version: STATE_VERSION,
    keyWrap,
    identities: [],
    cursors: {},
    settings: defaultSettings,
    outbox: {},
    receipts: [],
    seen: [],
    sessionCounters: {},
    serverHealth: {},
  };
}

/** The error for a state file that cannot be used: it is left as it is. */
export function corrupt(path: string, why: string): ApiFailure {
  return new ApiFailure('bad_input', `The engine state file ${path} cannot be used: ${why}. It was left untouched; move it away to start afresh.`);
}
