/**
 * Node 20 can deadlock a thread for good when a `generateKeyPairSync` job is garbage-collected while
 * the same key's JWK is being exported (gdb: `~KeyGenJob` inside `ExportJWKEdKey`, waiting on the key's
 * own mutex): the engine's crypto worker or main thread would stop without an error. Shipped code makes
 * X25519 keys from CSPRNG bytes instead (electron/core/v1/primitives.ts `freshX25519`).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOTS = ['electron', 'shared', 'server', 'tools'];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return name === 'node_modules' ? [] : sources(file);
    return /\.(ts|tsx|mjs)$/.test(name) && !/\.test\.tsx?$/.test(name) ? [file] : [];
  });
}

describe('key generation', () => {
  it('never uses node:crypto key pair jobs in shipped code', () => {
    const offenders = ROOTS.flatMap(sources).filter((file) => /generateKeyPair(Sync)?\(\s*['"]/.test(readFileSync(file, 'utf8')));
    expect(offenders).toEqual([]);
  });
});
