import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from './box.js';
import { generateDropId } from './dropId.js';
import { randomBytes, toHex, utf8Encode } from './encoding.js';
import { ProtocolError } from './errors.js';
import { argon2id } from './argon2id.js';
import {
  DEFAULT_PASSPHRASE_LIMITS, MAX_PASSPHRASE_LIMITS, TEST_PASSPHRASE_LIMITS, decryptIdentityBackup, encryptIdentityBackup, passphraseOpen, passphraseSeal,
  type IdentityBackup, type PassphraseKdf,
} from './identityBackup.js';

async function codeOf(promise: Promise<unknown>): Promise<string | null> {
  try {
    await promise;
    return null;
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    return error.code;
  }
}

let identity: IdentityBackup;
beforeAll(async () => {
  const keys = await generateKeyPair();
  identity = { alias: 'Alice', publicKey: toHex(keys.publicKey), privateKey: toHex(keys.privateKey), dropUrls: [`http://127.0.0.1:5000/${generateDropId()}`] };
});

describe('passphrase seal', () => {
  it('round-trips any bytes and stores its parameters in a versioned envelope', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.string({ minLength: 1, maxLength: 30 }), async (data, passphrase) => {
      const sealed = await passphraseSeal(data, passphrase, TEST_PASSPHRASE_LIMITS);
      expect(await passphraseOpen(sealed, passphrase)).toEqual(data);
    }), { numRuns: 15 });
    const envelope = JSON.parse(await passphraseSeal(utf8Encode('x'), 'pw', TEST_PASSPHRASE_LIMITS)) as Record<string, unknown>;
    expect(envelope).toMatchObject({ format: 'deaddrop-sealed', version: 1, kdf: { name: 'argon2id13', opslimit: 1, memlimit: 8192 }, cipher: { name: 'aes-256-gcm' } });
  });
  it('works with the default (real) Argon2id cost', async () => {
    const sealed = await passphraseSeal(utf8Encode('data key'), 'correct horse', DEFAULT_PASSPHRASE_LIMITS);
    expect(JSON.parse(sealed)).toMatchObject({ kdf: { opslimit: DEFAULT_PASSPHRASE_LIMITS.opsLimit, memlimit: DEFAULT_PASSPHRASE_LIMITS.memLimit } });
    expect(await passphraseOpen(sealed, 'correct horse')).toEqual(utf8Encode('data key'));
  });
  it('accepts the same passphrase in another Unicode normal form', async () => {
    const sealed = await passphraseSeal(utf8Encode('x'), 'Mu\u0308ller', TEST_PASSPHRASE_LIMITS);
    expect(await passphraseOpen(sealed, 'M\u00fcller')).toEqual(utf8Encode('x'));
  });
  it('says bad_passphrase for a wrong passphrase or a changed ciphertext or header', async () => {
    const sealed = await passphraseSeal(utf8Encode('secret'), 'right', TEST_PASSPHRASE_LIMITS);
    expect(await codeOf(passphraseOpen(sealed, 'wrong'))).toBe('bad_passphrase');
    expect(await codeOf(passphraseOpen(sealed, ''))).toBe('bad_passphrase');
    const e = JSON.parse(sealed) as { ciphertext: string; kdf: { opslimit: number } };
    const flipped = `${e.ciphertext.slice(0, 3)}${e.ciphertext[3] === 'A' ? 'B' : 'A'}${e.ciphertext.slice(4)}`;
    expect(await codeOf(passphraseOpen(JSON.stringify({ ...e, ciphertext: flipped }), 'right'))).toBe('bad_passphrase');
    // The KDF parameters are authenticated: raising them does not yield the same key, and the tag fails.
    expect(await codeOf(passphraseOpen(JSON.stringify({ ...e, kdf: { ...e.kdf, opslimit: 2 } }), 'right'))).toBe('bad_passphrase');
  });
  it('says invalid_backup for anything that is not a sealed envelope, and bounds the KDF cost', async () => {
    const sealed = JSON.parse(await passphraseSeal(utf8Encode('x'), 'pw', TEST_PASSPHRASE_LIMITS)) as { kdf: object };
    const bad = [
      '', 'nope', '[]', 'null', '{}', JSON.stringify({ ...sealed, version: 2 }), JSON.stringify({ ...sealed, format: 'deaddrop-identity-backup' }),
      JSON.stringify({ ...sealed, kdf: { ...sealed.kdf, memlimit: 2 ** 40 } }), JSON.stringify({ ...sealed, kdf: { ...sealed.kdf, opslimit: 1000 } }),
      JSON.stringify({ ...sealed, kdf: { ...sealed.kdf, salt: '!!' } }), JSON.stringify({ ...sealed, ciphertext: 'AA' }), 'x'.repeat(2 * 1024 * 1024),
    ];
    for (const text of bad) expect(await codeOf(passphraseOpen(text, 'pw')), text.slice(0, 80)).toBe('invalid_backup');
  });
  it('rejects truncated envelopes and random text with a ProtocolError only', async () => {
    const sealed = await passphraseSeal(utf8Encode('x'), 'pw', TEST_PASSPHRASE_LIMITS);
    await fc.assert(fc.asyncProperty(fc.oneof(fc.nat({ max: sealed.length - 1 }).map((n) => sealed.slice(0, n)), fc.string(), fc.json()), async (text) => {
      expect(['invalid_backup', 'bad_passphrase']).toContain(await codeOf(passphraseOpen(text, 'pw')));
    }), { numRuns: 50 });
  });
});

describe('identity backup (.qid)', () => {
  it('round-trips an identity', async () => {
    const text = await encryptIdentityBackup(identity, 'pass phrase', TEST_PASSPHRASE_LIMITS);
    expect(JSON.parse(text)).toMatchObject({ format: 'deaddrop-identity-backup', version: 1 });
    expect(text).not.toContain(identity.privateKey);
    expect(await decryptIdentityBackup(text, 'pass phrase')).toEqual(identity);
    expect(await codeOf(decryptIdentityBackup(text, 'other'))).toBe('bad_passphrase');
    const withBits = await encryptIdentityBackup({ ...identity, dropBits: 12 }, 'pw', TEST_PASSPHRASE_LIMITS);
    expect(await decryptIdentityBackup(withBits, 'pw')).toEqual({ ...identity, dropBits: 12 });
    expect(await codeOf(encryptIdentityBackup({ ...identity, dropBits: 0 }, 'pw', TEST_PASSPHRASE_LIMITS))).toBe('invalid_backup');
  });
  it('refuses a backup asking for more Argon2id than allowed before deriving anything, naming what it asks for', async () => {
    const backup = JSON.parse(await encryptIdentityBackup(identity, 'pw', TEST_PASSPHRASE_LIMITS)) as { kdf: object };
    const noKdf = () => Promise.reject(new Error('the KDF must not run'));
    const hostile = JSON.stringify({ ...backup, kdf: { ...backup.kdf, memlimit: 4 * 2 ** 30, opslimit: 100 } });
    await expect(decryptIdentityBackup(hostile, 'pw', noKdf)).rejects.toMatchObject({
      code: 'invalid_backup',
      message: 'The backup asks for Argon2id with 4096 MiB of memory and 100 passes; at most 256 MiB and 8 passes are accepted, so it is refused unopened (it could stall this computer).',
    });
    const tooManyPasses = JSON.stringify({ ...backup, kdf: { ...backup.kdf, opslimit: MAX_PASSPHRASE_LIMITS.opsLimit + 1 } });
    await expect(decryptIdentityBackup(tooManyPasses, 'pw', noKdf)).rejects.toThrow(/with 8 KiB of memory and 9 passes/);
    // At the caps it is tried (and here fails on the changed, authenticated header).
    const atCaps = JSON.stringify({ ...backup, kdf: { ...backup.kdf, opslimit: 8, memlimit: 256 * 2 ** 20 } });
    expect(await codeOf(decryptIdentityBackup(atCaps, 'pw', async () => new Uint8Array(32)))).toBe('bad_passphrase');
    await expect(encryptIdentityBackup(identity, 'pw', { opsLimit: 9, memLimit: 8192 })).rejects.toThrow(RangeError);
  });
  it('derives its key with the Argon2id it is given', async () => {
    const derived: number[] = [];
    const kdf: PassphraseKdf = async (passphrase, salt, limits, length) => {
      derived.push(limits.memLimit);
      return argon2id(passphrase, salt, limits, length);
    };
    const text = await encryptIdentityBackup(identity, 'pass phrase', TEST_PASSPHRASE_LIMITS, kdf);
    expect(await decryptIdentityBackup(text, 'pass phrase')).toEqual(identity);
    expect(await decryptIdentityBackup(text, 'pass phrase', kdf)).toEqual(identity);
    expect(derived).toEqual([TEST_PASSPHRASE_LIMITS.memLimit, TEST_PASSPHRASE_LIMITS.memLimit]);
  });
  it('is not interchangeable with a generic sealed secret', async () => {
    const backup = await encryptIdentityBackup(identity, 'pw', TEST_PASSPHRASE_LIMITS);
    expect(await codeOf(passphraseOpen(backup, 'pw'))).toBe('invalid_backup');
    const generic = await passphraseSeal(utf8Encode(JSON.stringify(identity)), 'pw', TEST_PASSPHRASE_LIMITS);
    expect(await codeOf(decryptIdentityBackup(generic, 'pw'))).toBe('invalid_backup');
  });
  it('refuses to write a backup it could not read back: foreign key pair, bad drop URLs, bad name', async () => {
    const other = toHex(randomBytes(32));
    expect(await codeOf(encryptIdentityBackup({ ...identity, publicKey: other }, 'pw', TEST_PASSPHRASE_LIMITS))).toBe('invalid_backup');
    expect(await codeOf(encryptIdentityBackup({ ...identity, privateKey: 'xy' }, 'pw', TEST_PASSPHRASE_LIMITS))).toBe('invalid_backup');
    expect(await codeOf(encryptIdentityBackup({ ...identity, dropUrls: ['http://x/short'] }, 'pw', TEST_PASSPHRASE_LIMITS))).toBe('invalid_backup');
    expect(await codeOf(encryptIdentityBackup({ ...identity, dropUrls: [] }, 'pw', TEST_PASSPHRASE_LIMITS))).toBe('invalid_backup');
    expect(await codeOf(encryptIdentityBackup({ ...identity, alias: 'x'.repeat(129) }, 'pw', TEST_PASSPHRASE_LIMITS))).toBe('invalid_backup');
    expect(await codeOf(encryptIdentityBackup({ ...identity, alias: '  ' }, 'pw', TEST_PASSPHRASE_LIMITS))).toBe('invalid_backup');
  });
});
