import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateDropId } from './dropId.js';
import { randomBytes, toHex } from './encoding.js';
import { ProtocolError } from './errors.js';
import {
  formatContactString, formatFingerprint, formatQco, parseContactInput, parseContactString, parseQco, qcoFileName, type Contact,
} from './contacts.js';

const KEY = toHex(randomBytes(32));
const URL1 = `http://localhost:5000/${generateDropId()}`;
const URL2 = `https://drop.example.org/tools/drop/${generateDropId()}`;
const alice: Contact = { alias: 'Alice Müller', publicKey: KEY, dropUrls: [URL1, URL2], email: 'alice@example.org', phone: '+49 30 1234' };

function invalidMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe('invalid_contact');
    return (error as ProtocolError).message;
  }
  throw new Error('expected invalid_contact');
}

function hasControlCharacter(s: string): boolean {
  return Array.from(s).some((ch) => {
    const code = ch.codePointAt(0)!;
    return code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029;
  });
}

const contactArb: fc.Arbitrary<Contact> = fc.record({
  alias: fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim().length > 0 && !hasControlCharacter(s)).map((s) => s.trim()),
  publicKey: fc.uint8Array({ minLength: 32, maxLength: 32 }).map(toHex),
  dropUrls: fc.array(fc.constantFrom('http://127.0.0.1:8080', 'https://a.example', 'https://b.example/x/y').map((s) => `${s}/${generateDropId()}`), { minLength: 1, maxLength: 4 }),
}).chain((c) => fc.record({ email: fc.option(fc.emailAddress(), { nil: undefined }) }).map(({ email }) => (email ? { ...c, email } : c)));

describe('contact string', () => {
  it('formats the four lines of PROTOCOL.md section 5', () => {
    expect(formatContactString(alice)).toBe(`QABELCONTACT\nAlice Müller\n${URL1}, ${URL2}\n${KEY}`);
  });
  it('round-trips (email and phone are not part of the string)', () => {
    fc.assert(fc.property(contactArb, (c) => {
      const { email: _email, ...withoutEmail } = c;
      expect(parseContactString(formatContactString(c))).toEqual(withoutEmail);
    }));
  });
  it('tolerates CRLF, surrounding whitespace and upper-case hex', () => {
    const text = `  \r\nQABELCONTACT\r\n  Alice Müller \r\n${URL1} ,${URL2}\r\n${KEY.toUpperCase()}\r\n\r\n `;
    expect(parseContactString(text)).toEqual({ alias: 'Alice Müller', publicKey: KEY, dropUrls: [URL1, URL2] });
  });
  it('rejects every truncation of a contact string that loses information', () => {
    const text = formatContactString(alice);
    const keyStart = text.lastIndexOf('\n') + 1;
    for (let end = 0; end < text.length; end++) {
      const truncated = text.slice(0, end);
      if (end > keyStart) expect(invalidMessage(() => parseContactString(truncated))).toMatch(/public key/);
      else invalidMessage(() => parseContactString(truncated));
    }
  });
  it('explains what is wrong', () => {
    expect(invalidMessage(() => parseContactString('hello'))).toMatch(/QABELCONTACT/);
    expect(invalidMessage(() => parseContactString(`QABELCONTACT\nA\n${URL1}`))).toMatch(/4 lines/);
    expect(invalidMessage(() => parseContactString(`QABELCONTACT\nA\n${URL1}\n${KEY.slice(2)}`))).toMatch(/public key/);
    expect(invalidMessage(() => parseContactString(`QABELCONTACT\nA\nftp://x/${generateDropId()}\n${KEY}`))).toMatch(/drop URL 1/);
    expect(invalidMessage(() => parseContactString(`QABELCONTACT\nA\n${URL1}, http://x/short\n${KEY}`))).toMatch(/drop URL 2/);
    expect(invalidMessage(() => parseContactString(`QABELCONTACT\n \n${URL1}\n${KEY}`))).toMatch(/name/);
    expect(invalidMessage(() => parseContactString('x'.repeat(100_000)))).toMatch(/not a contact/);
    expect(invalidMessage(() => formatContactString({ ...alice, alias: 'a\nb' }))).toMatch(/name/);
  });
});

describe('.qco files', () => {
  it('round-trips lists of contacts', () => {
    fc.assert(fc.property(fc.array(contactArb, { minLength: 1, maxLength: 5 }), (contacts) => {
      expect(parseQco(formatQco(contacts))).toEqual(contacts);
    }));
  });
  it('reads the original list form with nulls, and one bare contact object', () => {
    const file = JSON.stringify({ contacts: [{ alias: 'Bob', email: null, phone: '', public_key: KEY.toUpperCase(), drop_urls: [URL1] }] });
    expect(parseQco(file)).toEqual([{ alias: 'Bob', publicKey: KEY, dropUrls: [URL1] }]);
    expect(parseQco(`\uFEFF${JSON.stringify({ alias: 'Carol', public_key: KEY, drop_urls: [URL2], email: 'c@d.e' })}`)).toEqual([{ alias: 'Carol', publicKey: KEY, dropUrls: [URL2], email: 'c@d.e' }]);
  });
  it('validates every field and says which contact is wrong', () => {
    const good = { alias: 'A', public_key: KEY, drop_urls: [URL1] };
    expect(invalidMessage(() => parseQco('{'))).toMatch(/JSON/);
    expect(invalidMessage(() => parseQco('[]'))).toMatch(/does not hold/);
    expect(invalidMessage(() => parseQco('{"contacts":{}}'))).toMatch(/not a list/);
    expect(invalidMessage(() => parseQco('{"contacts":[]}'))).toMatch(/no contacts/);
    expect(invalidMessage(() => parseQco(JSON.stringify({ contacts: [good, { ...good, public_key: 'zz' }] })))).toMatch(/Contact 2.*public key/);
    expect(invalidMessage(() => parseQco(JSON.stringify({ contacts: [{ ...good, drop_urls: 'x' }] })))).toMatch(/drop URL/);
    expect(invalidMessage(() => parseQco(JSON.stringify({ contacts: [{ ...good, drop_urls: Array(17).fill(URL1) }] })))).toMatch(/more than 16/);
    expect(invalidMessage(() => parseQco(JSON.stringify({ contacts: [{ ...good, alias: 7 }] })))).toMatch(/name/);
    expect(invalidMessage(() => parseQco(JSON.stringify({ contacts: [{ ...good, email: 5 }] })))).toMatch(/e-mail/);
    expect(invalidMessage(() => parseQco(JSON.stringify({ contacts: [null] })))).toMatch(/Contact 1/);
    expect(invalidMessage(() => parseQco(' '.repeat(5 * 1024 * 1024)))).toMatch(/too large/);
  });
  it('throws only invalid_contact on arbitrary JSON and text', () => {
    fc.assert(fc.property(fc.oneof(fc.json(), fc.string(), fc.constant(formatQco([alice])).chain((s) => fc.nat({ max: s.length }).map((n) => s.slice(0, n)))), (text) => {
      try {
        parseContactInput(text);
      } catch (error) {
        expect(error).toBeInstanceOf(ProtocolError);
        expect((error as ProtocolError).code).toBe('invalid_contact');
      }
    }));
  });
});

describe('input detection, file names and fingerprints', () => {
  it('detects contact strings and JSON', () => {
    expect(parseContactInput(`\n ${formatContactString(alice)} \n`)).toEqual([{ alias: alice.alias, publicKey: KEY, dropUrls: alice.dropUrls }]);
    expect(parseContactInput(formatQco([alice, { ...alice, alias: 'Two' }])).map((c) => c.alias)).toEqual(['Alice Müller', 'Two']);
    expect(invalidMessage(() => parseContactInput('hello there'))).toMatch(/neither/);
  });
  it('makes file-system-safe export names', () => {
    expect(qcoFileName('Alice')).toBe('contact-Alice.qco');
    expect(qcoFileName('a/b\\c:d*e?"f<g>h|i\u0000')).toBe('contact-a_b_c_d_e__f_g_h_i_.qco');
    expect(qcoFileName('..')).toBe('contact-unnamed.qco');
    expect(qcoFileName('😀'.repeat(300))).toBe(`contact-${'😀'.repeat(100)}.qco`);
  });
  it('groups the fingerprint in fours', () => {
    const fingerprint = formatFingerprint(KEY.toUpperCase());
    expect(fingerprint.split(' ')).toHaveLength(16);
    expect(fingerprint.replace(/ /g, '')).toBe(KEY);
    expect(invalidMessage(() => formatFingerprint('abc'))).toMatch(/64 hexadecimal/);
  });
});
