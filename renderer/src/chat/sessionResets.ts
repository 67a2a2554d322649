/**
 * Version-1 sessions as a conversation shows them (PROTOCOL-V1.md 1c): the engine's `sessions/status`
 * for the open identity, fetched again on `sessions/changed`, and the lines that say a secure session
 * was reset. The engine names a reset for 14 days; the line it leads to stays with the conversation.
 */
import { useEffect, useState } from 'react';
import type { SessionsStatus } from '../../../shared/ipc/contract.js';
import type { EngineBridge } from '../bridge/transport.js';
import type { DeaddropDatabase } from '../db/database.js';
import { isAccepted } from '../db/senderBounds.js';
import { eventRecord, storeEventLines } from '../modules/contactUpdate.js';
import { useSession } from '../stores/sessionStore.js';

/** How often an open conversation asks again besides `sessions/changed`: a session starts with a message. */
const REFRESH_MS = 10_000;

/** What a reset line's `payloadType` says (no drop message has this type). */
export const SESSION_RESET_LINE = 'dd:session_reset';

/** One line per reset: the engine's time of the reset names it, so asking again never adds a second. */
export function resetLineId(identityId: string, contactKey: string, at: number): string {
  return `event:reset:${identityId}:${contactKey}:${at}`;
}

/**
 * Writes a line for each finished reset the status names (`reset.pending` false) into the conversation
 * of an accepted or verified contact, at the reset's time; lines already there stay as they are.
 * `byUser`: contacts whose pending reset the user just accepted, whose line names them as its author.
 * Returns how many lines were new.
 */
export async function recordResetLines(
  db: DeaddropDatabase,
  identityId: string,
  status: SessionsStatus,
  byUser: ReadonlySet<string> = new Set(),
): Promise<number> {
  const rows = [];
  for (const [contactKey, entry] of Object.entries(status.contacts)) {
    const reset = entry.reset;
    if (!reset || reset.pending || !Number.isSafeInteger(reset.at)) continue;
    const contact = await db.contacts.get([identityId, contactKey]);
    if (!contact || !isAccepted(contact.status)) continue;
    // A reset the engine made without asking (inside the old session, or started by us) has no author to name.
    const line = byUser.has(contactKey) ? `Secure session reset by ${contact.alias}` : `Secure session with ${contact.alias} was reset`;
    rows.push(eventRecord(resetLineId(identityId, contactKey, reset.at), identityId, contactKey, 'in', [line], reset.at, SESSION_RESET_LINE));
  }
  if (rows.length === 0) return 0;
  return storeEventLines(db, rows, { replace: byUser.size > 0 ? rows.filter((row) => byUser.has(row.contactKey)).map((row) => row.id) : [] });
}

/**
 * The user's answer to a pending reset. Accepting writes "Secure session reset by <alias>" in the
 * conversation. Returns the engine's status after the answer, or its error message.
 */
export async function answerReset(
  db: DeaddropDatabase,
  bridge: EngineBridge,
  identityId: string,
  contactKey: string,
  accept: boolean,
): Promise<{ ok: true; status: SessionsStatus } | { ok: false; error: string }> {
  const result = await bridge.invoke('sessions/confirmReset', { identityId, contactPublicKey: contactKey, accept });
  if (!result.ok) return { ok: false, error: result.error.message };
  await recordResetLines(db, identityId, result.value, accept ? new Set([contactKey]) : new Set());
  return { ok: true, status: result.value };
}

/**
 * `sessions/status` of an identity, fresh on `sessions/changed` and every few seconds; finished resets
 * become lines as they show up. `update` takes a status the caller got otherwise (an answer).
 */
export function useSessionsStatus(db: DeaddropDatabase, identityId: string): [SessionsStatus | null, (status: SessionsStatus) => void] {
  const bridge = useSession((s) => s.bridge);
  const [status, setStatus] = useState<SessionsStatus | null>(null);

  useEffect(() => {
    if (!bridge) return;
    let live = true;
    const ask = async () => {
      const result = await bridge.invoke('sessions/status', { identityId });
      if (!live || !result.ok) return;
      setStatus(result.value);
      await recordResetLines(db, identityId, result.value);
    };
    void ask();
    const timer = setInterval(() => void ask(), REFRESH_MS);
    const stop = bridge.on('sessions/changed', (event) => {
      if (event.identityId === identityId) void ask();
    });
    return () => {
      live = false;
      clearInterval(timer);
      stop();
    };
  }, [bridge, db, identityId]);

  return [status, setStatus];
}
