/**
 * The camouflage classifier of PROTOCOL-V1.md 1d and the PDUs it is run on: everything a server or a drop
 * co-tenant can compute from a PDU without its keys, trained on one half of a labelled set and scored on
 * the other half. Shared by test/v1/camouflage.test.ts and `npm run bench:camouflage`.
 *
 * Four classes (issue 14: "Init, Session, ping and v0 PDUs"): v0 boxes as our v0 senders seal them, v1
 * Init PDUs, v1 Session PDUs carrying texts, v1 Session PDUs carrying PINGs. Every pair of classes gets
 * its own binary classifier (six pairs), trained and scored on equal shares of both.
 *
 * Features: a naive-Bayes log-likelihood ratio over per-offset byte histograms (2149 × 256 cells per class,
 * Laplace-smoothed) restricted to the offsets whose chi-square test says the two classes differ, whether E
 * (bytes 1..32) is a u-coordinate on Curve25519 (not its twist) and E's top bit, and the v0 structure
 * (length, version byte).
 *
 * All PDUs come from seeded randomness (`seededRandom`), so a run is reproducible.
 */
import { BOX_CHAIN_LENGTH, BOX_KDF_LENGTH, BOX_SUITE, PAYLOAD_LENGTH } from '../../shared/protocol/boxTypes.js';
import { type PreparedIdentity, nativeKdf, prepareIdentity } from '../../electron/workers/nativeBox.js';
import {
  type Ephemeral,
  type RandomSource,
  type RawKeyPair,
  gcmSeal,
  generateEphemeral,
  generateKeyPair,
  importPublic,
  keyPairFromPrivate,
  x25519,
  x25519Objects,
} from '../../electron/core/v1/primitives.js';
import { PDU_LENGTH, type SessionState, W, initiate, newQrPrekey, openInit, openSession, pingBody, seal } from '../../electron/core/v1/session.js';
import { seededRandom, sealed, text } from './helpers.js';

const P = 2n ** 255n - 19n;
const A = 486662n;

/**
 * The Jacobi symbol (a / n) for odd n > 0, binary algorithm: far cheaper than Euler's a^((p-1)/2) in
 * BigInt. Trailing zero bits go 32 at a time (only the parity of their count matters, with n mod 8).
 */
export function jacobi(value: bigint, modulus: bigint): number {
  let a = value % modulus;
  let n = modulus;
  let t = 1;
  while (a !== 0n) {
    let zeros = 0;
    for (let low = Number(a & 0xffffffffn); low === 0; low = Number(a & 0xffffffffn)) {
      a >>= 32n;
      zeros += 32;
    }
    const low = Number(a & 0xffffffffn);
    const shift = 31 - Math.clz32(low & -low);
    if (shift > 0) a >>= BigInt(shift);
    zeros += shift;
    const n8 = Number(n & 7n);
    if (zeros & 1 && (n8 === 3 || n8 === 5)) t = -t;
    [a, n] = [n, a];
    if ((Number(a & 3n) & Number(n & 3n)) === 3) t = -t;
    a %= n;
  }
  return n === 1n ? t : 0;
}

/** True when u (little-endian, top bit masked as RFC 7748 says) is on the curve: u³ + Au² + u is a square. */
export function onCurve(e: Uint8Array): boolean {
  let u = 0n;
  for (let i = 31; i >= 0; i--) u = (u << 8n) | BigInt(i === 31 ? e[i]! & 0x7f : e[i]!);
  u %= P;
  const u2 = (u * u) % P;
  const rhs = (u2 * u + A * u2 + u) % P;
  return rhs === 0n || jacobi(rhs, P) === 1;
}

/** The 99 % quantile of chi-square with 255 degrees of freedom. */
const CHI2_255_99 = 310.46;

/** What one class's training PDUs add up to: byte counts per offset, the curve and top-bit counts. */
export interface Histogram {
  counts: Uint32Array;
  total: number;
  curve: number;
  top: number;
  /** PDUs of v0 shape (2149 bytes, version byte 0). */
  shaped: number;
}

export const emptyHistogram = (): Histogram => ({ counts: new Uint32Array(PDU_LENGTH * 256), total: 0, curve: 0, top: 0, shaped: 0 });

const isShaped = (pdu: Uint8Array): boolean => pdu.length === PDU_LENGTH && pdu[0] === 0;

export function addToHistogram(histogram: Histogram, pdu: Uint8Array): void {
  histogram.total++;
  if (!isShaped(pdu)) return; // counted as off-shape: the classifier calls such a PDU v0 at once
  histogram.shaped++;
  const counts = histogram.counts;
  for (let i = 0; i < PDU_LENGTH; i++) counts[i * 256 + pdu[i]!]!++;
  if (onCurve(pdu.subarray(1, 33))) histogram.curve++;
  if (pdu[32]! & 0x80) histogram.top++;
}

export function mergeHistogram(into: Histogram, from: Histogram): void {
  for (let i = 0; i < into.counts.length; i++) into.counts[i]! += from.counts[i]!;
  into.total += from.total;
  into.curve += from.curve;
  into.top += from.top;
  into.shaped += from.shaped;
}

/** The trained weights of one pair (label 0 against label 1), plain data so workers can receive them. */
export interface PairModel {
  weights: Float64Array;
  prior: number;
  curveWeight: [number, number];
  topWeight: [number, number];
  /** Offsets whose chi-square statistic passed the 1 % level: the only ones with non-zero weights. */
  selected: number;
  offsets: Int32Array;
}

/** Trains the binary classifier of class 0 against class 1 from their histograms. */
export function trainPair(h0: Histogram, h1: Histogram): PairModel {
  const c0 = h0.counts;
  const c1 = h1.counts;
  const t0 = h0.shaped;
  const t1 = h1.shaped;
  const weights = new Float64Array(PDU_LENGTH * 256);
  const offsets: number[] = [];
  for (let offset = 0; offset < PDU_LENGTH; offset++) {
    // Chi-square test of "same byte distribution at this offset" (2 × 256 table, 255 degrees of freedom):
    // only offsets that differ at the 1 % level vote, so thousands of noise cells cannot drown a real leak.
    let chi = 0;
    for (let byte = 0; byte < 256; byte++) {
      const cell = offset * 256 + byte;
      const both = c0[cell]! + c1[cell]!;
      if (both === 0) continue;
      const e0 = (both * t0) / (t0 + t1);
      const e1 = (both * t1) / (t0 + t1);
      chi += (c0[cell]! - e0) ** 2 / e0 + (c1[cell]! - e1) ** 2 / e1;
    }
    if (chi <= CHI2_255_99) continue;
    offsets.push(offset);
    for (let byte = 0; byte < 256; byte++) {
      const cell = offset * 256 + byte;
      weights[cell] = Math.log((c1[cell]! + 1) / (t1 + 256)) - Math.log((c0[cell]! + 1) / (t0 + 256));
    }
  }
  const bern = (k: number, t: number, yes: boolean) => Math.log(((yes ? k : t - k) + 1) / (t + 2));
  const pair = (k0: number, k1: number): [number, number] => [bern(k1, t1, false) - bern(k0, t0, false), bern(k1, t1, true) - bern(k0, t0, true)];
  return {
    weights,
    prior: Math.log((h1.total + 1) / (h0.total + 1)),
    curveWeight: pair(h0.curve, h1.curve),
    topWeight: pair(h0.top, h1.top),
    selected: offsets.length,
    offsets: Int32Array.from(offsets),
  };
}

/**
 * Predicted label (0 or 1) of one PDU. `curve` may be passed in when the caller scores the same PDU with
 * several models (the curve test is the expensive feature). A PDU not of v0 shape is label 0 at once:
 * v1 wears the v0 envelope, so any such PDU gives itself away (no class here produces one).
 */
export function classifyPair(model: PairModel, pdu: Uint8Array, curve = onCurve(pdu.subarray(1, 33))): 0 | 1 {
  if (!isShaped(pdu)) return 0;
  const weights = model.weights;
  let llr = model.prior;
  // Only selected offsets have weights (the others are 0): the sum over all 2149 would be the same, but
  // each offset's row is another cache miss in a 4.4 MB table.
  for (const i of model.offsets) llr += weights[i * 256 + pdu[i]!]!;
  llr += model.curveWeight[curve ? 1 : 0];
  llr += model.topWeight[pdu[32]! & 0x80 ? 1 : 0];
  return llr > 0 ? 1 : 0;
}

/** One binary classifier trained in place (the power test's control formats). */
export class Classifier {
  private readonly histograms = [emptyHistogram(), emptyHistogram()] as const;
  private model: PairModel | null = null;

  train(pdu: Uint8Array, label: 0 | 1): void {
    addToHistogram(this.histograms[label], pdu);
  }

  /** Turns the counts into per-cell log-likelihood ratios (call once, after training). */
  finish(): void {
    this.model = trainPair(this.histograms[0], this.histograms[1]);
  }

  classify(pdu: Uint8Array): 0 | 1 {
    return classifyPair(this.model!, pdu);
  }

  get selected(): number {
    return this.model?.selected ?? 0;
  }

  /** Share of E on the curve per class (all must be 1: fresh public keys). */
  curveShare(label: 0 | 1): number {
    return this.histograms[label].curve / this.histograms[label].shaped;
  }
}

// ---------------------------------------------------------------------------------------------- the four classes

export const PDU_CLASSES = ['v0', 'init', 'session', 'ping'] as const;
export type PduClass = (typeof PDU_CLASSES)[number];

/** The six pairs, each scored by its own classifier. */
export const PDU_CLASS_PAIRS: [PduClass, PduClass][] = PDU_CLASSES.flatMap((a, i) => PDU_CLASSES.slice(i + 1).map((b): [PduClass, PduClass] => [a, b]));

const NOW = 1_000_000;
/** Texts of the length people write, from a few bytes to most of a PDU (the body is padded to 2020 bytes). */
const textOfLength = (random: RandomSource, i: number): string => {
  const lengths = [3, 12, 40, 90, 200, 600, 1500, 1900];
  const length = lengths[random(1)[0]! % lengths.length]!;
  return `message ${i} `.padEnd(length, 'abcdefghij klmnopqrstuvwxyz ').slice(0, length);
};

/**
 * A v0 box (PROTOCOL.md section 3) with a given ephemeral key: `sealNativeBox` step by step (it draws its
 * ephemeral from the OS, this one from the seeded source). The test opens a sample with the real v0
 * decoder (`openNativeBox`), so these are v0 boxes, not look-alikes.
 */
function sealV0(sender: PreparedIdentity, recipient: Uint8Array, senderShared: Buffer, ephemeral: Ephemeral, plaintext: Uint8Array): Buffer {
  const shared1 = x25519Objects(ephemeral.key, importPublic(recipient));
  if (!shared1) throw new RangeError('unusable recipient key');
  const k1 = nativeKdf(shared1, V0_CHAIN, V0_INFO_HEADER, BOX_KDF_LENGTH);
  const header = Buffer.concat([ephemeral.publicKey, gcmSeal(k1.subarray(48, 80), k1.subarray(80, 92), sender.publicKey, Buffer.concat([recipient, ephemeral.publicKey]))]);
  const k2 = nativeKdf(senderShared, k1.subarray(0, 48), V0_INFO_BODY, BOX_KDF_LENGTH);
  return Buffer.concat([header, gcmSeal(k2.subarray(48, 80), k2.subarray(80, 92), Buffer.concat([plaintext, Buffer.alloc(4)]), Buffer.concat([recipient, header]))]);
}

const V0_SUITE = Buffer.from(BOX_SUITE);
const V0_INFO_HEADER = Buffer.concat([V0_SUITE, Buffer.from([0])]);
const V0_INFO_BODY = Buffer.concat([V0_SUITE, Buffer.from([1])]);
const V0_CHAIN = Buffer.alloc(BOX_CHAIN_LENGTH);

/** v0 boxes with the payload our v0 senders write (JSON, then zero padding), each with a fresh ephemeral. */
export function* v0Generator(random: RandomSource): Generator<Uint8Array> {
  const senderPair = keyPairFromPrivate(random(32));
  const sender = prepareIdentity(senderPair);
  const recipients = Array.from({ length: 8 }, () => {
    const pair = keyPairFromPrivate(random(32));
    return { pair, shared: x25519(senderPair, pair.publicKey)! };
  });
  for (let i = 0; ; i++) {
    const payload = new Uint8Array(PAYLOAD_LENGTH);
    const acknowledgeId = Buffer.from(random(16)).toString('hex');
    const msg = textOfLength(random, i).slice(0, PAYLOAD_LENGTH - 400); // longer texts go as v0 pieces
    payload.set(Buffer.from(JSON.stringify({ version: 1, time_stamp: NOW + i, acknowledge_id: acknowledgeId, sender: sender.publicKey.toString('hex'), model: 'box_message', data: JSON.stringify({ msg }) })));
    const recipient = recipients[i % recipients.length]!;
    const pdu = new Uint8Array(PDU_LENGTH);
    pdu.set(sealV0(sender, recipient.pair.publicKey, recipient.shared, generateEphemeral(random), payload), 1);
    yield pdu;
  }
}

/** The recipients of the v0 PDUs `generatePdus('v0', …, seed)` makes, for opening them with the real decoder. */
export function v0Recipients(seed: string): RawKeyPair[] {
  const random = classRandom('v0', seed);
  random(32); // the sender
  return Array.from({ length: 8 }, () => keyPairFromPrivate(random(32)));
}

const classRandom = (kind: PduClass, seed: string): RandomSource => seededRandom(`camouflage ${kind} ${seed}`);

/** Init PDUs of new initiations (half with a QR prekey), at most 40 per initiation, 1 or 2 copies. */
function* initGenerator(random: RandomSource): Generator<Uint8Array> {
  for (let i = 0; ; ) {
    const peer = generateKeyPair(random);
    const qpk = i % 2 === 0 ? newQrPrekey(NOW, random) : null;
    let state = initiate({ ourIdentity: generateKeyPair(random), theirIdentityPublic: peer.publicKey, theirQrPrekey: qpk ? { public: Buffer.from(qpk.public, 'base64url') } : undefined, random }, NOW);
    for (let m = 0; m < 40; m++, i++) {
      const r = sealed(seal(state, text(textOfLength(random, i)), { copies: 1 + (m % 2), random }, NOW));
      state = r.state;
      yield* r.pdus;
    }
  }
}

/**
 * Session PDUs of a conversation: runs of 1-20 messages one way, then the other side reads the last one
 * (a ratchet step) and answers, so PDUs come from many epochs and chain positions; 2 copies each.
 * `ping` says whether the PDUs handed out carry PINGs (sent after each received run, as the engine does)
 * or texts.
 */
function* sessionGenerator(random: RandomSource, ping: boolean): Generator<Uint8Array> {
  for (let i = 0; ; ) {
    const aliceIdentity = generateKeyPair(random);
    const bobIdentity = generateKeyPair(random);
    const qpk = newQrPrekey(NOW, random);
    const alice0 = initiate({ ourIdentity: aliceIdentity, theirIdentityPublic: bobIdentity.publicKey, theirQrPrekey: { public: Buffer.from(qpk.public, 'base64url') }, random }, NOW);
    const first = sealed(seal(alice0, text('hello'), { random }, NOW));
    const opened = openInit({ ourIdentity: bobIdentity, qrPrekeys: [qpk], random }, first.pdu, NOW);
    if (!opened || !('state' in opened)) throw new Error('the Init did not open');
    const sides: [SessionState, SessionState] = [opened.state, first.state];
    // 30 turns per conversation, then a new one (fresh identities and epochs from the start).
    for (let turn = 0; turn < 30; turn++) {
      const from: 0 | 1 = turn % 2 === 0 ? 0 : 1;
      const to: 0 | 1 = from === 0 ? 1 : 0;
      // PING mode: the PING first (what the engine sends after reading a run), then one text to answer.
      const run = ping ? 1 : 1 + (random(1)[0]! % 20);
      let last: Uint8Array | null = null;
      if (ping && turn > 0) {
        const r = sealed(seal(sides[from], pingBody(), { copies: 2, random }, NOW));
        sides[from] = r.state;
        last = r.pdu;
        yield* r.pdus;
      }
      for (let m = 0; m < run && sides[from].ns < W; m++, i++) {
        const r = sealed(seal(sides[from], text(textOfLength(random, i)), { copies: 2, random }, NOW));
        sides[from] = r.state;
        last = r.pdu;
        if (!ping) yield* r.pdus;
      }
      const read = last && openSession(sides[to], last, NOW, random);
      if (!read || !('state' in read)) throw new Error('the conversation broke');
      sides[to] = read.state;
    }
  }
}

/** `count` PDUs of one class from `seed`, handed to `visit` one by one (nothing is kept). */
export function generatePdus(kind: PduClass, count: number, seed: string, visit: (pdu: Uint8Array) => void): void {
  const random = classRandom(kind, seed);
  const source = kind === 'v0' ? v0Generator(random) : kind === 'init' ? initGenerator(random) : sessionGenerator(random, kind === 'ping');
  for (let made = 0; made < count; made++) visit(source.next().value as Uint8Array);
}

/** Test PDUs of one class scored by every pair model involving it: correct predictions per pair. */
export function scoreClass(kind: PduClass, models: Map<string, PairModel>): { correct: Map<string, number>; visit: (pdu: Uint8Array) => void } {
  const correct = new Map<string, number>();
  const mine = PDU_CLASS_PAIRS.filter(([a, b]) => a === kind || b === kind).map(([a, b]) => ({ key: pairKey(a, b), label: a === kind ? 0 : 1 }));
  for (const { key } of mine) correct.set(key, 0);
  const weighsCurve = mine.some(({ key }) => models.get(key)!.curveWeight.some((weight) => weight !== 0));
  return {
    correct,
    visit: (pdu) => {
      // The curve test is the costly feature; when no model weighs it (all training keys on the curve in
      // both classes gives both outcomes the same likelihood), its value cannot change a prediction.
      const curve = weighsCurve ? onCurve(pdu.subarray(1, 33)) : true;
      for (const { key, label } of mine) if (classifyPair(models.get(key)!, pdu, curve) === label) correct.set(key, correct.get(key)! + 1);
    },
  };
}

export const pairKey = (a: PduClass, b: PduClass): string => `${a}/${b}`;

/**
 * The two-sided bound on |accuracy − 0.5| that a coin stays within with probability 1 − alpha, for M
 * test PDUs: under "indistinguishable" each prediction is a fair coin, so accuracy ~ Binomial(M, 1/2) / M
 * with standard deviation 0.5 / √M.
 */
export const coinBound = (m: number, z: number): number => (z * 0.5) / Math.sqrt(m);

/** z of the two-sided 99.9 % level, and of 99.9 % over six pairs together (Bonferroni: 0.1 % / 6 each). */
export const Z_999 = 3.29;
export const Z_999_SIX = 3.76;
