/**
 * A message whose every copy was lost, re-posted (the same bytes, PROTOCOL-V1.md 1c "Reliability (ARQ)")
 * after the conversation went on for more round trips than the receiver keeps whole epochs for. The
 * fault simulator's version-1 run found it: a copy the lossy server said 200 to and forgot, the other
 * copy's server down, the re-post 3.5 days later, and the receiver had ratcheted past the message's
 * epoch by then, so its skipped seed went with the epoch and the re-post could never be opened.
 */
import { describe, expect, it } from 'vitest';
import { MAX_SKIPPED, SKIPPED_LIFETIME_MS, W, type SessionState, openSession, seal, skippedCount, tagsOf } from '../../electron/core/v1/session.js';
import { establish, sealed, text, textOf } from './helpers.js';

const NOW = 1_000_000;
const HOUR_MS = 3600_000;

function opened(result: ReturnType<typeof openSession>): Extract<NonNullable<ReturnType<typeof openSession>>, { state: unknown }> {
  if (!result || !('state' in result)) throw new Error(`expected a message, got ${JSON.stringify(result)}`);
  return result;
}

/** Bob writes, Alice answers: one round trip, each side one ratchet step (a new epoch). */
function roundTrip(alice: SessionState, bob: SessionState, i: number, at: number): { alice: SessionState; bob: SessionState } {
  const fromBob = sealed(seal(bob, text(`bob ${i}`), { copies: 2 }, at));
  alice = opened(openSession(alice, fromBob.pdus[0]!, at)).state;
  const fromAlice = sealed(seal(alice, text(`alice ${i}`), { copies: 2 }, at));
  bob = opened(openSession(fromBob.state, fromAlice.pdus[1]!, at)).state;
  return { alice: fromAlice.state, bob };
}

describe('a re-posted Session PDU after the conversation moved on', () => {
  it('opens once, however many round trips came between, while its skipped seed lives (14 days)', () => {
    let { alice, bob } = establish(NOW);
    ({ alice, bob } = roundTrip(alice, bob, 0, NOW));
    // Both copies of Bob's "lost" go nowhere; his next message arrives and leaves its seed skipped.
    const lost = sealed(seal(bob, text('lost'), { copies: 2 }, NOW));
    const after = sealed(seal(lost.state, text('after'), { copies: 2 }, NOW));
    alice = opened(openSession(alice, after.pdus[0]!, NOW)).state;
    bob = after.state;
    expect(skippedCount(alice)).toBe(1);
    // Ten round trips in the 3.5 days until the re-post: ten epochs on each side.
    for (let i = 1; i <= 10; i++) ({ alice, bob } = roundTrip(alice, bob, i, NOW + i * HOUR_MS));
    const repostAt = NOW + 84 * HOUR_MS;
    const got = opened(openSession(alice, lost.pdus[1]!, repostAt));
    expect(textOf(got.body.content)).toBe('lost');
    alice = got.state;
    // Shown once: the other copy (a later re-post) is not a message again, and the old epoch is gone.
    const again = openSession(alice, lost.pdus[0]!, repostAt);
    expect(again === null || 'duplicate' in again).toBe(true);
    expect(alice.recv.length).toBe(3);
    expect(skippedCount(alice)).toBe(0);
  });

  it('still forgets a skipped seed after 14 days, and keeps within 3W seeds and 4·W·k tags', () => {
    let { alice, bob } = establish(NOW);
    ({ alice, bob } = roundTrip(alice, bob, 0, NOW));
    const lost = sealed(seal(bob, text('lost'), { copies: 2 }, NOW));
    const after = sealed(seal(lost.state, text('after'), { copies: 2 }, NOW));
    alice = opened(openSession(alice, after.pdus[0]!, NOW)).state;
    bob = after.state;
    for (let i = 1; i <= 6; i++) ({ alice, bob } = roundTrip(alice, bob, i, NOW + i * HOUR_MS));
    expect(skippedCount(alice)).toBe(1);
    expect(tagsOf(alice).length).toBeLessThanOrEqual(4 * W * 2);
    // A message after the seed's lifetime prunes it: the re-post then finds no tag at all.
    ({ alice, bob } = roundTrip(alice, bob, 7, NOW + SKIPPED_LIFETIME_MS));
    expect(skippedCount(alice)).toBe(0);
    expect(openSession(alice, lost.pdus[1]!, NOW + SKIPPED_LIFETIME_MS)).toBeNull();
  });

  it('keeps no more than 3W skipped seeds when every epoch leaves some behind', () => {
    let { alice, bob } = establish(NOW);
    ({ alice, bob } = roundTrip(alice, bob, 0, NOW));
    const missing: Uint8Array[] = [];
    for (let round = 1; round <= 8; round++) {
      // Half an epoch of Bob's messages lost, then the last one arrives.
      let last: ReturnType<typeof sealed> | null = null;
      for (let i = 0; i < W / 2; i++) {
        last = sealed(seal(bob, text(`r${round} ${i}`), { copies: 1 }, NOW));
        bob = last.state;
        if (i === 0) missing.push(last.pdu);
      }
      alice = opened(openSession(alice, last!.pdu, NOW)).state;
      const back = sealed(seal(alice, text(`a${round}`), { copies: 1 }, NOW));
      alice = back.state;
      bob = opened(openSession(bob, back.pdu, NOW)).state;
      expect(skippedCount(alice)).toBeLessThanOrEqual(MAX_SKIPPED);
      expect(tagsOf(alice).length).toBeLessThanOrEqual(4 * W * 2);
    }
    // The oldest went first: the last rounds' missing messages still open, the first rounds' do not.
    expect(openSession(alice, missing[0]!, NOW)).toBeNull();
    expect(textOf(opened(openSession(alice, missing[7]!, NOW)).body.content)).toBe('r8 0');
  });
});
