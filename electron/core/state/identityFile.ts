/** `.qid` identity backups (PROTOCOL.md section 5): always passphrase-encrypted, via shared/protocol. */
import type { IdentitySummary } from '../../../shared/ipc/contract.js';
import type { KeyPair } from '../../../shared/protocol/boxTypes.js';
import { parseDropUrl } from '../../../shared/protocol/dropId.js';
import { fromBase64Url, fromHex, toHex } from '../../../shared/protocol/encoding.js';
import { type PassphraseKdf, type PassphraseLimits, decryptIdentityBackup, encryptIdentityBackup } from '../../../shared/protocol/identityBackup.js';
import { toApiFailure } from '../api/protocolFailure.js';

export interface ImportedIdentity {
  summary: Omit<IdentitySummary, 'id' | 'createdAt'>;
  privateKey: Uint8Array;
}

/**
 * `kdf` runs Argon2id (the engine passes its worker pool's).
 * @throws ApiFailure 'bad_passphrase' or 'bad_input' (also for a file asking for more Argon2id than allowed)
 */
export async function importIdentity(backup: string, passphrase: string, kdf: PassphraseKdf): Promise<ImportedIdentity> {
  try {
    const identity = await decryptIdentityBackup(backup, passphrase, kdf);
    return {
      summary: {
        alias: identity.alias,
        publicKey: identity.publicKey,
        dropUrls: identity.dropUrls,
        // Older backups did not record the range: estimate it from the drop ID's trailing zero bits.
        dropBits: identity.dropBits ?? randomBitsOf(identity.dropUrls[0]),
      },
      privateKey: fromHex(identity.privateKey, 32),
    };
  } catch (err) {
    throw toApiFailure(err);
  }
}

export async function exportIdentity(
  identity: IdentitySummary,
  pair: KeyPair,
  passphrase: string,
  limits: PassphraseLimits | undefined,
  kdf: PassphraseKdf,
): Promise<{ fileName: string; content: string }> {
  try {
    const content = await encryptIdentityBackup(
      {
        alias: identity.alias,
        publicKey: identity.publicKey,
        privateKey: toHex(pair.privateKey),
        dropUrls: identity.dropUrls,
        dropBits: identity.dropBits,
      },
      passphrase,
      limits,
      kdf,
    );
    return { fileName: `${safeFileName(identity.alias)}.qid`, content };
  } catch (err) {
    throw toApiFailure(err);
  }
}

/** A reduced-range drop ID is random bits followed by zero bits (PROTOCOL.md section 1). */
function randomBitsOf(dropUrl: string | undefined): number {
  if (!dropUrl) return 256;
  const bytes = fromBase64Url(parseDropUrl(dropUrl).dropId);
  let zeros = 0;
  for (let i = bytes.length - 1; i >= 0; i--) {
    const byte = bytes[i]!;
    if (byte === 0) {
      zeros += 8;
      continue;
    }
    zeros += 31 - Math.clz32(byte & -byte); // trailing zero bits of the last non-zero byte
    break;
  }
  return Math.max(1, 256 - zeros);
}

/** The alias as a file name (without extension): no characters file systems refuse, at most 100. */
export function safeFileName(alias: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are not allowed in file names
  const cleaned = alias.replace(/[<>:"/\\|?*\u0000-\u001f]/g, '_').replace(/^[\s.]+|[\s.]+$/g, '');
  return cleaned.length > 0 ? cleaned.slice(0, 100) : 'identity';
}
