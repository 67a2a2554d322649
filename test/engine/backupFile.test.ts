import { createCipheriv, randomBytes } from 'node:crypto';
import { createGzip, gzipSync } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { BACKUP_PAYLOAD_SCHEMA, BACKUP_PAYLOAD_VERSION, type BackupPayload } from '../../shared/backup/backupPayload.js';
import { ApiFailure } from '../../shared/ipc/result.js';
import { argon2id } from '../../shared/protocol/argon2id.js';
import { formatDropUrl, generateDropId } from '../../shared/protocol/dropId.js';
import { toHex } from '../../shared/protocol/encoding.js';
import { TEST_PASSPHRASE_LIMITS, encryptIdentityBackup } from '../../shared/protocol/identityBackup.js';
import type { PassphraseLimits } from '../../shared/protocol/passphraseSeal.js';
import { openBackup, sealBackup } from '../../electron/core/state/backupFile.js';
import { generateNativeKeyPair } from '../../electron/core/state/nativeKeyPair.js';

/**
 * The full backup file (README "Backup files") under Node: round trip, wrong passphrase, a changed
 * byte at every position of a file, a version from the future, a file asking for too much Argon2id,
 * and payloads that fail their schema. Files are also built here from the README's description alone,
 * so the description and the code cannot drift apart.
 */

const PASSPHRASE = 'backup passphrase';
const limits = TEST_PASSPHRASE_LIMITS;

function samplePayload(overrides: Partial<BackupPayload> = {}): BackupPayload {
  const pair = generateNativeKeyPair();
  const contact = toHex(generateNativeKeyPair().publicKey);
  const id = 'identity-1';
  const dropUrl = formatDropUrl('http://127.0.0.1:8080', generateDropId());
  return {
    schema: BACKUP_PAYLOAD_SCHEMA,
    version: BACKUP_PAYLOAD_VERSION,
    createdAt: 1_700_000_000_000,
    identity: { id, alias: 'Dana', publicKey: toHex(pair.publicKey), privateKey: toHex(pair.privateKey), dropUrls: [dropUrl], dropBits: 256, createdAt: 1_600_000_000_000 },
    cursors: { [dropUrl]: 'cursor-42' },
    includesHistory: true,
    ui: {
      contacts: [
        { publicKey: contact, alias: 'Eli', dropUrls: ['http://127.0.0.1:8080/abc'], offeredDropUrls: [], status: 'verified', createdAt: 1 },
      ],
      conversations: [
        { contactKey: contact, lastMessageAt: 3, lastMessagePreview: 'hi Eli', lastMessageDirection: 'out', unreadCount: 0, messageCount: 2 },
      ],
      messages: [
        {
          id: `in:${id}:${contact}:7`, contactKey: contact, direction: 'in', kind: 'text', text: 'hello Dana ✓', payloadType: 'box_message', payload: '{"message":"hello Dana ✓"}',
          share: null, sortAt: 2, createdAt: 2, status: null, localId: null, error: null, ackIds: [], ackedIds: [], parts: null, read: true,
        },
        {
          id: 'out:local-1', contactKey: contact, direction: 'out', kind: 'text', text: 'hi Eli', payloadType: 'box_message', payload: '{"message":"hi Eli"}',
          share: null, sortAt: 3, createdAt: 3, status: 'delivered', localId: 'local-1', error: null, ackIds: ['99'], ackedIds: ['99'], parts: null, read: true,
        },
      ],
      textParts: [],
      seen: [{ dedupeKey: `${contact}:7`, messageId: `in:${id}:${contact}:7` }],
      posts: [
        { id: `in:${id}:${contact}:p1`, authorKey: contact, direction: 'in', postId: 'p1', text: 'a post', sortAt: 4, createdAt: 4, unread: 1 },
        { id: `out:${id}:p2`, authorKey: '', direction: 'out', postId: 'p2', text: 'mine', sortAt: 5, createdAt: 5, unread: 0 },
      ],
      postCopies: [{ localId: 'copy-1', postRowId: `out:${id}:p2`, contactKey: contact, status: 'delivered', error: null, ackIds: ['x'], ackedIds: ['x'] }],
      shares: [
        {
          id: `in:${id}:${contact}:s1`, direction: 'in', ownerKey: contact, shareId: 's1', name: 'Holiday', revision: 2, removed: false,
          listingRef: null, listing: null, listingRevision: 0, listingError: 'no_file', changes: null, recipients: [], sends: {}, createdAt: 6, updatedAt: 7,
        },
      ],
    },
    ...overrides,
  };
}

/** Writes a backup file from the README's description, with any header field or payload bytes chosen. */
function craftFile(plaintextJson: string, header: { opslimit?: number; memlimit?: number; version?: number; compression?: string } = {}, passphrase = PASSPHRASE): Promise<Buffer> {
  return craftWithKdf(gzipSync(Buffer.from(plaintextJson, 'utf8')), header, passphrase);
}

async function craftWithKdf(compressed: Buffer, header: { opslimit?: number; memlimit?: number; version?: number; compression?: string }, passphrase: string): Promise<Buffer> {
  const salt = randomBytes(16);
  const nonce = randomBytes(12);
  const kdfLimits: PassphraseLimits = { opsLimit: header.opslimit ?? limits.opsLimit, memLimit: header.memlimit ?? limits.memLimit };
  const head = {
    format: 'deaddrop-backup',
    version: header.version ?? 1,
    kdf: { name: 'argon2id13', opslimit: kdfLimits.opsLimit, memlimit: kdfLimits.memLimit, salt: salt.toString('base64url') },
    cipher: { name: 'aes-256-gcm', nonce: nonce.toString('base64url') },
    compression: header.compression ?? 'gzip',
  };
  // Only derive a key for settings Argon2id accepts; beyond the caps the file is refused unopened anyway.
  const key = kdfLimits.memLimit <= 256 * 1024 * 1024 && kdfLimits.opsLimit <= 8
    ? await argon2id(new TextEncoder().encode(passphrase), salt, kdfLimits, 32)
    : randomBytes(32);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(JSON.stringify(head), 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(compressed), cipher.final(), cipher.getAuthTag()]);
  return Buffer.from(JSON.stringify({ ...head, ciphertext: ciphertext.toString('base64url') }), 'utf8');
}

async function refusal(file: Uint8Array, passphrase = PASSPHRASE): Promise<ApiFailure> {
  const error = await openBackup(file, passphrase, argon2id).then(
    () => null,
    (err: unknown) => err,
  );
  expect(error, 'the file must be refused').toBeInstanceOf(ApiFailure);
  return error as ApiFailure;
}

describe('backup file format', () => {
  it('round trip: what is sealed opens to the same payload and key pair', async () => {
    const payload = samplePayload();
    const file = await sealBackup(payload, PASSPHRASE, argon2id, limits);
    const header = JSON.parse(file.toString('utf8')) as Record<string, unknown>;
    expect(Object.keys(header)).toEqual(['format', 'version', 'kdf', 'cipher', 'compression', 'ciphertext']);
    expect(header).toMatchObject({ format: 'deaddrop-backup', version: 1, kdf: { name: 'argon2id13', opslimit: 1, memlimit: 8192 }, cipher: { name: 'aes-256-gcm' }, compression: 'gzip' });
    expect(file.toString('utf8')).not.toContain('Eli');

    const opened = await openBackup(file, PASSPHRASE, argon2id);
    expect(opened.kind).toBe('full');
    if (opened.kind !== 'full') return;
    expect(opened.payload).toEqual(payload);
    expect(toHex(opened.privateKey)).toBe(payload.identity.privateKey);
  });

  it('a file written from the README description opens, and an identity-only .qid opens through the same door', async () => {
    const payload = samplePayload();
    const opened = await openBackup(await craftFile(JSON.stringify(payload)), PASSPHRASE, argon2id);
    expect(opened.kind === 'full' && opened.payload).toEqual(payload);

    const qid = await encryptIdentityBackup(
      { alias: 'Old', publicKey: payload.identity.publicKey, privateKey: payload.identity.privateKey, dropUrls: payload.identity.dropUrls, dropBits: 256 },
      PASSPHRASE,
      limits,
    );
    const old = await openBackup(Buffer.from(qid), PASSPHRASE, argon2id);
    expect(old.kind).toBe('identity');
    expect(old.kind === 'identity' && old.identity.summary).toMatchObject({ alias: 'Old', publicKey: payload.identity.publicKey });
  });

  it('a small file that inflates beyond the payload cap (a decompression bomb) is refused once it passes the cap', async () => {
    // 400 MiB of zeros compress to about 400 KB; the cap on the decompressed payload is 384 MiB.
    const gzip = createGzip({ level: 9 });
    const compressed: Buffer[] = [];
    gzip.on('data', (chunk: Buffer) => compressed.push(chunk));
    const ended = new Promise<void>((resolve) => gzip.on('end', resolve));
    const zeros = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < 400; i++) if (!gzip.write(zeros)) await new Promise((resolve) => gzip.once('drain', resolve));
    gzip.end();
    await ended;
    const bomb = Buffer.concat(compressed);
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const failure = await refusal(await craftWithKdf(bomb, {}, PASSPHRASE));
    expect(failure.message).toMatch(/too large/);
  });

  it('a wrong passphrase is refused as such', async () => {
    const file = await sealBackup(samplePayload(), PASSPHRASE, argon2id, limits);
    const error = await refusal(file, 'not the passphrase');
    expect(error.code).toBe('bad_passphrase');
    expect(error.message).toMatch(/^Wrong passphrase/);
  });

  it('a changed character at any position of the file is refused, never opened', async () => {
    const file = await sealBackup(samplePayload({ ui: { contacts: [], conversations: [], messages: [], textParts: [], seen: [], posts: [], postCopies: [], shares: [] } }), PASSPHRASE, argon2id, limits);
    const text = file.toString('utf8');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const codes = new Map<string, number>();
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      // Another character of the same kind where one exists (so JSON and base64 still parse), else any other.
      const pool = alphabet.includes(c) ? alphabet : '{}[]":,. x';
      const replacement = pool[(pool.indexOf(c) + 1 + (i % (pool.length - 1))) % pool.length]!;
      const damaged = Buffer.from(text.slice(0, i) + (replacement === c ? '~' : replacement) + text.slice(i + 1), 'utf8');
      const error = await refusal(damaged);
      expect(['bad_input', 'bad_passphrase'], `position ${i}`).toContain(error.code);
      codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
    }
    // Both kinds occur: header and syntax damage is named as damage, ciphertext damage fails authentication.
    expect(codes.get('bad_input')).toBeGreaterThan(10);
    expect(codes.get('bad_passphrase')).toBeGreaterThan(100);

    for (const cut of [0, 1, text.length / 2, text.length - 30, text.length - 1]) {
      expect((await refusal(file.subarray(0, Math.floor(cut)))).code).toBe('bad_input');
    }
    expect((await refusal(Buffer.concat([file, Buffer.from('x')]))).code).toBe('bad_input');
    expect((await refusal(Buffer.from([0xff, 0xfe, 0x00]))).message).toMatch(/not text/);
    expect((await refusal(Buffer.from('{"format":"something else"}'))).message).toBe('The file is not a Deaddrop backup.');
  });

  it('a version from the future is refused with a message that says so, for the envelope and for the payload', async () => {
    const payload = samplePayload();
    const futureEnvelope = await craftFile(JSON.stringify(payload), { version: 2 });
    expect((await refusal(futureEnvelope)).message).toMatch(/newer version of Deaddrop/);
    const futurePayload = await craftFile(JSON.stringify({ ...payload, version: 2 }));
    expect((await refusal(futurePayload)).message).toMatch(/newer version of Deaddrop/);
    const otherCompression = await craftFile(JSON.stringify(payload), { compression: 'zstd' });
    expect((await refusal(otherCompression)).message).toMatch(/damaged or has unsupported settings/);
  });

  it('a file asking for more Argon2id than the caps is refused unopened, naming its demand', async () => {
    const file = await craftFile(JSON.stringify(samplePayload()), { opslimit: 1_000_000, memlimit: 4 * 1024 * 1024 * 1024 });
    const kdf = vi.fn(argon2id);
    const error = await openBackup(file, PASSPHRASE, kdf).then(() => null, (err: unknown) => err as ApiFailure);
    expect(error?.code).toBe('bad_input');
    expect(error?.message).toMatch(/^The backup asks for Argon2id with 4096 MiB of memory and 1000000 passes; at most 256 MiB and 8 passes/);
    expect(kdf).not.toHaveBeenCalled();
    const justAbove = await craftFile(JSON.stringify(samplePayload()), { opslimit: 9 });
    expect((await refusal(justAbove)).message).toMatch(/9 passes/);
  });

  it('payloads that fail their schema are refused, and so is one the engine would not write', async () => {
    const good = samplePayload();
    const other = generateNativeKeyPair();
    const contactKey = good.ui.contacts[0]!.publicKey;
    const cases: [string, unknown, RegExp][] = [
      ['not JSON', 'this is not json', /not JSON/],
      ['another schema', { ...good, schema: 'something' }, /not a Deaddrop backup/],
      ['no identity', { ...good, identity: undefined }, /damaged or incomplete \(at identity/],
      ['a private key that is not hex', { ...good, identity: { ...good.identity, privateKey: 'zz' } }, /at identity.privateKey/],
      ['a public key of another private key', { ...good, identity: { ...good.identity, privateKey: toHex(other.privateKey) } }, /public key does not belong/],
      ['an invalid drop URL', { ...good, identity: { ...good.identity, dropUrls: ['http://x/notadrop'] }, cursors: {} }, /invalid drop URL/],
      ['a cursor of a foreign drop', { ...good, cursors: { 'http://elsewhere/x': 'c' } }, /cursor for a drop/],
      ['a contact status that does not exist', { ...good, ui: { ...good.ui, contacts: [{ ...good.ui.contacts[0], status: 'friend' }] } }, /at ui.contacts.0.status/],
      ['a contact twice', { ...good, ui: { ...good.ui, contacts: [good.ui.contacts[0], good.ui.contacts[0]] } }, /a contact twice/],
      ['a message of another identity', { ...good, ui: { ...good.ui, messages: [{ ...good.ui.messages[0], id: `in:someone-else:${contactKey}:7` }] } }, /another identity/],
      ['messages in a backup without history', { ...good, includesHistory: false }, /holds no messages, yet it does/],
      ['a message without its text', { ...good, ui: { ...good.ui, messages: [{ ...good.ui.messages[0], text: undefined }] } }, /at ui.messages.0.text/],
      ['a post of another identity', { ...good, ui: { ...good.ui, posts: [{ ...good.ui.posts[0], id: `in:someone-else:${contactKey}:p1` }, good.ui.posts[1]] } }, /a post of another identity/],
      ['an own post with an author', { ...good, ui: { ...good.ui, posts: [good.ui.posts[0], { ...good.ui.posts[1], authorKey: contactKey }] } }, /a post of another identity/],
      ['a copy of a post it does not hold', { ...good, ui: { ...good.ui, posts: [good.ui.posts[0]] } }, /a copy of a post it does not hold/],
      ['a shared folder of another identity', { ...good, ui: { ...good.ui, shares: [{ ...good.ui.shares[0], id: `in:someone-else:${contactKey}:s1` }] } }, /a shared folder of another identity/],
      ['a shared folder whose listing names a path outside it', { ...good, ui: { ...good.ui, shares: [{ ...good.ui.shares[0], listing: { format: 'deaddrop-share-listing', version: 1, name: 'x', files: [{ path: '../x', mime: null, ref: null }] } }] } }, /at ui.shares.0.listing/],
      ['posts in a backup without history', { ...good, includesHistory: false, ui: { ...good.ui, messages: [], seen: [] } }, /holds no messages, yet it does/],
    ];
    for (const [what, payload, message] of cases) {
      const file = await craftFile(typeof payload === 'string' ? payload : JSON.stringify(payload));
      const error = await refusal(file);
      expect(error.code, what).toBe('bad_input');
      expect(error.message, what).toMatch(message);
      if (typeof payload !== 'string' && !/not a Deaddrop/.test(message.source)) {
        // sealBackup checks the same way: such a backup is never written.
        await expect(sealBackup(payload as BackupPayload, PASSPHRASE, argon2id, limits), what).rejects.toThrow(/This backup cannot be written/);
      }
    }
    const notGzip = await craftWithKdf(Buffer.from(JSON.stringify(good)), {}, PASSPHRASE);
    expect((await refusal(notGzip)).message).toMatch(/does not decompress/);
  });
});
