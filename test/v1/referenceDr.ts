/**
 * A plain Double Ratchet (Signal spec, sections 3.2-3.5) for the compromise games: the same KDFs as v1
 * but no per-message DH mix, no tags and the header in clear (header encryption does not change which
 * message keys an attacker with a stolen state can derive). States are plain objects; `clone` copies one.
 */
import { type RawKeyPair, gcmOpen, gcmSeal, generateKeyPair, hkdf, hmac, x25519 } from '../../electron/core/v1/primitives.js';

export interface DrState {
  rk: Buffer;
  dhs: RawKeyPair;
  dhr: Uint8Array | null;
  cks: Buffer | null;
  ckr: Buffer | null;
  ns: number;
  nr: number;
  pn: number;
  skipped: Map<string, Buffer>;
}

export interface DrMessage {
  dh: Uint8Array;
  pn: number;
  n: number;
  ct: Buffer;
}

const kdfRk = (rk: Uint8Array, dh: Uint8Array) => {
  const out = hkdf(dh, rk, Buffer.from('REF rk'), 64);
  return { rk: out.subarray(0, 32), ck: out.subarray(32, 64) };
};
const kdfCk = (ck: Uint8Array) => ({ mk: hmac(ck, Uint8Array.of(1)), ck: hmac(ck, Uint8Array.of(2)) });
const NONCE = Buffer.alloc(12);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

export function drInitAlice(sk: Uint8Array, bobPublic: Uint8Array): DrState {
  const dhs = generateKeyPair();
  const { rk, ck } = kdfRk(sk, x25519(dhs, bobPublic)!);
  return { rk, dhs, dhr: bobPublic, cks: ck, ckr: null, ns: 0, nr: 0, pn: 0, skipped: new Map() };
}

export function drInitBob(sk: Uint8Array, bobPair: RawKeyPair): DrState {
  return { rk: Buffer.from(sk), dhs: bobPair, dhr: null, cks: null, ckr: null, ns: 0, nr: 0, pn: 0, skipped: new Map() };
}

export const drClone = (s: DrState): DrState => ({ ...s, skipped: new Map(s.skipped) });

export function drEncrypt(state: DrState, plaintext: Uint8Array): { state: DrState; message: DrMessage } {
  const next = drClone(state);
  const { mk, ck } = kdfCk(next.cks!);
  next.cks = ck;
  const message = { dh: next.dhs.publicKey, pn: next.pn, n: next.ns, ct: gcmSeal(mk, NONCE, plaintext, Buffer.from(`${hex(next.dhs.publicKey)}/${next.ns}`)) };
  next.ns++;
  return { state: next, message };
}

const open = (mk: Uint8Array, m: DrMessage) => gcmOpen(mk, NONCE, m.ct, Buffer.from(`${hex(m.dh)}/${m.n}`));

export function drDecrypt(state: DrState, m: DrMessage): { state: DrState; plaintext: Buffer } | null {
  const next = drClone(state);
  const key = `${hex(m.dh)}/${m.n}`;
  const saved = next.skipped.get(key);
  if (saved) {
    const plaintext = open(saved, m);
    if (!plaintext) return null;
    next.skipped.delete(key);
    return { state: next, plaintext };
  }
  if (!next.dhr || hex(m.dh) !== hex(next.dhr)) {
    skip(next, m.pn);
    next.pn = next.ns;
    next.ns = 0;
    next.nr = 0;
    next.dhr = m.dh;
    const dhRecv = x25519(next.dhs, next.dhr);
    if (!dhRecv) return null;
    const r = kdfRk(next.rk, dhRecv);
    next.rk = r.rk;
    next.ckr = r.ck;
    next.dhs = generateKeyPair();
    const s = kdfRk(next.rk, x25519(next.dhs, next.dhr)!);
    next.rk = s.rk;
    next.cks = s.ck;
  }
  skip(next, m.n);
  const { mk, ck } = kdfCk(next.ckr!);
  next.ckr = ck;
  next.nr++;
  const plaintext = open(mk, m);
  return plaintext ? { state: next, plaintext } : null;
}

function skip(state: DrState, until: number): void {
  if (!state.ckr) return;
  while (state.nr < until) {
    const { mk, ck } = kdfCk(state.ckr);
    state.skipped.set(`${hex(state.dhr!)}/${state.nr}`, mk);
    state.ckr = ck;
    state.nr++;
  }
}

/** What a passive attacker holding a copy of the sender's state derives for the sender's later messages. */
export function drAttackSent(stolen: DrState, m: DrMessage): boolean {
  if (!stolen.cks || hex(m.dh) !== hex(stolen.dhs.publicKey) || m.n < stolen.ns) return false;
  let ck = stolen.cks;
  let mk: Buffer = Buffer.alloc(0);
  for (let i = stolen.ns; i <= m.n; i++) ({ mk, ck } = kdfCk(ck));
  return open(mk, m) !== null;
}
