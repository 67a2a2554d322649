import { describe, expect, it } from 'vitest';
import { generateDropId } from './dropId.js';
import { randomBytes, toHex } from './encoding.js';
import { ProtocolError } from './errors.js';
import {
  type Contact,
  formatContactString,
  formatContactStringV1,
  formatQco,
  parseContactInput,
  parseContactString,
  parseContactStringV1,
  parseQco,
} from './contacts.js';

const contact: Contact = {
  alias: 'Alice',
  publicKey: toHex(randomBytes(32)),
  dropUrls: [`http://127.0.0.1:5000/${generateDropId()}`, `https://drop.example.org/x/${generateDropId()}`],
  v1: { qrPrekey: toHex(randomBytes(32)), qrPrekeyExpiresDay: 20_700, caps: 1 },
};

function codeOf(work: () => unknown): string | null {
  try {
    work();
    return null;
  } catch (error) {
    return error instanceof ProtocolError ? error.code : 'other';
  }
}

describe('version-1 contact cards', () => {
  it('round-trips the five-line DEADDROP1 string and is read by the input detector', () => {
    const text = formatContactStringV1(contact);
    const lines = text.split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toBe('DEADDROP1');
    expect(lines[4]).toMatch(/^[A-Za-z0-9_-]{47}$/);
    expect(parseContactStringV1(text)).toEqual(contact);
    expect(parseContactInput(`\r\n${text.replace(/\n/g, '\r\n')}  `)).toEqual([contact]);
  });

  it('keeps the four-line QABELCONTACT string for Qabel apps, without the prekey', () => {
    const legacy = formatContactString(contact);
    expect(legacy.split('\n')).toHaveLength(4);
    const { v1: _v1, ...v0 } = contact;
    expect(parseContactString(legacy)).toEqual(v0);
  });

  it('carries the prekey in .qco files as a field old importers ignore', () => {
    const qco = formatQco([contact]);
    const json = JSON.parse(qco) as { contacts: Record<string, unknown>[] };
    expect(json.contacts[0]).toMatchObject({ alias: 'Alice', public_key: contact.publicKey, deaddrop: { v: 1 } });
    expect(parseQco(qco)).toEqual([contact]);
    // A broken version-1 field costs the upgrade, never the contact.
    json.contacts[0]!.deaddrop = { v: 1, qpk: 'broken' };
    const { v1: _v1, ...v0 } = contact;
    expect(parseQco(JSON.stringify(json))).toEqual([v0]);
  });

  it('refuses a damaged version-1 string with a message a user can act on', () => {
    const lines = formatContactStringV1(contact).split('\n');
    expect(codeOf(() => parseContactStringV1(lines.slice(0, 4).join('\n')))).toBe('invalid_contact');
    expect(codeOf(() => parseContactStringV1([...lines.slice(0, 4), lines[4]!.slice(1)].join('\n')))).toBe('invalid_contact');
    expect(codeOf(() => parseContactStringV1([...lines.slice(0, 4), '!'.repeat(47)].join('\n')))).toBe('invalid_contact');
    expect(codeOf(() => parseContactStringV1([...lines, 'extra'].join('\n')))).toBe('invalid_contact');
    expect(() => formatContactStringV1({ ...contact, v1: undefined })).toThrow(/needs a prekey/);
  });
});
