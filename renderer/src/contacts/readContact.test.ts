import { createElement } from 'react';
import { flushSync } from 'react-dom';
import { createRoot } from 'react-dom/client';
import { describe, expect, it } from 'vitest';
import { encodeV1Field } from '../../../shared/protocol/contacts.js';
import { MAX_CONTACT_FILE_BYTES, readContactFile, readContactText, todayDay } from './readContact.js';
import { AddContactPanel } from './AddContactPanel.js';

const KEY = 'ab'.repeat(32);
const PREKEY = 'cd'.repeat(32);
const URL_ = `https://drop.example.org/${'A'.repeat(43)}`;
const URL_2 = `https://other.example.net/drops/${'B'.repeat(43)}`;
const TODAY = 20_000;

function v1Card(expiresDay: number, alias = 'Alice', urls = [URL_]): string {
  return ['DEADDROP1', alias, urls.join(', '), KEY, encodeV1Field({ qrPrekey: PREKEY, qrPrekeyExpiresDay: expiresDay, caps: 1 })].join('\n');
}

describe('reading a contact', () => {
  it('reads a QABELCONTACT string and a .qco file with one or more contacts', async () => {
    expect(readContactText(['QABELCONTACT', 'Alice', URL_, KEY].join('\n'))).toEqual({
      ok: true,
      contacts: [{ alias: 'Alice', publicKey: KEY, dropUrls: [URL_] }],
      notes: [],
    });
    const qco = JSON.stringify({ contacts: [{ alias: 'A', public_key: KEY, drop_urls: [URL_] }, { alias: 'B', public_key: 'cd'.repeat(32), drop_urls: [URL_] }] });
    const read = await readContactFile(new Blob([qco]));
    expect(read.ok && read.contacts.map((c) => c.alias)).toEqual(['A', 'B']);
  });

  it('reads a DEADDROP1 string with its prekey, also with CRLF line ends, spaces and several drops', () => {
    expect(readContactText(v1Card(TODAY + 30, 'Alice', [URL_, URL_2]), TODAY)).toEqual({
      ok: true,
      contacts: [{ alias: 'Alice', publicKey: KEY, dropUrls: [URL_, URL_2], v1: { qrPrekey: PREKEY, qrPrekeyExpiresDay: TODAY + 30, caps: 1 } }],
      notes: [],
    });
    const messy = `\uFEFF  ${v1Card(TODAY + 1)
      .split('\n')
      .map((line) => `  ${line} `)
      .join('\r\n')}\r\n`;
    const read = readContactText(messy, TODAY);
    expect(read.ok && read.contacts[0]?.v1?.qrPrekey).toBe(PREKEY);
  });

  it('keeps a prekey through its last day; an expired one is left out, the contact added, and a note says so', () => {
    const lastDay = readContactText(v1Card(TODAY), TODAY);
    expect(lastDay.ok && lastDay.contacts[0]?.v1?.qrPrekeyExpiresDay).toBe(TODAY);
    expect(lastDay.ok && lastDay.notes).toEqual([]);

    const expired = readContactText(v1Card(TODAY - 1), TODAY);
    expect(expired).toEqual({
      ok: true,
      contacts: [{ alias: 'Alice', publicKey: KEY, dropUrls: [URL_] }],
      notes: [expect.stringMatching(/^Alice was added without the prekey on their card: it has expired/)],
    });
    // Counted in UTC days, as the card's expiry day is.
    expect(todayDay(Date.UTC(2024, 0, 2, 23, 59))).toBe(todayDay(Date.UTC(2024, 0, 2, 0, 0)));
    expect(todayDay(Date.UTC(1970, 0, 3))).toBe(2);
  });

  it('reads the deaddrop field of a .qco; a broken one costs only the prekey', async () => {
    const qpk = encodeV1Field({ qrPrekey: PREKEY, qrPrekeyExpiresDay: TODAY + 10, caps: 1 });
    const good = JSON.stringify({ contacts: [{ alias: 'A', public_key: KEY, drop_urls: [URL_], deaddrop: { v: 1, qpk, qpk_exp: TODAY + 10 } }] });
    const read = await readContactFile(new Blob([good]), TODAY);
    expect(read.ok && read.contacts[0]?.v1).toEqual({ qrPrekey: PREKEY, qrPrekeyExpiresDay: TODAY + 10, caps: 1 });

    for (const deaddrop of [{ v: 1, qpk: 'not base64!' }, { v: 1, qpk: qpk.slice(1) }, { v: 2, qpk }, 'x', null]) {
      const broken = JSON.stringify({ contacts: [{ alias: 'A', public_key: KEY, drop_urls: [URL_], deaddrop }] });
      const readBroken = readContactText(broken, TODAY);
      expect(readBroken, JSON.stringify(deaddrop)).toEqual({ ok: true, contacts: [{ alias: 'A', publicKey: KEY, dropUrls: [URL_] }], notes: [] });
    }
    const expired = JSON.stringify({ contacts: [{ alias: 'A', public_key: KEY, drop_urls: [URL_], deaddrop: { v: 1, qpk: encodeV1Field({ qrPrekey: PREKEY, qrPrekeyExpiresDay: 5, caps: 0 }) } }] });
    const readExpired = readContactText(expired, TODAY);
    expect(readExpired.ok && readExpired.contacts[0]).toEqual({ alias: 'A', publicKey: KEY, dropUrls: [URL_] });
    expect(readExpired.ok && readExpired.notes).toHaveLength(1);
  });

  it('takes the name as shown text: direction overrides and invisible characters are removed, and a note says so', async () => {
    // U+202E makes "yrollaM" read "Mallory"; a zero-width space hides in "Bob".
    const read = readContactText(['QABELCONTACT', '\u202eyrollaM\u202c B\u200bob', URL_, KEY].join('\n'));
    expect(read).toEqual({
      ok: true,
      contacts: [{ alias: 'yrollaM Bob', publicKey: KEY, dropUrls: [URL_] }],
      notes: ['Invisible formatting characters were removed from the name yrollaM Bob.'],
    });
    const qco = JSON.stringify({ contacts: [{ alias: '\u2066Eve\u2069', public_key: KEY, drop_urls: [URL_] }] });
    const file = await readContactFile(new Blob([qco]));
    expect(file.ok && file.contacts[0]!.alias).toBe('Eve');
    expect(readContactText(['QABELCONTACT', 'Alice', URL_, KEY].join('\n'))).toMatchObject({ ok: true, notes: [] });
    const invisible = readContactText(['QABELCONTACT', '\u202e\u200b\u202c', URL_, KEY].join('\n'));
    expect(invisible).toEqual({ ok: false, reason: expect.stringMatching(/^Not a valid contact: The name on the card is made only of invisible characters\. Ask your contact/) });
  });

  it('says why a contact could not be read, and names both code formats to ask for', async () => {
    const field = encodeV1Field({ qrPrekey: PREKEY, qrPrekeyExpiresDay: TODAY, caps: 0 });
    const bad = [
      'hello',
      'QABELCONTACT\nAlice',
      '{"contacts":[]}',
      ['QABELCONTACT', 'Eve', URL_, 'zz'.repeat(32)].join('\n'),
      // A version-1 code missing its prekey line, with a broken one, with a QABELCONTACT first line and five lines.
      ['DEADDROP1', 'Alice', URL_, KEY].join('\n'),
      ['DEADDROP1', 'Alice', URL_, KEY, field.slice(0, 40)].join('\n'),
      ['DEADDROP1', 'Alice', URL_, KEY, `${field.slice(0, 46)}!`].join('\n'),
      ['QABELCONTACT', 'Alice', URL_, KEY, field].join('\n'),
      ['DEADDROP1', 'Al\u0007ice', URL_, KEY, field].join('\n'),
      ['DEADDROP1', 'Alice', 'ftp://drop.example.org/x', KEY, field].join('\n'),
    ];
    for (const text of bad) {
      const read = readContactText(text, TODAY);
      expect(read.ok, text).toBe(false);
      expect(!read.ok && read.reason, text).toMatch(/Ask your contact for their contact code \(it starts with DEADDROP1, or QABELCONTACT from Qabel apps\)/);
    }
    expect(await readContactFile(new Blob(['x'.repeat(100_000)]))).toEqual({ ok: false, reason: expect.stringMatching(/too large/) });
  });
});

describe('a pasted text too long to be a contact', () => {
  it('is refused whole, before it is parsed, at the contact file size', () => {
    const name = 'A'.repeat(100_000);
    const result = readContactText(`QABELCONTACT\n${name}\nhttp://127.0.0.1:8080/${'A'.repeat(43)}\n${'ab'.repeat(32)}`);
    expect(result).toMatchObject({ ok: false, reason: expect.stringMatching(/^That text is too long to be a contact\./) });
    expect(MAX_CONTACT_FILE_BYTES).toBe(64 * 1024);
  });
});

describe('the paste box', () => {
  it('takes no more characters than a contact can have', () => {
    const host = document.createElement('div');
    document.body.append(host);
    const root = createRoot(host);
    flushSync(() => root.render(createElement(AddContactPanel, { onAdded: () => undefined })));
    expect(host.querySelector<HTMLTextAreaElement>('[data-testid=contact-paste]')!.maxLength).toBe(MAX_CONTACT_FILE_BYTES);
    root.unmount();
    host.remove();
  });
});
