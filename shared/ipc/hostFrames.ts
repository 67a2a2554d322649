/**
 * The frames of the WebSocket host (the engine served to a browser page), one JSON text frame each:
 * the page sends `{id, channel, request}`; the host answers `{id, result}` and forwards every event as
 * `{event, payload}`. Both sides encode and parse with these functions, so the format exists once.
 */
import { isEventName } from './channels.js';
import type { AppEvent } from './contract.js';
import type { Result } from './result.js';

/** A call from the page; `channel` and `request` are untrusted until `dispatch` checks them. */
export interface RequestFrame {
  id: number;
  channel: unknown;
  request: unknown;
}

/** What the page receives from the host. */
export type HostFrame = { kind: 'result'; id: number; result: Result<unknown> } | { kind: 'event'; event: AppEvent };

export function encodeRequest(id: number, channel: string, request: unknown): string {
  return JSON.stringify({ id, channel, request });
}

export function encodeResult(id: number, result: Result<unknown>): string {
  return JSON.stringify({ id, result });
}

export function encodeEvent({ event, payload }: AppEvent): string {
  return JSON.stringify({ event, payload });
}

/** Parses a call from the page; anything malformed is ignored (null). */
export function parseRequestFrame(text: string): RequestFrame | null {
  const frame = parseObject(text);
  if (!frame || typeof frame.id !== 'number') return null;
  return { id: frame.id, channel: frame.channel, request: frame.request };
}

/**
 * Parses one frame from the host; anything malformed or an unknown event is ignored (null). Event
 * payloads come from our own engine and are not checked field by field.
 */
export function parseHostFrame(text: string): HostFrame | null {
  const frame = parseObject(text);
  if (!frame) return null;
  if (typeof frame.id === 'number' && isResult(frame.result)) return { kind: 'result', id: frame.id, result: frame.result };
  if (isEventName(frame.event)) return { kind: 'event', event: { event: frame.event, payload: frame.payload } as AppEvent };
  return null;
}

function parseObject(text: string): Record<string, unknown> | null {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return null;
  }
  return typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : null;
}

function isResult(value: unknown): value is Result<unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as { ok?: unknown; error?: unknown };
  if (r.ok === true) return 'value' in r;
  return r.ok === false && isApiError(r.error);
}

/** The UI shows `message` and branches on `code`: a failure with anything else there is not one. */
function isApiError(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as { code?: unknown; message?: unknown };
  return typeof e.code === 'string' && typeof e.message === 'string';
}
