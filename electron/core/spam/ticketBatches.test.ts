import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DAY_MS, dayNumber } from '../../../shared/spam/day.js';
import { MAX_STRIKES } from '../../../shared/spam/policy.js';
import { decodeTicket, ticketMacInput } from '../../../shared/spam/ticket.js';
import { ticketKeyFor } from './dropKeys.js';
import { batchTickets, estimatedLeft, newBatch, strikesFor, TICKETS_PER_BATCH, TOP_UP_AT, topUpDue } from './ticketBatches.js';

const SECRET = new Uint8Array(32).fill(7);
const DROP_ID = Buffer.alloc(32, 3).toString('base64url');
const NOW = Date.UTC(2026, 5, 1);
const ALICE = 'a'.repeat(64);
const CAROL = 'c'.repeat(64);

describe('ticket batches', () => {
  it('mint the same tickets again from their seed, each with a valid MAC under the key id, nonces all different', () => {
    const batch = newBatch(ALICE, 0, NOW);
    const first = batchTickets(SECRET, DROP_ID, batch);
    expect(first).toHaveLength(TICKETS_PER_BATCH);
    expect(batchTickets(SECRET, DROP_ID, batch)).toEqual(first);
    const key = ticketKeyFor(SECRET, DROP_ID, 0);
    for (const bytes of first) {
      const ticket = decodeTicket(bytes)!;
      const mac = createHmac('sha256', key).update(ticketMacInput(Buffer.from(DROP_ID, 'base64url'), ticket.expDay, 0, ticket.nonce)).digest().subarray(0, 16);
      expect(Buffer.from(ticket.mac).equals(mac)).toBe(true);
      expect(ticket.expDay).toBeGreaterThanOrEqual(dayNumber(NOW) + 60);
    }
    expect(new Set(first.map((t) => Buffer.from(decodeTicket(t)!.nonce).toString('hex'))).size).toBe(TICKETS_PER_BATCH);
    // Another seed, another secret: other nonces.
    const other = batchTickets(SECRET, DROP_ID, newBatch(ALICE, 0, NOW));
    expect(other.some((t) => first.some((f) => Buffer.from(f).equals(t)))).toBe(false);
    expect(batchTickets(new Uint8Array(randomBytes(32)), DROP_ID, batch).some((t) => first.some((f) => Buffer.from(f).equals(t)))).toBe(false);
  });

  it('nonces look uniform to whoever lacks the secret: byte values over 100 batches pass a chi-square bound', () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 100; i++) {
      // Fixed seeds (deterministic): consecutive, the least random a seed can be.
      const batch = { ...newBatch(i % 2 ? ALICE : CAROL, 0, NOW), seed: Buffer.alloc(16, i).toString('base64url') };
      for (const t of batchTickets(SECRET, DROP_ID, batch)) for (const b of decodeTicket(t)!.nonce) counts[b]!++;
    }
    const total = counts.reduce((a, b) => a + b, 0);
    const expected = total / 256;
    const chi2 = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    // 255 degrees of freedom: p = 0.001 at about 330.
    expect(chi2).toBeLessThan(330);
  });

  it('estimate what a contact holds from what it was handed and what came from it, and ask for a top-up at a third', () => {
    const batches = [newBatch(ALICE, 0, NOW), newBatch(CAROL, 0, NOW)];
    expect(estimatedLeft(batches, 0, ALICE, NOW)).toBe(60);
    expect(topUpDue(batches, TICKETS_PER_BATCH - TOP_UP_AT - 1, ALICE, NOW)).toBe(false);
    expect(topUpDue(batches, TICKETS_PER_BATCH - TOP_UP_AT, ALICE, NOW)).toBe(true);
    expect(estimatedLeft([...batches, newBatch(ALICE, 0, NOW)], 45, ALICE, NOW)).toBe(75);
    expect(estimatedLeft(batches, 500, ALICE, NOW)).toBe(0);
    // Expired batches count for nothing.
    const expired = batches[0]!.expDay + 1;
    expect(estimatedLeft(batches, 0, ALICE, expired * DAY_MS)).toBe(0);
  });

  it("strike exactly the revoked contact's live tickets, at most MAX_STRIKES a policy", () => {
    const alice = Array.from({ length: 20 }, () => newBatch(ALICE, 1, NOW));
    const carol = newBatch(CAROL, 1, NOW);
    const lists = strikesFor(SECRET, DROP_ID, [...alice, carol], ALICE, NOW);
    expect(lists.map((l) => l.length)).toEqual([MAX_STRIKES, 20 * TICKETS_PER_BATCH - MAX_STRIKES]);
    const struck = new Set(lists.flat().map((t) => Buffer.from(t).toString('hex')));
    for (const b of alice) for (const t of batchTickets(SECRET, DROP_ID, b)) expect(struck.has(Buffer.from(t).toString('hex'))).toBe(true);
    for (const t of batchTickets(SECRET, DROP_ID, carol)) expect(struck.has(Buffer.from(t).toString('hex'))).toBe(false);
    expect(strikesFor(SECRET, DROP_ID, [carol], ALICE, NOW)).toEqual([]);
  });
});
