import { describe, expect, it } from 'vitest';
import { ticketExpiryDay, TICKET_EXPIRY_STEP_DAYS, TICKET_LIFETIME_DAYS } from './day.js';
import { isSharedDropId } from './policy.js';
import { decodeStamp, encodeStamp, leadingZeroBits, parseStampHeader, formatStampHeader } from './stamp.js';
import { decodeTicket, encodeTicket, parseTicketHeader, formatTicketHeader, ticketMacInput } from './ticket.js';
import { decodeTicketsPayload, encodeTicketsPayload, MAX_TICKETS_PER_PAYLOAD } from './ticketsPayload.js';

describe('ticket layout', () => {
  it('is exp_day u16, key_id u8, nonce 13, mac 16, and round-trips through its header', () => {
    const nonce = Uint8Array.from({ length: 13 }, (_, i) => i + 1);
    const mac = new Uint8Array(32).fill(0xee);
    const bytes = encodeTicket({ expDay: 0x1234, keyId: 7, nonce, mac });
    expect(Array.from(bytes.subarray(0, 3))).toEqual([0x12, 0x34, 7]);
    expect(bytes.subarray(16)).toEqual(new Uint8Array(16).fill(0xee));
    expect(parseTicketHeader(formatTicketHeader(bytes))).toEqual(decodeTicket(bytes));
    expect(parseTicketHeader('x'.repeat(43))).toBeNull();
    expect(parseTicketHeader(undefined)).toBeNull();
    expect(ticketMacInput(new Uint8Array(32), 0x1234, 7, nonce)).toHaveLength(48);
  });

  it('tickets minted within one period share an expiry day at least the lifetime ahead', () => {
    const start = 20_000 * TICKET_EXPIRY_STEP_DAYS;
    const days = Array.from({ length: TICKET_EXPIRY_STEP_DAYS }, (_, i) => ticketExpiryDay(start + i));
    expect(new Set(days).size).toBe(1);
    expect(days[0]! - (start + TICKET_EXPIRY_STEP_DAYS - 1)).toBeGreaterThanOrEqual(TICKET_LIFETIME_DAYS);
  });
});

describe('stamp layout', () => {
  it('is time u32, nonce 16, counter u64, and counts leading zero bits', () => {
    const stamp = { time: 1_700_000_000, nonce: new Uint8Array(16).fill(3), counter: Uint8Array.of(0, 0, 0, 0, 0, 0, 1, 2) };
    expect(decodeStamp(encodeStamp(stamp))).toEqual(stamp);
    expect(parseStampHeader(formatStampHeader(stamp))).toEqual(stamp);
    expect(leadingZeroBits(Uint8Array.of(0, 0, 0x10))).toBe(19);
    expect(leadingZeroBits(Uint8Array.of(0x80))).toBe(0);
    expect(leadingZeroBits(new Uint8Array(4))).toBe(32);
  });
});

describe('TICKETS payload', () => {
  it('carries a drop index and 1..60 tickets, and refuses anything else', () => {
    const tickets = Array.from({ length: 3 }, (_, i) => new Uint8Array(32).fill(i));
    const bytes = encodeTicketsPayload({ dropIndex: 2, tickets });
    expect(bytes).toHaveLength(2 + 96);
    expect(decodeTicketsPayload(bytes)).toEqual({ dropIndex: 2, tickets });
    expect(decodeTicketsPayload(bytes.subarray(0, 97))).toBeNull();
    expect(() => encodeTicketsPayload({ dropIndex: 0, tickets: new Array(MAX_TICKETS_PER_PAYLOAD + 1).fill(new Uint8Array(32)) })).toThrow();
    expect(encodeTicketsPayload({ dropIndex: 0, tickets: new Array(MAX_TICKETS_PER_PAYLOAD).fill(new Uint8Array(32)) }).length).toBeLessThan(2048);
  });
});

describe('shared drops', () => {
  it('a drop ID ending in 8 zero bytes is a shared reduced-range drop', () => {
    const shared = new Uint8Array(32).fill(9);
    shared.fill(0, 3);
    expect(isSharedDropId(shared)).toBe(true);
    expect(isSharedDropId(new Uint8Array(32).fill(1))).toBe(false);
  });
});
