// Runs only in the "browser" Vitest project: makes sure that project really is a browser page,
// so the shared/protocol tests it runs prove runtime neutrality rather than run under Node again.
import { describe, expect, it } from 'vitest';
import { cryptoReady, generateKeyPair, portableBox } from '../../shared/protocol/box.js';
import { PAYLOAD_LENGTH, PDU_LENGTH } from '../../shared/protocol/boxTypes.js';
import { passphraseOpen, passphraseSeal, TEST_PASSPHRASE_LIMITS } from '../../shared/protocol/identityBackup.js';

describe('browser runtime', () => {
  it('is a Chromium page without Node globals', () => {
    const g = globalThis as Record<string, unknown>;
    expect(typeof g.document).toBe('object');
    expect(String((g.navigator as { userAgent?: string }).userAgent)).toMatch(/Chrome/);
    expect(g.Buffer).toBeUndefined();
    expect(typeof (g.process as { versions?: { node?: string } } | undefined)?.versions?.node).toBe('undefined');
  });
  it('loads both libsodium builds and seals a PDU with WebCrypto', async () => {
    await cryptoReady();
    const [alice, bob] = await Promise.all([generateKeyPair(), generateKeyPair()]);
    const pdu = await portableBox.sealPdu(alice, bob.publicKey, new Uint8Array(PAYLOAD_LENGTH));
    expect(pdu.length).toBe(PDU_LENGTH);
    expect((await portableBox.trialOpen([alice, bob], [pdu]))[0]?.identityIndex).toBe(1);
    const sealed = await passphraseSeal(Uint8Array.of(1, 2, 3), 'pw', TEST_PASSPHRASE_LIMITS);
    expect(await passphraseOpen(sealed, 'pw')).toEqual(Uint8Array.of(1, 2, 3));
  });
});
