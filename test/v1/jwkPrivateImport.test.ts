/**
 * The fast private-key import of electron/core/v1/primitives.ts: a private JWK with a placeholder `x`,
 * which OpenSSL 3 ignores (it derives the public half from `d`). A load-time check against RFC 7748's
 * key pair decides it; under a node:crypto whose JWK import keeps the placeholder as the public half,
 * the module must fall back to PKCS#8.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type * as PrimitivesModule from '../../electron/core/v1/primitives.js';
import * as realCrypto from 'node:crypto';
import { ALICE_PRIVATE, ALICE_PUBLIC, BOB_PRIVATE, BOB_PUBLIC, loadWithCrypto, unmockCrypto } from '../support/privateKeyImports.js';

const PRIMITIVES = '../../electron/core/v1/primitives.js';

afterEach(unmockCrypto);

describe('primitives.ts: the private JWK import is checked at load', () => {
  it('passes the check on this Node and refuses an import that keeps the placeholder or throws', async () => {
    const { module } = await loadWithCrypto<typeof PrimitivesModule>(PRIMITIVES, false);
    expect(module.jwkImportDerivesPublic()).toBe(true);
    const zeroX = Buffer.alloc(32).toString('base64url');
    const keepsPlaceholder = (d: Buffer): realCrypto.KeyObject => {
      const key = realCrypto.createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: d.toString('base64url'), x: zeroX }, format: 'jwk' });
      Object.defineProperty(key, 'export', { value: () => ({ kty: 'OKP', crv: 'X25519', x: zeroX }) });
      return key;
    };
    expect(module.jwkImportDerivesPublic(keepsPlaceholder)).toBe(false);
    expect(
      module.jwkImportDerivesPublic(() => {
        throw new Error('unsupported');
      }),
    ).toBe(false);
  });

  it('derives the right public key with the JWK import where it works, and no PKCS#8 import', async () => {
    const { module, log } = await loadWithCrypto<typeof PrimitivesModule>(PRIMITIVES, false);
    const before = log.der;
    expect(Buffer.from(module.keyPairFromPrivate(BOB_PRIVATE).publicKey)).toEqual(BOB_PUBLIC);
    expect(log.der).toBe(before);
  });

  it('falls back to PKCS#8 when the JWK import keeps the placeholder public half', async () => {
    const { module, log } = await loadWithCrypto<typeof PrimitivesModule>(PRIMITIVES, true);
    expect(Buffer.from(module.keyPairFromPrivate(ALICE_PRIVATE).publicKey)).toEqual(ALICE_PUBLIC);
    expect(Buffer.from(module.keyPairFromPrivate(BOB_PRIVATE).publicKey)).toEqual(BOB_PUBLIC);
    expect(log.der).toBeGreaterThanOrEqual(2);
    // A fresh key's public half is X25519 of its private half, not the placeholder.
    const fresh = module.generateKeyPair();
    expect(Buffer.from(fresh.publicKey).equals(Buffer.alloc(32))).toBe(false);
    const alice = { privateKey: new Uint8Array(ALICE_PRIVATE), publicKey: new Uint8Array(ALICE_PUBLIC) };
    expect(module.x25519(fresh, ALICE_PUBLIC)).toEqual(module.x25519(alice, fresh.publicKey));
    expect(module.x25519(fresh, ALICE_PUBLIC)).not.toBeNull();
  });
});

