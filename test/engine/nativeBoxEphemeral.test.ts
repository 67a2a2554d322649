/**
 * The ephemeral key of every v0 PDU electron/workers/nativeBox.ts seals: imported from JWK (a PKCS#8
 * import costs about ten times more), after the same load-time check as electron/core/v1/primitives.ts,
 * with PKCS#8 when a JWK import would keep the placeholder public half.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type * as NativeBoxModule from '../../electron/workers/nativeBox.js';
import { PAYLOAD_LENGTH } from '../../shared/protocol/boxTypes.js';
import { ALICE_PRIVATE, ALICE_PUBLIC, BOB_PRIVATE, BOB_PUBLIC, loadWithCrypto, unmockCrypto } from '../support/privateKeyImports.js';

const NATIVE_BOX = '../../electron/workers/nativeBox.js';

afterEach(unmockCrypto);

describe('nativeBox.ts: the ephemeral key of a sealed v0 PDU', () => {
  const alice = { privateKey: new Uint8Array(ALICE_PRIVATE), publicKey: new Uint8Array(ALICE_PUBLIC) };
  const bob = { privateKey: new Uint8Array(BOB_PRIVATE), publicKey: new Uint8Array(BOB_PUBLIC) };
  const payload = new Uint8Array(PAYLOAD_LENGTH).fill(7);

  it('is imported from JWK, not PKCS#8 (ten times dearer), and the PDU opens', async () => {
    const { module, log } = await loadWithCrypto<typeof NativeBoxModule>(NATIVE_BOX, false);
    const before = { ...log };
    const pdus = await Promise.all(Array.from({ length: 5 }, () => module.nativeBox.sealPdu(alice, bob.publicKey, payload)));
    expect(log.der - before.der).toBe(0);
    expect(log.jwk - before.jwk).toBeGreaterThanOrEqual(5);
    for (const pdu of pdus) {
      const opened = await module.nativeBox.openPdu(bob, pdu);
      expect(opened && Buffer.from(opened.senderPublicKey)).toEqual(ALICE_PUBLIC);
    }
  });

  it('falls back to PKCS#8 when the JWK import keeps the placeholder, so the PDU still opens', async () => {
    const { module, log } = await loadWithCrypto<typeof NativeBoxModule>(NATIVE_BOX, true);
    expect(module.jwkImportDerivesPublic()).toBe(false);
    const before = log.der;
    const pdu = await module.nativeBox.sealPdu(alice, bob.publicKey, payload);
    expect(log.der - before).toBe(1);
    const opened = await module.nativeBox.openPdu(bob, pdu);
    expect(opened && Buffer.from(opened.payload)).toEqual(Buffer.from(payload));
  });
});
