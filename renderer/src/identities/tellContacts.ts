import type { IdentitySummary } from '../../../shared/ipc/contract.js';
import { database } from '../db/database.js';
import { announceIdentityChange } from '../modules/contactUpdate.js';
import { useSession } from '../stores/sessionStore.js';
import { useUi } from '../stores/uiStore.js';

/**
 * After the engine renamed an identity or changed its drops: the new summary replaces the old one in
 * the session, and every accepted and verified contact is sent a contact update. Returns how many
 * contacts were told; those that could not be are named in an error notice.
 */
export async function adoptChange(before: IdentitySummary, after: IdentitySummary): Promise<number> {
  const session = useSession.getState();
  session.setIdentities((session.identities ?? []).map((i) => (i.id === after.id ? after : i)));
  if (!session.bridge) return 0;
  const outcome = await announceIdentityChange(database(), session.bridge, before, after);
  if (outcome.failed > 0) {
    const who = outcome.failed === 1 ? '1 contact' : `${outcome.failed} contacts`;
    useUi.getState().notify('error', `${who} could not be told of the change: ${outcome.error ?? 'the engine refused it'}. They learn it from your next message or your contact card.`);
  }
  return outcome.told;
}

/** "3 contacts were told." for a notice; empty when nobody was. */
export function toldText(told: number): string {
  if (told === 0) return '';
  return told === 1 ? ' 1 contact was told.' : ` ${told} contacts were told.`;
}
