/**
 * Loading a crypto module over a node:crypto whose private-key imports are counted and, on request,
 * behave like a library that takes a private JWK's placeholder `x` as the key's public half (what the
 * load-time check of electron/core/v1/primitives.ts and electron/workers/nativeBox.ts guards against).
 */
import { vi } from 'vitest';
import * as realCrypto from 'node:crypto';

/** RFC 7748 section 6.1. */
export const ALICE_PRIVATE = Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex');
export const ALICE_PUBLIC = Buffer.from('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a', 'hex');
export const BOB_PRIVATE = Buffer.from('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb', 'hex');
export const BOB_PUBLIC = Buffer.from('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f', 'hex');

type CreatePrivateKey = typeof realCrypto.createPrivateKey;

/** Every private-key import the module under test made, by format. */
export interface ImportLog {
  der: number;
  jwk: number;
}

/**
 * Loads `modulePath` (relative to this file) afresh over a node:crypto whose `createPrivateKey` counts
 * imports and, with `keepPlaceholder`, exports a private JWK import's given `x` as its public half.
 * Call `unmockCrypto` after each test.
 */
export async function loadWithCrypto<T>(modulePath: string, keepPlaceholder: boolean): Promise<{ module: T; log: ImportLog }> {
  const log: ImportLog = { der: 0, jwk: 0 };
  vi.resetModules();
  vi.doMock('node:crypto', () => {
    const createPrivateKey = ((input: Parameters<CreatePrivateKey>[0]) => {
      const options = input as { format?: string; key?: unknown };
      if (options.format === 'der') log.der++;
      if (options.format !== 'jwk') return realCrypto.createPrivateKey(input);
      log.jwk++;
      const key = realCrypto.createPrivateKey(input);
      const jwk = options.key as { x?: string };
      if (!keepPlaceholder || typeof jwk.x !== 'string') return key;
      const placeholder = jwk.x;
      const realExport = key.export.bind(key) as (o: realCrypto.JwkKeyExportOptions) => realCrypto.JsonWebKey;
      Object.defineProperty(key, 'export', { value: (o: realCrypto.JwkKeyExportOptions) => ({ ...realExport(o), x: placeholder }) });
      return key;
    }) as CreatePrivateKey;
    return { ...realCrypto, default: { ...realCrypto, createPrivateKey }, createPrivateKey };
  });
  const module = (await import(/* @vite-ignore */ modulePath)) as T;
  return { module, log };
}

export function unmockCrypto(): void {
  vi.doUnmock('node:crypto');
  vi.resetModules();
}
