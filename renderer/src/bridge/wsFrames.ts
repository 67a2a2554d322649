import { type EventName, eventNames } from '../../../shared/ipc/contract.js';
import type { Result } from '../../../shared/ipc/result.js';

/**
 * Frames the engine host sends: `{id, result}` answers a request, `{event, payload}` forwards an
 * engine event. Requests go the other way as `{id, channel, request}`.
 */
export type HostFrame =
  | { kind: 'result'; id: number; result: Result<unknown> }
  | { kind: 'event'; event: EventName; payload: unknown };

/** Parses one text frame from the host; anything malformed is ignored (returns null). */
export function parseHostFrame(text: string): HostFrame | null {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof data !== 'object' || data === null) return null;
  const frame = data as Record<string, unknown>;
  if (typeof frame.id === 'number' && isResult(frame.result)) return { kind: 'result', id: frame.id, result: frame.result };
  if (typeof frame.event === 'string' && (eventNames as string[]).includes(frame.event)) {
    return { kind: 'event', event: frame.event as EventName, payload: frame.payload };
  }
  return null;
}

function isResult(value: unknown): value is Result<unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as { ok?: unknown; error?: unknown };
  if (r.ok === true) return 'value' in r;
  return r.ok === false && typeof r.error === 'object' && r.error !== null;
}
