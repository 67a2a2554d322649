/**
 * `npm run bench:ratchet`: protocol v1 costs on this machine (PROTOCOL-V1.md 1d "Performance"):
 * - seal and open of own Session PDUs (us each; design targets ≤ 230 / ≤ 160 us on the 2-core VM),
 * - a tag-table miss (500 sessions in the table),
 * - foreign-PDU trial throughput: today's v0 trial alone vs the v1 receiver path (tag lookup, then the
 *   same single X25519 shared by the v0 header check and the Init tag), measured in the same run;
 *   target ratio ≥ 0.9;
 * - v0 seal (the native box of every version-0 message, receipt and ticket hand-out): its one-use key
 *   imported from JWK as shipped vs imported from PKCS#8 (the earlier code), measured in the same run.
 *
 *   node --import tsx test/bench/ratchetBench.ts [--pdus 4000] [--messages 2000]
 */
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { BOX_CHAIN_LENGTH, BOX_HEADER_LENGTH, BOX_KDF_LENGTH, BOX_KEY_LENGTH, BOX_SUITE, PAYLOAD_LENGTH } from '../../shared/protocol/boxTypes.js';
import { generateNativeKeyPair } from '../../electron/core/state/nativeKeyPair.js';
import { type NativeEphemeral, freshEphemeral, nativeBox, nativeKdf, prepareIdentity, sealNativeBox, trialOpenPrepared } from '../../electron/workers/nativeBox.js';
import { gcmOpen, importPrivate, importPublicOnce, x25519Objects } from '../../electron/core/v1/primitives.js';
import { type SessionState, OFF_E, OFF_H, OFF_T, openInitWithDh, openSession, seal } from '../../electron/core/v1/session.js';
import { TagTable } from '../../electron/core/v1/tagTable.js';
import { establish, sealed, text } from '../v1/helpers.js';

const { values } = parseArgs({ options: { pdus: { type: 'string', default: '4000' }, messages: { type: 'string', default: '2000' } } });
const PDUS = Number(values.pdus);
const MESSAGES = Number(values.messages);
const ROUNDS = 3;
const NOW = 1_000_000;

const us = (ms: number, count: number) => ((ms * 1000) / count).toFixed(1);

function sealOpen(): { seal: number; open: number } {
  let best = { seal: Infinity, open: Infinity };
  for (let round = 0; round < ROUNDS; round++) {
    let { alice, bob } = establish(NOW, 2);
    const pdus: Uint8Array[] = [];
    const states: SessionState[] = [];
    let sealMs = 0;
    for (let i = 0; i < MESSAGES; i++) {
      if (bob.ns >= 127) ({ alice, bob } = establish(NOW, 2));
      const start = performance.now();
      const r = sealed(seal(bob, text(`message ${i}`), {}, NOW));
      sealMs += performance.now() - start;
      bob = r.state;
      pdus.push(r.pdu);
      states.push(alice);
    }
    // Open each PDU against the receiver state current at its sealing (sessions were re-established).
    let openMs = 0;
    let receiver = states[0]!;
    for (let i = 0; i < pdus.length; i++) {
      if (states[i] !== states[i - 1]) receiver = states[i]!;
      const start = performance.now();
      const opened = openSession(receiver, pdus[i]!, NOW);
      openMs += performance.now() - start;
      if (!opened || !('state' in opened)) throw new Error('own PDU did not open');
      receiver = opened.state;
    }
    best = { seal: Math.min(best.seal, sealMs), open: Math.min(best.open, openMs) };
  }
  return best;
}

function tagMiss(table: TagTable): number {
  const probes = Array.from({ length: 200_000 }, () => randomBytes(16));
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    let hits = 0;
    for (const probe of probes) if (table.lookup(probe)) hits++;
    best = Math.min(best, performance.now() - start);
    if (hits) throw new Error('random tags hit the table');
  }
  return (best * 1e6) / probes.length; // ns per lookup
}

const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** The one-use key as the native box made it before: PKCS#8 import, public half from SPKI. */
function derEphemeral(): NativeEphemeral {
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_X25519, randomBytes(32)]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return { privateKey, publicKey: spki.subarray(spki.length - 32) };
}

/** Best-of-rounds v0 seals per second, one key maker against the other, interleaved round by round. */
function v0Seals(count: number): { jwk: number; der: number } {
  const sender = prepareIdentity(generateNativeKeyPair());
  const to = generateNativeKeyPair().publicKey;
  const payload = new Uint8Array(PAYLOAD_LENGTH);
  const rate = (make: () => NativeEphemeral): number => {
    const start = performance.now();
    for (let i = 0; i < count; i++) sealNativeBox(sender, to, payload, make);
    return count / ((performance.now() - start) / 1000);
  };
  let best = { jwk: 0, der: 0 };
  for (let round = 0; round < ROUNDS; round++) best = { jwk: Math.max(best.jwk, rate(freshEphemeral)), der: Math.max(best.der, rate(derEphemeral)) };
  return best;
}

const INFO_HEADER = Buffer.concat([Buffer.from(BOX_SUITE), Buffer.from([0])]);
const ZERO_CHAIN = Buffer.alloc(BOX_CHAIN_LENGTH);

async function main(): Promise<void> {
  console.log(`ratchet benchmark: ${MESSAGES} own messages, ${PDUS} foreign PDUs, best of ${ROUNDS}`);
  const t = sealOpen();
  console.log(`own Session PDU: seal ${us(t.seal, MESSAGES)} us, open ${us(t.open, MESSAGES)} us  (design: seal <= 230, open <= 160 on the 2-core VM)`);

  const states: SessionState[] = [];
  for (let i = 0; i < 500; i++) states.push(establish(NOW, 2).alice);
  const table = TagTable.fromStates(states);
  console.log(`tag table: 500 sessions, ${table.size} entries; miss ${tagMiss(table).toFixed(0)} ns per lookup`);

  // Foreign traffic: half v0 PDUs for strangers, half v1 PDUs of other people's sessions.
  const me = generateNativeKeyPair();
  const meImported = prepareIdentity(me);
  const sender = generateNativeKeyPair();
  const foreign: Uint8Array[] = [];
  let other = establish(NOW, 2).bob;
  for (let i = 0; i < PDUS; i++) {
    if (i % 2 === 0) foreign.push(await nativeBox.sealPdu(sender, generateNativeKeyPair().publicKey, new Uint8Array(randomBytes(PAYLOAD_LENGTH))));
    else {
      if (other.ns >= 127) other = establish(NOW, 2).bob;
      const r = sealed(seal(other, text('not yours'), {}, NOW));
      other = r.state;
      foreign.push(r.pdu);
    }
  }
  const ctx = { ourIdentity: me, qrPrekeys: [] };
  const mePrivate = importPrivate(me); // imported once per batch, as the v0 trial does
  const aad = Buffer.alloc(2 * BOX_KEY_LENGTH);
  aad.set(me.publicKey);
  const v1Path = (pdu: Uint8Array): boolean => {
    if (table.lookup(pdu.subarray(OFF_T, OFF_H))) return true;
    let e;
    try {
      e = importPublicOnce(pdu.subarray(OFF_E, OFF_T));
    } catch {
      return false;
    }
    const dh1 = x25519Objects(mePrivate, e);
    if (!dh1) return false;
    // v0 header check from the same dh1 (what nativeBox's openHeader does after its own X25519).
    const box = pdu.subarray(1);
    const k1 = nativeKdf(dh1, ZERO_CHAIN, INFO_HEADER, BOX_KDF_LENGTH);
    aad.set(box.subarray(0, BOX_KEY_LENGTH), BOX_KEY_LENGTH);
    if (gcmOpen(k1.subarray(48, 80), k1.subarray(80, 92), box.subarray(BOX_KEY_LENGTH, BOX_HEADER_LENGTH), aad)) return true;
    return openInitWithDh(dh1, ctx, pdu, NOW) !== null;
  };
  let v0Best = 0;
  let v1Best = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // Interleaved: both paths see the same background load.
    let start = performance.now();
    const hits0 = trialOpenPrepared([meImported], foreign).filter(Boolean).length;
    v0Best = Math.max(v0Best, PDUS / ((performance.now() - start) / 1000));
    start = performance.now();
    let hits1 = 0;
    for (const pdu of foreign) if (v1Path(pdu)) hits1++;
    v1Best = Math.max(v1Best, PDUS / ((performance.now() - start) / 1000));
    if (hits0 || hits1) throw new Error('foreign PDUs opened');
  }
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const v0 = v0Seals(Math.max(200, Math.floor(MESSAGES / 4)));
  console.log(`v0 seal (native box): one-use key from JWK ${fmt(v0.jwk)} PDUs/s, from PKCS#8 (before) ${fmt(v0.der)} PDUs/s; ratio ${(v0.jwk / v0.der).toFixed(2)}`);
  console.log(`foreign PDUs, 1 identity, 1 core: v0 trial ${fmt(v0Best)} PDUs/s; v0 + v1 (tag lookup, shared X25519, v0 header, T_init) ${fmt(v1Best)} PDUs/s; ratio ${(v1Best / v0Best).toFixed(2)}  (target >= 0.9)`);
}

await main();
