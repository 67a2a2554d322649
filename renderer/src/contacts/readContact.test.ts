import { describe, expect, it } from 'vitest';
import { readContactFile, readContactText } from './readContact.js';

const KEY = 'ab'.repeat(32);
const URL_ = `https://drop.example.org/${'A'.repeat(43)}`;

describe('reading a contact', () => {
  it('reads a QABELCONTACT string and a .qco file with one or more contacts', async () => {
    expect(readContactText(['QABELCONTACT', 'Alice', URL_, KEY].join('\n'))).toEqual({ ok: true, contacts: [{ alias: 'Alice', publicKey: KEY, dropUrls: [URL_] }] });
    const qco = JSON.stringify({ contacts: [{ alias: 'A', public_key: KEY, drop_urls: [URL_] }, { alias: 'B', public_key: 'cd'.repeat(32), drop_urls: [URL_] }] });
    const read = await readContactFile(new Blob([qco]));
    expect(read.ok && read.contacts.map((c) => c.alias)).toEqual(['A', 'B']);
  });

  it('says why a contact could not be read, and what to ask for instead', async () => {
    for (const bad of ['hello', 'QABELCONTACT\nAlice', '{"contacts":[]}', ['QABELCONTACT', 'Eve', URL_, 'zz'.repeat(32)].join('\n')]) {
      const read = readContactText(bad);
      expect(read.ok, bad).toBe(false);
      expect(!read.ok && read.reason, bad).toMatch(/Ask your contact for their contact code/);
    }
    expect(await readContactFile(new Blob(['x'.repeat(100_000)]))).toEqual({ ok: false, reason: expect.stringMatching(/too large/) });
  });
});
