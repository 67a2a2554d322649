import { describe, expect, it } from 'vitest';
import type { MessageRecord } from '../db/records.js';
import { GROUP_GAP_MS, continuesGroup, groupPosition } from './messageGroups.js';

const noon = new Date(2024, 4, 10, 12, 0).getTime();
const at = (sortAt: number, direction: 'in' | 'out' = 'in') => ({ direction, sortAt }) as MessageRecord;

describe('message groups', () => {
  it('joins messages of one sender a short while apart on one day', () => {
    expect(continuesGroup(at(noon), at(noon + 1_000))).toBe(true);
    expect(continuesGroup(at(noon), at(noon + GROUP_GAP_MS))).toBe(true);
    expect(continuesGroup(at(noon), at(noon + GROUP_GAP_MS + 1))).toBe(false);
    expect(continuesGroup(at(noon, 'in'), at(noon + 1_000, 'out'))).toBe(false);
    const beforeMidnight = new Date(2024, 4, 10, 23, 59, 30).getTime();
    expect(continuesGroup(at(beforeMidnight), at(beforeMidnight + 60_000))).toBe(false);
    // A neighbour still loading ends the group for now.
    expect(continuesGroup(undefined, at(noon))).toBe(false);
  });

  it('never joins a line about a change to a bubble', () => {
    const line = { ...at(noon + 1_000), kind: 'event' } as MessageRecord;
    expect(continuesGroup({ ...at(noon), kind: 'text' } as MessageRecord, line)).toBe(false);
    expect(continuesGroup(line, { ...at(noon + 2_000), kind: 'text' } as MessageRecord)).toBe(false);
  });

  it('names each position', () => {
    expect([groupPosition(false, false), groupPosition(false, true), groupPosition(true, true), groupPosition(true, false)]).toEqual([
      'single', 'first', 'middle', 'last',
    ]);
  });
});
