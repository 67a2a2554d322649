// Entry bundled by bundles.test.ts the way the app ships code (Vite for pages, esbuild for Electron's
// main process and worker). It exercises both libsodium builds and WebCrypto and publishes the outcome
// on globalThis, so the same file runs as a page script and as a Node module.
import { cryptoReady, generateKeyPair, portableBox } from '../../shared/protocol/box.js';
import { PAYLOAD_LENGTH } from '../../shared/protocol/boxTypes.js';
import { bytesEqual } from '../../shared/protocol/encoding.js';
import { passphraseOpen, passphraseSeal, TEST_PASSPHRASE_LIMITS } from '../../shared/protocol/identityBackup.js';

async function smoke(): Promise<string> {
  await cryptoReady();
  const [alice, bob] = await Promise.all([generateKeyPair(), generateKeyPair()]);
  const payload = new Uint8Array(PAYLOAD_LENGTH).fill(7);
  const pdu = await portableBox.sealPdu(alice, bob.publicKey, payload);
  const [hit] = await portableBox.trialOpen([alice, bob], [pdu]);
  if (hit?.identityIndex !== 1 || !bytesEqual(hit.opened.payload, payload)) return 'box failed';
  const sealed = await passphraseSeal(Uint8Array.of(1, 2, 3), 'pw', TEST_PASSPHRASE_LIMITS);
  if (!bytesEqual(await passphraseOpen(sealed, 'pw'), Uint8Array.of(1, 2, 3))) return 'passphrase seal failed';
  return `ok ${pdu.length}`;
}

(globalThis as { cryptoSmoke?: Promise<string> }).cryptoSmoke = smoke().catch((error: unknown) => `error: ${String(error)}`);
