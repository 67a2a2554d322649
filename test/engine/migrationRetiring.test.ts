/** When a drop moved away from is read (drops/retiring.ts): normal rate for a week, then one window a day, then never. */
import { describe, expect, it } from 'vitest';
import { MOVE_FULL_RATE_MS, MOVE_OVERLAP_MS, TAIL_WINDOW_MS, isKept, isRead, nextChange, retiringSummary } from '../../electron/core/drops/retiring.js';

const DAY_MS = 24 * 3600_000;
const movedAt = Date.UTC(2026, 5, 1, 13, 17);
const moved = { url: 'https://a.example/d', until: movedAt + MOVE_OVERLAP_MS, movedAt };
const removed = { url: 'https://b.example/d', until: movedAt + 14 * DAY_MS };

describe('a drop moved away from', () => {
  it('is read at the normal rate for the first week, with no change before its first window ends', () => {
    for (const at of [movedAt, movedAt + DAY_MS, movedAt + MOVE_FULL_RATE_MS - 1]) {
      expect(isRead(moved, at)).toBe(true);
      expect(nextChange(moved, at)).toBe(movedAt + MOVE_FULL_RATE_MS + TAIL_WINDOW_MS);
    }
  });

  it('is then read during one window a day, and the poller hears of every edge', () => {
    const tail = movedAt + MOVE_FULL_RATE_MS;
    expect(isRead(moved, tail + TAIL_WINDOW_MS - 1)).toBe(true);
    expect(isRead(moved, tail + TAIL_WINDOW_MS)).toBe(false);
    expect(nextChange(moved, tail + TAIL_WINDOW_MS)).toBe(tail + DAY_MS);
    expect(isRead(moved, tail + DAY_MS)).toBe(true);
    expect(nextChange(moved, tail + DAY_MS + 10)).toBe(tail + DAY_MS + TAIL_WINDOW_MS);
    // Read about an hour a day: over the tail, 23 windows of the 30-day overlap's last 23 days.
    let readHours = 0;
    for (let at = tail; at < moved.until; at += 600_000) if (isRead(moved, at)) readHours += 1 / 6;
    expect(Math.round(readHours)).toBe(Math.round((MOVE_OVERLAP_MS - MOVE_FULL_RATE_MS) / DAY_MS));
  });

  it('is kept (cursor, trusted server) between windows and dropped at its retire date', () => {
    const between = movedAt + MOVE_FULL_RATE_MS + 5 * DAY_MS + 2 * TAIL_WINDOW_MS;
    expect(isRead(moved, between)).toBe(false);
    expect(isKept(moved, between)).toBe(true);
    expect(nextChange(moved, moved.until - 1)).toBe(moved.until);
    expect(isKept(moved, moved.until)).toBe(false);
    expect(isRead(moved, moved.until)).toBe(false);
    expect(nextChange(moved, moved.until)).toBeNull();
    expect(retiringSummary(moved)).toEqual({ url: moved.url, retireAt: moved.until, movedAt, dailyFrom: movedAt + MOVE_FULL_RATE_MS });
  });
});

describe('a move every contact confirmed', () => {
  it('is read once a day from the confirmation on, and never later than a week after the move', () => {
    const confirmedAt = movedAt + 2 * DAY_MS;
    const confirmed = { ...moved, confirmedAt };
    expect(isRead(confirmed, confirmedAt + TAIL_WINDOW_MS - 1)).toBe(true);
    expect(isRead(confirmed, confirmedAt + TAIL_WINDOW_MS)).toBe(false);
    expect(isRead(confirmed, confirmedAt + DAY_MS)).toBe(true);
    expect(nextChange(confirmed, movedAt + DAY_MS)).toBe(confirmedAt + TAIL_WINDOW_MS);
    expect(retiringSummary(confirmed).dailyFrom).toBe(confirmedAt);
    expect(retiringSummary({ ...moved, confirmedAt: movedAt + 9 * DAY_MS }).dailyFrom).toBe(movedAt + MOVE_FULL_RATE_MS);
  });
});

describe('a removed drop', () => {
  it('is read at the normal rate until its time is up', () => {
    expect(isRead(removed, removed.until - 1)).toBe(true);
    expect(nextChange(removed, movedAt)).toBe(removed.until);
    expect(isRead(removed, removed.until)).toBe(false);
    expect(retiringSummary(removed)).toEqual({ url: removed.url, retireAt: removed.until, movedAt: null, dailyFrom: null });
  });
});
