/**
 * Tickets the outbox hands out (sender.ts): the first time an identity writes to a contact, the
 * contact is handed tickets for each of the identity's closed drops (ticketWallet.ts), as messages of
 * their own that the UI does not track (no receipt, no re-posting: a contact who misses them gets in
 * by stamp, as before); a later message hands a fresh batch when the contact is estimated to run low
 * (ticketBatches.ts). Strikes of revoked contacts' tickets still pending go out first (revocation.ts).
 */
import { randomUUID } from 'node:crypto';
import type { IdentitySummary, ParsedRequestOf, SendAccepted } from '../../../shared/ipc/contract.js';
import type { DropMessage } from '../../../shared/protocol/message.js';
import { buildTicketsMessages } from '../../../shared/modules/tickets.js';
import type { DropClient } from '../net/dropClient.js';
import { flushRevocations } from '../spam/revocation.js';
import { noteBatchGiven, ticketsToHandOut, type TicketsDue } from '../spam/ticketWallet.js';
import type { StateStore } from '../state/stateStore.js';
import { isPosted } from './copies.js';

/** Marks the engine's own ticket messages (they hand out no tickets in turn). */
export const HANDING_OUT = Symbol('handingOutTickets');

export interface TicketHandOutOptions {
  stateStore: StateStore;
  client(): DropClient;
  now(): number;
  /** Accepts a ticket message into the outbox (marked with HANDING_OUT). */
  send(request: ParsedRequestOf<'messages/send'>, built: DropMessage[]): Promise<SendAccepted>;
  /** Resolves once the outbox's job for this message is over (at once when there is none). */
  posted(localId: string): Promise<void> | undefined;
  /** Aborted while the outbox closes (a new signal after each `resume`). */
  closing(): AbortSignal;
}

export class TicketHandOut {
  /** Identity and contact pairs being handed tickets now (two messages sent at once hand out once). */
  private readonly handingOut = new Set<string>();

  constructor(private readonly options: TicketHandOutOptions) {}

  /** Hands the recipient of this message the tickets it is due, if any. */
  async handOutWith(request: ParsedRequestOf<'messages/send'>): Promise<void> {
    const { stateStore } = this.options;
    const contactKey = request.recipient.publicKey;
    const pair = `${request.identityId}:${contactKey}`;
    // Our own devices (sibling sync) read our drops as we do: they need no tickets for them.
    if (this.handingOut.has(pair) || contactKey === stateStore.identity(request.identityId).publicKey) return;
    if (stateStore.closedDrops(request.identityId).some((claim) => claim.revoking.length > 0)) {
      const client = this.options.client();
      await flushRevocations(stateStore, (url, body) => client.postJson(url, body), request.identityId, this.options.now());
    }
    const due = ticketsToHandOut(stateStore, request.identityId, contactKey, this.options.now());
    if (due.length === 0) return;
    const identity = stateStore.identity(request.identityId);
    this.handingOut.add(pair);
    try {
      await this.handOutDue(request, identity, due);
    } finally {
      this.handingOut.delete(pair);
    }
  }

  private async handOutDue(request: ParsedRequestOf<'messages/send'>, identity: IdentitySummary, due: TicketsDue[]): Promise<void> {
    for (const { dropUrl, tickets, batch } of due) {
      if (this.options.closing().aborted) return;
      const messages = buildTicketsMessages(dropUrl, tickets, {
        sender: identity.publicKey,
        identity: { alias: identity.alias, dropUrls: identity.dropUrls },
        meta: { alias: identity.alias, dropUrl: identity.dropUrls[0], publicKey: identity.publicKey },
        wantReceipt: false,
        now: this.options.now(),
        newId: randomUUID,
      });
      const localId = `tickets-${randomUUID()}`;
      await this.options.send({ ...request, localId, wantReceipt: false, text: undefined, content: undefined, [HANDING_OUT]: true } as ParsedRequestOf<'messages/send'>, messages);
      // Counted as given once out: tickets that never left (a failure, a restart) are minted afresh
      // with the next message to the contact.
      await this.options.posted(localId);
      const record = this.options.stateStore.outboxRecord(localId);
      if (!record || !isPosted(record)) continue;
      await noteBatchGiven(this.options.stateStore, request.identityId, dropUrl, batch, this.options.now());
    }
  }
}
