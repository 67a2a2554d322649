/**
 * Tickets (`dd_tickets`, ours; PROTOCOL-V1 section 3c L1, the version-0 form of the TICKETS payload):
 * the owner of a closed drop hands a contact one-time tickets for it inside an encrypted message, so
 * the contact's messages to that drop go in without a proof-of-work stamp and outside the drop's
 * daily introductions. Payload `{drop_url, tickets}`: the drop they are for, and up to 20 tickets of
 * 32 bytes in base64url (a drop message holds 2048 bytes; 60 tickets go as three messages).
 *
 * Not a message for the user: the receiving engine takes these into the contact's ticket wallet and
 * never hands them to the UI (electron/core/spam/ticketWallet.ts), which is why this module is not in
 * the registry's lists (a registered module is one the UI stores and shows). A client that does not
 * know the type shows it as unsupported; the engine sends tickets only to contacts the user writes to.
 */
import { z } from 'zod';
import type { DropMessage } from '../protocol/message.js';
import { type BuildContext, singleMessage } from './payloadModule.js';

export const TICKETS_TYPE = 'dd_tickets';
/** Tickets in one message. */
export const MAX_TICKETS_PER_MESSAGE = 20;

const ticketText = z.string().length(43).regex(/^[-_A-Za-z0-9]+$/);

const payloadSchema = z.object({
  drop_url: z
    .string()
    .max(2048)
    .refine((s) => /^https?:\/\/\S+$/i.test(s), 'expected an http or https URL'),
  tickets: z.array(ticketText).min(1).max(MAX_TICKETS_PER_MESSAGE),
});

export interface TicketsContent {
  type: typeof TICKETS_TYPE;
  dropUrl: string;
  /** base64url, 32 bytes each (shared/spam/ticket.ts). */
  tickets: string[];
}

/** The JSON of a `dd_tickets` payload, checked; null when it fails the schema. */
export function decodeTickets(json: unknown): TicketsContent | null {
  const parsed = payloadSchema.safeParse(json);
  if (!parsed.success) return null;
  return { type: TICKETS_TYPE, dropUrl: parsed.data.drop_url, tickets: parsed.data.tickets };
}

/** The messages that hand `tickets` (base64url) for `dropUrl` to a contact, 20 a message. */
export function buildTicketsMessages(dropUrl: string, tickets: readonly string[], context: BuildContext): DropMessage[] {
  const messages: DropMessage[] = [];
  for (let i = 0; i < tickets.length; i += MAX_TICKETS_PER_MESSAGE) {
    messages.push(singleMessage(TICKETS_TYPE, { drop_url: dropUrl, tickets: tickets.slice(i, i + MAX_TICKETS_PER_MESSAGE) }, context));
  }
  return messages;
}
