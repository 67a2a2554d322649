import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeTicket, formatTicketHeader, ticketMacInput } from '../../shared/spam/ticket.js';
import { validTicket } from './ticketCheck.js';

const DROP = new Uint8Array(32).fill(7);
const TODAY = 20_000;

function ticket(key: Buffer, expDay = TODAY, keyId = 3, nonce = new Uint8Array(13).fill(9)): string {
  const mac = createHmac('sha256', key).update(ticketMacInput(DROP, expDay, keyId, nonce)).digest();
  return formatTicketHeader(encodeTicket({ expDay, keyId, nonce, mac }));
}

describe('validTicket', () => {
  const key = Buffer.alloc(32, 1);
  const keys = new Map([[3, key]]);

  it("takes a ticket whose MAC node:crypto's HMAC made, and returns its nonce and day", () => {
    const nonce = new Uint8Array(randomBytes(13));
    expect(validTicket(ticket(key, TODAY, 3, nonce), DROP, keys, TODAY)).toEqual({ expDay: TODAY, nonce: Buffer.from(nonce) });
    // Keys longer than a block are hashed first, as HMAC defines.
    const long = randomBytes(100);
    expect(validTicket(ticket(long), DROP, new Map([[3, long]]), TODAY)).not.toBeNull();
  });

  it('refuses a flipped bit anywhere, another drop, an unknown key, a past day and malformed text', () => {
    const good = Buffer.from(ticket(key), 'base64url');
    for (let bit = 0; bit < 256; bit++) {
      const bad = Buffer.from(good);
      bad[bit >> 3]! ^= 1 << (bit & 7);
      expect(validTicket(bad.toString('base64url'), DROP, keys, TODAY)).toBeNull();
    }
    expect(validTicket(ticket(key), new Uint8Array(32), keys, TODAY)).toBeNull();
    expect(validTicket(ticket(key, TODAY, 4), DROP, keys, TODAY)).toBeNull();
    expect(validTicket(ticket(key, TODAY - 1), DROP, keys, TODAY)).toBeNull();
    const text = ticket(key);
    expect(validTicket(undefined, DROP, keys, TODAY)).toBeNull();
    expect(validTicket(text.slice(0, 42), DROP, keys, TODAY)).toBeNull();
    expect(validTicket(`${text}A`, DROP, keys, TODAY)).toBeNull();
    expect(validTicket(`+${text.slice(1)}`, DROP, keys, TODAY)).toBeNull();
    // The last character's two spare bits must be zero (one text per ticket).
    const last = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const spare = last[last.indexOf(text[42]!) + 1]!;
    expect(validTicket(text.slice(0, 42) + spare, DROP, keys, TODAY)).toBeNull();
  });
});
