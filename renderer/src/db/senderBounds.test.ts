import { describe, expect, it } from 'vitest';
import { MAX_TEXT_PARTS } from '../../../shared/protocol/message.js';
import { DroppedKeys, isAccepted, maxPendingParts, unstoredRequestsKey } from './senderBounds.js';

describe('sender bounds', () => {
  it('treat only accepted and verified contacts as accepted, and let them keep four longest texts arriving', () => {
    expect(['accepted', 'verified'].every((s) => isAccepted(s as never))).toBe(true);
    expect(['unknown', 'ignored', 'blocked'].some((s) => isAccepted(s as never))).toBe(false);
    expect(maxPendingParts('verified')).toBe(4 * MAX_TEXT_PARTS);
    expect(maxPendingParts('unknown')).toBe(MAX_TEXT_PARTS);
    expect(unstoredRequestsKey('id-1')).not.toBe(unstoredRequestsKey('id-2'));
  });

  it('remember a dropped message once per identity, and forget the oldest beyond as many as a poll brings', () => {
    const keys = new DroppedKeys();
    expect(keys.remember('me', 'k1')).toBe(true);
    expect(keys.remember('me', 'k1')).toBe(false);
    expect(keys.remember('other', 'k1')).toBe(true);
    for (let i = 0; i < 20_000; i++) keys.remember('me', `flood-${i}`);
    expect(keys.remember('me', 'flood-19999')).toBe(false);
    expect(keys.remember('me', 'k1')).toBe(true);
  });
});
