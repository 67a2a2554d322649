/**
 * Cover (PROTOCOL-V1.md 4c): a cover PDU has a real PDU's shape, and cover goes to servers drawn like
 * the real sends, only to servers that announced `cover`, with the own servers as the fallback.
 */
import { createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { coverPdu } from '../../electron/core/budget/coverPdu.js';
import { CoverTargets } from '../../electron/core/budget/coverTargets.js';
import { PDU_BYTES } from '../../shared/budget/model.js';
import { formatDropUrl, generateDropId, parseDropUrl } from '../../shared/protocol/dropId.js';
import { seededRandom } from './stats.js';

const drop = (server: string) => formatDropUrl(server, generateDropId());

describe('coverPdu', () => {
  it('is 2149 bytes: 0x00, a fresh X25519 public key, random bytes; never twice the same', () => {
    const a = coverPdu();
    const b = coverPdu();
    expect(a).toHaveLength(PDU_BYTES);
    expect(a[0]).toBe(0);
    // A valid public key (Node refuses to import anything else as X25519), top bit clear like every generated key.
    expect(() => createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(a.subarray(1, 33)).toString('base64url') }, format: 'jwk' })).not.toThrow();
    expect(a[32]! & 0x80).toBe(0);
    expect(Buffer.from(a.subarray(1, 33)).equals(Buffer.from(b.subarray(1, 33)))).toBe(false);
    // The rest looks random: every byte value turns up in 2116 bytes.
    expect(new Set(a.subarray(33)).size).toBeGreaterThan(200);
  });
});

describe('CoverTargets', () => {
  const takes = new Set(['https://a.example', 'https://b.example', 'https://own.example']);
  const targets = (own: string[] = ['https://own.example']) =>
    new CoverTargets({ takesCover: (s) => takes.has(s), ownDrops: () => own.map(drop), random: seededRandom(3) });

  it('follows the distribution of real sends, among servers that take cover, each time a fresh drop ID', () => {
    const covers = targets();
    for (let i = 0; i < 30; i++) covers.noteRealPost(drop('https://a.example'));
    for (let i = 0; i < 10; i++) covers.noteRealPost(drop('https://b.example'));
    for (let i = 0; i < 20; i++) covers.noteRealPost(drop('https://old.example'));
    const counts = new Map<string, number>();
    const ids = new Set<string>();
    for (let i = 0; i < 4000; i++) {
      const { serverUrl, dropId } = parseDropUrl(covers.next()!);
      counts.set(serverUrl, (counts.get(serverUrl) ?? 0) + 1);
      ids.add(dropId);
    }
    expect(counts.get('https://old.example')).toBeUndefined();
    expect(counts.get('https://a.example')! / 4000).toBeCloseTo(0.75, 1);
    expect(counts.get('https://b.example')! / 4000).toBeCloseTo(0.25, 1);
    expect(ids.size).toBe(4000);
  });

  it('remembers the last 64 real sends only, falls back to own servers, and gives null when nobody takes cover', () => {
    const covers = targets();
    expect(parseDropUrl(covers.next()!).serverUrl).toBe('https://own.example');
    for (let i = 0; i < 64; i++) covers.noteRealPost(drop('https://a.example'));
    for (let i = 0; i < 64; i++) covers.noteRealPost(drop('https://b.example'));
    for (let i = 0; i < 50; i++) expect(parseDropUrl(covers.next()!).serverUrl).toBe('https://b.example');
    expect(targets(['https://old.example']).next()).toBeNull();
  });
});
