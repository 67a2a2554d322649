/**
 * Who may deposit into a drop (PROTOCOL-V1 section 3c, L1 and L2), decided per POST before the store
 * records it (the store checks the spent set, the introduction count and the policy seq again in the
 * same transaction as the message):
 * - a closed drop takes a POST with a valid ticket (`X-Drop-Ticket`), or without one an introduction
 *   with a valid stamp (`X-Drop-PoW`) within the drop's `intro_per_day`, else 401 Ticket required;
 * - an open or unclaimed drop takes any POST while the server is not under pressure (what original
 *   Qabel clients know); under pressure (pressure.ts) a ticketless POST needs a stamp and a token of
 *   the drop's hourly share; near the quota no ticketless POST at all.
 * A ticket on a drop whose policy has keys makes the message ticketed (last to be evicted) whatever
 * the mode; on an unclaimed drop ticket headers mean nothing and are ignored.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { DAY_MS, dayNumber } from '../../shared/spam/day.js';
import { STAMP_REPLAY_S, parseStampHeader } from '../../shared/spam/stamp.js';
import { POW_BITS_HEADER, SPAM_ERRORS } from '../../shared/spam/wire.js';
import type { Admission } from '../store/dropStore.js';
import type { PolicyBook } from './policyBook.js';
import type { PressureGauge } from './pressure.js';
import { stampIsValid } from './stampCheck.js';
import { validTicket } from './ticketCheck.js';

export type Decision =
  | { kind: 'admit'; admission: Admission; via: 'plain' | 'ticket' | 'stamp' | 'intro' }
  | { kind: 'refuse'; status: number; error: string; headers?: Record<string, string>; reason: RefusalReason };

export type RefusalReason = 'ticketRequired' | 'powRequired' | 'dropRate' | 'serverFull';

export interface AdmissionDeps {
  policies: PolicyBook;
  pressure: PressureGauge;
  /** Bits of an introduction's stamp on a closed drop (the announced `pow.bits`). */
  introBits: number;
  storedBytes(): number;
}

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? undefined : value;
};

function powRequired(bits: number, reason: RefusalReason = 'powRequired', error: string = SPAM_ERRORS.powRequired, extra: Record<string, string> = {}): Decision {
  return { kind: 'refuse', status: 429, error, headers: { [POW_BITS_HEADER]: String(bits), ...extra }, reason };
}

export function createAdmission(deps: AdmissionDeps) {
  const { policies, pressure } = deps;

  /** A valid stamp's admission parts, or null when the header is missing or the stamp does not hold. */
  const stampSpend = (headers: IncomingHttpHeaders, idBytes: Uint8Array, body: Buffer, bits: number, nowMs: number) => {
    const stamp = parseStampHeader(header(headers, 'x-drop-pow'));
    if (!stamp || !stampIsValid(idBytes, body, stamp, bits, nowMs)) return null;
    return { nonce: Buffer.from(stamp.nonce), expiresAtMs: nowMs + STAMP_REPLAY_S * 1000 };
  };

  return async function decide(headers: IncomingHttpHeaders, dropId: string, body: Buffer, nowMs: number): Promise<Decision> {
    const rules = await policies.rules(dropId);
    // The handler checked the drop ID's form: the native decoder is exact for it.
    const idBytes = Buffer.from(dropId, 'base64url');
    const today = dayNumber(nowMs);
    const policySeq = rules?.seq ?? 0;

    if (rules && rules.keys.size > 0) {
      const ticket = validTicket(header(headers, 'x-drop-ticket'), idBytes, rules.keys, today);
      if (ticket) {
        const spend = { nonce: ticket.nonce, expiresAtMs: (ticket.expDay + 1) * DAY_MS };
        return { kind: 'admit', admission: { policySeq, ticketed: true, spend, intro: null }, via: 'ticket' };
      }
    }

    if (rules?.closed) {
      const introHeaders = rules.introPerDay > 0 ? { [POW_BITS_HEADER]: String(deps.introBits) } : undefined;
      const ticketRequired: Decision = { kind: 'refuse', status: 401, error: SPAM_ERRORS.ticketRequired, headers: introHeaders, reason: 'ticketRequired' };
      if (rules.introPerDay === 0 || header(headers, 'x-drop-pow') === undefined) return ticketRequired;
      if (pressure.refusesTicketless(deps.storedBytes())) return { kind: 'refuse', status: 507, error: SPAM_ERRORS.serverFull, reason: 'serverFull' };
      const spend = stampSpend(headers, idBytes, body, deps.introBits, nowMs);
      if (!spend) return powRequired(deps.introBits);
      return { kind: 'admit', admission: { policySeq, ticketed: false, spend, intro: { day: today, limit: rules.introPerDay } }, via: 'intro' };
    }

    const stored = deps.storedBytes();
    if (pressure.refusesTicketless(stored)) return { kind: 'refuse', status: 507, error: SPAM_ERRORS.serverFull, reason: 'serverFull' };
    const bits = pressure.requiredBits(stored, nowMs);
    if (bits === null) return { kind: 'admit', admission: { policySeq, ticketed: false, spend: null, intro: null }, via: 'plain' };
    const spend = stampSpend(headers, idBytes, body, bits, nowMs);
    if (!spend) return powRequired(bits);
    if (!pressure.takeDropToken(dropId, nowMs)) return powRequired(bits, 'dropRate', SPAM_ERRORS.dropRate, { 'Retry-After': '60' });
    return { kind: 'admit', admission: { policySeq, ticketed: false, spend, intro: null }, via: 'stamp' };
  };
}

export type Decide = ReturnType<typeof createAdmission>;
