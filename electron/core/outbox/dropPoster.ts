/**
 * One POST of the outbox (sender.ts): a server that asks for proof of work gets a stamp computed for
 * these bytes and this drop, and the POST once more (stampedPost.ts); a PDU to a contact's closed drop
 * goes with a ticket that contact handed the identity it comes from (ticketWallet.ts). Messages,
 * receipts, re-posts and the engine's own PDUs go the same way: to the server they are messages like
 * any other.
 */
import type { DropClient } from '../net/dropClient.js';
import { forgetTickets, takeTicket } from '../spam/ticketWallet.js';
import { createStamper, type Stamper, type StampProgress } from '../spam/stamper.js';
import type { StateStore } from '../state/stateStore.js';
import { postStamped } from './stampedPost.js';

/** The identity a PDU comes from and the contact it goes to: whose tickets it may spend. */
export interface TicketPair {
  identityId: string;
  contactKey: string;
}

export interface DropPosterOptions {
  stateStore: StateStore;
  client(): DropClient;
  now(): number;
  /**
   * Computes proof-of-work stamps when a server asks for one. Absent: the poster's own, whose worker
   * thread starts at the first stamp a server asks for (most never do).
   */
  stamper?: Stamper | undefined;
}

export class DropPoster {
  private readonly stamper: Stamper;

  constructor(private readonly options: DropPosterOptions) {
    this.stamper = options.stamper ?? createStamper();
  }

  /**
   * Posts `pdu` to `dropUrl`. With `from`, a closed drop gets a ticket the contact handed that
   * identity, and only that pair's tickets: one the contact handed another identity of ours would show
   * the contact (whose server sees its tickets spent) that the two identities are one. Without it: as
   * a stranger.
   */
  post(dropUrl: string, pdu: Uint8Array, signal: AbortSignal, from?: TicketPair, onStampProgress?: (progress: StampProgress) => void): Promise<void> {
    const nextTicket = from ? this.walletFor(from, dropUrl) : undefined;
    const forget = from ? this.forgetterFor(from, dropUrl) : undefined;
    return postStamped(this.options.client(), this.stamper, dropUrl, pdu, {
      signal,
      ...(onStampProgress ? { onStampProgress } : {}),
      ...(nextTicket ? { nextTicket } : {}),
      ...(forget ? { forgetTickets: forget } : {}),
    });
  }

  /** Stops the poster's own stamp worker (it starts again at the next stamp asked for, after an unlock). */
  async close(): Promise<void> {
    if (!this.options.stamper) await this.stamper.close();
  }

  /** Takes tickets the contact handed this identity for that drop (ticketWallet.ts). */
  private walletFor({ identityId, contactKey }: TicketPair, dropUrl: string): () => Promise<Uint8Array | null> {
    return () => takeTicket(this.options.stateStore, identityId, contactKey, dropUrl, this.options.now()).catch(() => null);
  }

  /** Empties that wallet when the drop refuses its tickets as spent (the owner revoked them). */
  private forgetterFor({ identityId, contactKey }: TicketPair, dropUrl: string): () => Promise<void> {
    return () => forgetTickets(this.options.stateStore, identityId, contactKey, dropUrl).catch(() => undefined);
  }
}
