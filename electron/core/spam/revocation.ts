/**
 * Revoking the tickets an identity handed one contact (ticketBatches.ts has the design): on block or
 * delete of the contact, every closed drop of the identity that handed it tickets marks it `revoking`
 * and stops handing it more; `flushRevocations` then strikes its live tickets at the server with a
 * signed policy update (seq + 1) and, once the server took it, forgets the contact's batches. A strike
 * the server did not take (offline, refused) stays pending and is sent again by the next flush (the
 * next revocation, or the next message the identity sends).
 *
 * A 409 "Policy is out of date" names the seq the server holds: the answer to an update it took was
 * lost, or a sibling device of the identity used the number. The device records that seq and sends
 * the same strikes again above it (a few times: a sibling may be updating at the same moment); strikes
 * the server takes twice do no harm, its spent set holds each ticket once.
 */
import { parseDropUrl } from '../../../shared/protocol/dropId.js';
import type { StateStore } from '../state/stateStore.js';
import { spamSecretOf } from './closedDrops.js';
import { buildPolicy, sendPolicy, type ClaimOutcome, type PolicyPost } from './dropClaim.js';
import { strikesFor } from './ticketBatches.js';

/** Marks `contactKey` as to be revoked in every closed drop of the identity that handed it tickets; the number of such drops. */
export async function markRevoked(stateStore: StateStore, identityId: string, contactKey: string): Promise<number> {
  let marked = 0;
  for (const claim of stateStore.closedDrops(identityId)) {
    const handed = claim.given.includes(contactKey) || claim.batches.some((b) => b.contact === contactKey);
    if (!handed || claim.revoking.includes(contactKey)) continue;
    await stateStore.updateClosedDrop(identityId, claim.url, (stored) => {
      stored.revoking.push(contactKey);
      // Not given any more: were the contact written to again (unblocked), it would get fresh tickets.
      stored.given = stored.given.filter((c) => c !== contactKey);
    });
    marked++;
  }
  return marked;
}

export interface FlushOutcome {
  /** Drops whose pending strikes the server took. */
  struck: number;
  /** Drops with strikes still pending. */
  pending: number;
}

/** Listeners told which identity's policy seq changed (sibling sync sends its claims, devices/sync.ts). */
const seqListeners = new WeakMap<StateStore, Set<(identityId: string) => void>>();

/**
 * Calls `listener` after a flush changed the seq of one of the identity's closed drops (a strike taken,
 * or a newer seq learned from a 409), so the identity's other devices hear it: without it a sibling
 * would send its next update with a number already used. Returns the removal.
 */
export function onPolicySeqChange(stateStore: StateStore, listener: (identityId: string) => void): () => void {
  let listeners = seqListeners.get(stateStore);
  if (!listeners) seqListeners.set(stateStore, (listeners = new Set()));
  listeners.add(listener);
  return () => void listeners.delete(listener);
}

/** Times a strike list goes again above the seq a 409 named, before it counts as not taken this flush. */
const STALE_RETRIES = 3;

/** One flush at a time per state store: two flushes must not send the same seq. */
const flushing = new WeakMap<StateStore, Promise<unknown>>();

/** Sends the pending strikes of every closed drop of the identity. Never throws for a server's answer. */
export function flushRevocations(stateStore: StateStore, post: PolicyPost, identityId: string, nowMs: number): Promise<FlushOutcome> {
  const run = async (): Promise<FlushOutcome> => {
    const outcome: FlushOutcome = { struck: 0, pending: 0 };
    if (stateStore.locked || !stateStore.identities().some((i) => i.id === identityId)) return outcome;
    const claims = stateStore.closedDrops(identityId).filter((c) => c.revoking.length > 0);
    if (claims.length === 0) return outcome;
    const secret = spamSecretOf(stateStore.keyPair(identityId).privateKey);
    let seqChanged = false;
    for (const claim of claims) {
      const { dropId } = parseDropUrl(claim.url);
      let seq = claim.seq;
      let failed = false;
      for (const contact of claim.revoking) {
        for (const strikes of strikesFor(secret, dropId, claim.batches, contact, nowMs)) {
          let answer: ClaimOutcome | null = null;
          for (let attempt = 0; attempt <= STALE_RETRIES; attempt++) {
            const policy = buildPolicy({ secret, dropUrl: claim.url, seq: seq + 1, keyIds: claim.keyIds, introPerDay: claim.introPerDay, strikes });
            answer = await sendPolicy(post, claim.url, policy).catch(() => null);
            if (answer?.ok !== false || answer.reason !== 'stale' || answer.currentSeq === undefined || answer.currentSeq < seq + 1) break;
            // The server holds a newer policy than this device knew: go on above it, and remember it.
            const learned = answer.currentSeq;
            seq = learned;
            await stateStore.updateClosedDrop(identityId, claim.url, (stored) => void (stored.seq = Math.max(stored.seq, learned)));
          }
          if (!answer?.ok) {
            failed = true;
            break;
          }
          seq = answer.seq;
          // Each update taken is recorded at once: the next one needs its seq, also after a restart.
          await stateStore.updateClosedDrop(identityId, claim.url, (stored) => void (stored.seq = seq));
        }
        if (failed) break;
        await stateStore.updateClosedDrop(identityId, claim.url, (stored) => {
          stored.revoking = stored.revoking.filter((c) => c !== contact);
          stored.batches = stored.batches.filter((b) => b.contact !== contact);
          delete stored.arrived[contact];
        });
      }
      if (failed) outcome.pending++;
      else outcome.struck++;
      if (seq !== claim.seq) seqChanged = true;
    }
    if (seqChanged) for (const listener of seqListeners.get(stateStore) ?? []) listener(identityId);
    return outcome;
  };
  const result = (flushing.get(stateStore) ?? Promise.resolve()).then(run, run);
  flushing.set(stateStore, result.catch(() => undefined));
  return result;
}
