import { parseContactInput } from '../../../shared/protocol/contacts.js';
import { ProtocolError } from '../../../shared/protocol/errors.js';
import { cleanAlias } from '../db/incomingMessage.js';
import type { ContactDraft } from './contactActions.js';

/** What to do instead, shown after every reason a contact could not be read. */
const NEXT_STEP =
  'Ask your contact for their contact code (it starts with DEADDROP1, or QABELCONTACT from Qabel apps), their .qco file or their QR code.';

/**
 * `notes`: quiet remarks on contacts that were read but lost something on the way, e.g. a card whose
 * prekey expired (the contact is added; messages to them become forward secret only once they answer).
 */
export type ContactReadResult = { ok: true; contacts: ContactDraft[]; notes: string[] } | { ok: false; reason: string };

/** The largest contact file, and (in characters) the largest pasted contact text: no card or .qco comes near it. */
export const MAX_CONTACT_FILE_BYTES = 64 * 1024;
const DAY_MS = 86_400_000;

/** Today as the cards count days: days since 1970-01-01, UTC. */
export function todayDay(now = Date.now()): number {
  return Math.floor(now / DAY_MS);
}

/**
 * Reads pasted text or a scanned QR code: a `DEADDROP1` or `QABELCONTACT` string or `.qco` JSON (one
 * or more contacts). A version-1 card's prekey is kept while it may still be used (through its last
 * day, `today` counted as the cards do); an expired one is left out and said so in `notes`, the
 * contact is added all the same: the engine would refuse the prekey anyway, and the contact upgrades
 * after the first message (PROTOCOL-V1.md 1c).
 */
export function readContactText(text: string, today = todayDay()): ContactReadResult {
  if (text.length > MAX_CONTACT_FILE_BYTES) return { ok: false, reason: `That text is too long to be a contact. ${NEXT_STEP}` };
  try {
    const notes: string[] = [];
    const contacts = parseContactInput(text).map((c): ContactDraft => {
      // A card is a stranger's text like any other: a direction override in its name would show
      // "Mallory" for "yrollaM", and the name their messages announce is cleaned the same way.
      const alias = cleanAlias(c.alias);
      if (alias === null) throw new ProtocolError('invalid_contact', 'The name on the card is made only of invisible characters.');
      if (alias !== c.alias) notes.push(`Invisible formatting characters were removed from the name ${alias}.`);
      const draft: ContactDraft = { alias, publicKey: c.publicKey, dropUrls: c.dropUrls };
      if (c.v1 && c.v1.qrPrekeyExpiresDay >= today) draft.v1 = { ...c.v1 };
      else if (c.v1) notes.push(`${alias} was added without the prekey on their card: it has expired, so messages to them become forward secret only once they answer.`);
      return draft;
    });
    return contacts.length > 0 ? { ok: true, contacts, notes } : { ok: false, reason: `The contact file holds no contact. ${NEXT_STEP}` };
  } catch (err) {
    const why = err instanceof ProtocolError ? `Not a valid contact: ${err.message}` : 'Not a valid contact.';
    return { ok: false, reason: `${why} ${NEXT_STEP}` };
  }
}

/** Reads a chosen or dropped `.qco` file. */
export async function readContactFile(file: Blob, today = todayDay()): Promise<ContactReadResult> {
  if (file.size > MAX_CONTACT_FILE_BYTES) return { ok: false, reason: `That file is too large to be a contact file. ${NEXT_STEP}` };
  let text: string;
  try {
    text = await file.text();
  } catch {
    return { ok: false, reason: 'The file could not be read.' };
  }
  return readContactText(text, today);
}
