/**
 * The raw X25519 rate of one core (node:crypto, prepared key objects): the yardstick trial decryption
 * is measured against, since every PDU in a drop costs at least one X25519.
 */
import { diffieHellman, generateKeyPairSync } from 'node:crypto';

const pairs = Array.from({ length: 64 }, () => generateKeyPairSync('x25519'));

/** X25519 operations per second on this thread, after a short warm-up. */
export function rawX25519Rate(operations = 10_000): number {
  for (let i = 0; i < 1000; i++) diffieHellman({ privateKey: pairs[i % 64]!.privateKey, publicKey: pairs[(i + 1) % 64]!.publicKey });
  const start = process.hrtime.bigint();
  for (let i = 0; i < operations; i++) diffieHellman({ privateKey: pairs[i % 64]!.privateKey, publicKey: pairs[(i + 7) % 64]!.publicKey });
  return operations / (Number(process.hrtime.bigint() - start) / 1e9);
}
