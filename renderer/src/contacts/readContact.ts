import { parseContactInput } from '../../../shared/protocol/contacts.js';
import { ProtocolError } from '../../../shared/protocol/errors.js';
import type { ContactDraft } from './contactActions.js';

/** What to do instead, shown after every reason a contact could not be read. */
const NEXT_STEP = 'Ask your contact for their contact code (it starts with QABELCONTACT), their .qco file or their QR code.';

export type ContactReadResult = { ok: true; contacts: ContactDraft[] } | { ok: false; reason: string };

const MAX_CONTACT_FILE_BYTES = 64 * 1024;

/** Reads pasted text or a scanned QR code: a `QABELCONTACT` string or `.qco` JSON (one or more contacts). */
export function readContactText(text: string): ContactReadResult {
  try {
    const contacts = parseContactInput(text).map((c) => ({ alias: c.alias, publicKey: c.publicKey, dropUrls: c.dropUrls }));
    return contacts.length > 0 ? { ok: true, contacts } : { ok: false, reason: `The contact file holds no contact. ${NEXT_STEP}` };
  } catch (err) {
    const why = err instanceof ProtocolError ? `Not a valid contact: ${err.message}` : 'Not a valid contact.';
    return { ok: false, reason: `${why} ${NEXT_STEP}` };
  }
}

/** Reads a chosen or dropped `.qco` file. */
export async function readContactFile(file: Blob): Promise<ContactReadResult> {
  if (file.size > MAX_CONTACT_FILE_BYTES) return { ok: false, reason: `That file is too large to be a contact file. ${NEXT_STEP}` };
  let text: string;
  try {
    text = await file.text();
  } catch {
    return { ok: false, reason: 'The file could not be read.' };
  }
  return readContactText(text);
}
