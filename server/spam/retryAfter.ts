import { DAY_MS } from '../../shared/spam/day.js';

/** `Retry-After` seconds until the next UTC day, when a drop's introduction quota starts afresh. */
export function nextDayRetryAfter(nowMs: number): string {
  return String(Math.ceil((DAY_MS - (nowMs % DAY_MS)) / 1000));
}
