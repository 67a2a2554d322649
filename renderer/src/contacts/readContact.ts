import { parseContactInput } from '../../../shared/protocol/contacts.js';
import { ProtocolError } from '../../../shared/protocol/errors.js';
import type { ContactDraft } from './contactActions.js';

export type ContactReadResult = { ok: true; contacts: ContactDraft[] } | { ok: false; reason: string };

const MAX_CONTACT_FILE_BYTES = 64 * 1024;

/** Reads pasted text or a scanned QR code: a `QABELCONTACT` string or `.qco` JSON (one or more contacts). */
export function readContactText(text: string): ContactReadResult {
  try {
    const contacts = parseContactInput(text).map((c) => ({ alias: c.alias, publicKey: c.publicKey, dropUrls: c.dropUrls }));
    return contacts.length > 0 ? { ok: true, contacts } : { ok: false, reason: 'The contact file holds no contact.' };
  } catch (err) {
    return { ok: false, reason: err instanceof ProtocolError ? `Not a valid contact: ${err.message}` : 'Not a valid contact.' };
  }
}

/** Reads a chosen or dropped `.qco` file. */
export async function readContactFile(file: Blob): Promise<ContactReadResult> {
  if (file.size > MAX_CONTACT_FILE_BYTES) return { ok: false, reason: 'That file is too large to be a contact file.' };
  let text: string;
  try {
    text = await file.text();
  } catch {
    return { ok: false, reason: 'The file could not be read.' };
  }
  return readContactText(text);
}
