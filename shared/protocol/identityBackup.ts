/**
 * The identity backup file `.qid` (ours: always encrypted, PROTOCOL.md section 5): the identity's
 * alias, key pair and drop URLs as JSON, sealed with a passphrase (see passphraseSeal.ts).
 */
import { z } from 'zod';
import { parseDropUrl } from './dropId.js';
import { fromHex, toHex, utf8Decode, utf8Encode, LOWER_HEX_KEY } from './encoding.js';
import { ProtocolError } from './errors.js';
import { openWithPassphrase, sealWithPassphrase, type PassphraseKdf, type PassphraseLimits } from './passphraseSeal.js';

export {
  DEFAULT_PASSPHRASE_LIMITS, MAX_PASSPHRASE_LIMITS, TEST_PASSPHRASE_LIMITS, passphraseOpen, passphraseSeal, type PassphraseKdf, type PassphraseLimits,
} from './passphraseSeal.js';

/** What a backup restores. Keys are 64 lowercase hex characters. */
export interface IdentityBackup {
  alias: string;
  publicKey: string;
  privateKey: string;
  dropUrls: string[];
  /** Random bits of the drop IDs (PROTOCOL.md section 1), when the writer recorded them. */
  dropBits?: number;
}

const IDENTITY_FORMAT = 'deaddrop-identity';
const IDENTITY_VERSION = 1;
const hex64 = z.string().regex(LOWER_HEX_KEY);
const identitySchema = z.object({
  format: z.literal(IDENTITY_FORMAT),
  version: z.literal(IDENTITY_VERSION),
  alias: z.string().trim().min(1).max(128),
  public_key: hex64,
  private_key: hex64,
  drop_urls: z.array(z.string().max(2048)).min(1).max(16),
  drop_bits: z.number().int().min(1).max(256).optional(),
});

function invalidBackup(message: string): ProtocolError {
  return new ProtocolError('invalid_backup', message);
}

type PublicKeyOf = (privateKey: Uint8Array) => Promise<Uint8Array>;

/**
 * The portable X25519 base multiplication, loaded at first use like Argon2id: hosts that never open a
 * backup never load libsodium for it. Started before a slow step so the two overlap; never rejects
 * unobserved.
 */
function loadPublicKeyOf(): Promise<PublicKeyOf> {
  const loading = import('./box.js').then(async ({ cryptoReady, publicKeyFromPrivate }) => {
    await cryptoReady();
    return publicKeyFromPrivate;
  });
  loading.catch(() => undefined);
  return loading;
}

/** Checks that the key pair belongs together and every drop URL is valid. */
async function checkIdentity(identity: IdentityBackup, publicKeyOf = loadPublicKeyOf()): Promise<void> {
  const privateKey = fromHex(identity.privateKey, 32, 'invalid_backup');
  const derived = toHex(await (await publicKeyOf)(privateKey));
  if (derived !== identity.publicKey.toLowerCase()) throw invalidBackup('The public key does not belong to the private key.');
  for (const url of identity.dropUrls) {
    try {
      parseDropUrl(url);
    } catch {
      throw invalidBackup('The backup holds an invalid drop URL.');
    }
  }
}

/** The `.qid` text for `identity`, encrypted under `passphrase` (Argon2id by `kdf`, in place by default). */
export async function encryptIdentityBackup(identity: IdentityBackup, passphrase: string, limits?: PassphraseLimits, kdf?: PassphraseKdf): Promise<string> {
  await checkIdentity(identity);
  const content = {
    format: IDENTITY_FORMAT,
    version: IDENTITY_VERSION,
    alias: identity.alias,
    public_key: identity.publicKey.toLowerCase(),
    private_key: identity.privateKey.toLowerCase(),
    drop_urls: identity.dropUrls,
    ...(identity.dropBits !== undefined ? { drop_bits: identity.dropBits } : {}),
  };
  // A backup that decryptIdentityBackup would refuse must never be written.
  if (!identitySchema.safeParse(content).success) throw invalidBackup('This identity cannot be backed up: its name or drop URLs are out of range.');
  const plaintext = utf8Encode(JSON.stringify(content));
  try {
    return await sealWithPassphrase('deaddrop-identity-backup', plaintext, passphrase, limits, kdf);
  } finally {
    plaintext.fill(0);
  }
}

/**
 * Decrypts and validates a `.qid` file (Argon2id by `kdf`, in place by default).
 * @throws ProtocolError 'bad_passphrase' or 'invalid_backup' (also for key-derivation settings above `MAX_PASSPHRASE_LIMITS`)
 */
export async function decryptIdentityBackup(text: string, passphrase: string, kdf?: PassphraseKdf): Promise<IdentityBackup> {
  const publicKeyOf = loadPublicKeyOf(); // loads while Argon2id runs
  const plaintext = await openWithPassphrase('deaddrop-identity-backup', text, passphrase, kdf);
  let json: unknown;
  try {
    json = JSON.parse(utf8Decode(plaintext, 'invalid_backup')) as unknown;
  } catch {
    throw invalidBackup('The backup content is damaged.');
  } finally {
    plaintext.fill(0);
  }
  const parsed = identitySchema.safeParse(json);
  if (!parsed.success) throw invalidBackup('The backup content is not a Deaddrop identity.');
  const identity: IdentityBackup = {
    alias: parsed.data.alias,
    publicKey: parsed.data.public_key,
    privateKey: parsed.data.private_key,
    dropUrls: parsed.data.drop_urls,
    ...(parsed.data.drop_bits !== undefined ? { dropBits: parsed.data.drop_bits } : {}),
  };
  await checkIdentity(identity, publicKeyOf);
  return identity;
}
