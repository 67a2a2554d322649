/**
 * Camouflage (PROTOCOL-V1.md 1d, issue 14): a classifier that sees what a server or drop co-tenant sees
 * cannot tell v0, Init, Session and PING PDUs apart better than a coin, for each of the six pairs
 * (test/v1/camouflage.ts has the classifier and the PDU sources; all randomness is seeded).
 *
 * Size: the issue's 100,000 PDUs per class is `npm run bench:camouflage` (worker threads, minutes). Here
 * N = 6,000 per class (about 0.45 ms of CPU per PDU made and counted, ~15 s): each pair's classifier is trained
 * on 3,000 of each class and scored on the other 3,000 of each (M = 6,000 test PDUs per pair). Under
 * "indistinguishable" the accuracy is Binomial(M, 1/2) / M with standard deviation 0.5 / √M = 0.0065; the
 * bound is 99.9 % for the six pairs together (Bonferroni, z = 3.76): ±0.0243.
 */
import { describe, expect, it } from 'vitest';
import { PDU_LENGTH } from '../../electron/core/v1/session.js';
import {
  Classifier,
  PDU_CLASSES,
  PDU_CLASS_PAIRS,
  type Histogram,
  type PairModel,
  Z_999_SIX,
  addToHistogram,
  coinBound,
  emptyHistogram,
  generatePdus,
  jacobi,
  onCurve,
  pairKey,
  scoreClass,
  trainPair,
  v0Recipients,
} from './camouflage.js';
import { openNativeBox, prepareIdentity } from '../../electron/workers/nativeBox.js';

const N = Number(process.env.CAMO_N ?? 6_000);
const HALF = N / 2;

function pdus(kind: (typeof PDU_CLASSES)[number], count: number, seed: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  generatePdus(kind, count, seed, (pdu) => out.push(pdu));
  return out;
}

describe('v1 camouflage', () => {
  it(`a byte-histogram + curve + structure classifier scores 0.5 ± ${coinBound(N, Z_999_SIX).toFixed(4)} on every pair of v0, Init, Session and PING PDUs (${N} per class)`, () => {
    const started = performance.now();
    const histograms = new Map<string, Histogram>();
    for (const kind of PDU_CLASSES) {
      const histogram = emptyHistogram();
      generatePdus(kind, HALF, 'train', (pdu) => {
        expect(pdu.length === PDU_LENGTH && pdu[0] === 0).toBe(true);
        addToHistogram(histogram, pdu);
      });
      // E is a fresh public key in every class: always on the curve, never on the twist.
      expect(histogram.shaped).toBe(HALF);
      expect(histogram.curve).toBe(HALF);
      histograms.set(kind, histogram);
    }
    // The v0 class is made of real v0 boxes: the v0 decoder opens them (each is sealed to one of 8 keys).
    const recipients = v0Recipients('train').map(prepareIdentity);
    let opened = 0;
    generatePdus('v0', 40, 'train', (pdu) => {
      const box = pdu.subarray(1);
      if (recipients.some((recipient) => openNativeBox(recipient, box) !== null)) opened++;
    });
    expect(opened).toBe(40);
    const models = new Map<string, PairModel>(PDU_CLASS_PAIRS.map(([a, b]) => [pairKey(a, b), trainPair(histograms.get(a)!, histograms.get(b)!)]));
    const correct = new Map<string, number>();
    for (const kind of PDU_CLASSES) {
      const scorer = scoreClass(kind, models);
      generatePdus(kind, HALF, 'test', scorer.visit);
      for (const [key, count] of scorer.correct) correct.set(key, (correct.get(key) ?? 0) + count);
    }
    const bound = coinBound(N, Z_999_SIX);
    const lines = PDU_CLASS_PAIRS.map(([a, b]) => {
      const key = pairKey(a, b);
      return { key, accuracy: correct.get(key)! / N, selected: models.get(key)!.selected };
    });
    console.log(
      `camouflage: N = ${N} per class, ${N} test PDUs per pair, bound ±${bound.toFixed(4)}; ${lines.map((l) => `${l.key} ${l.accuracy.toFixed(4)} (${l.selected} offsets)`).join(', ')}; ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    for (const line of lines) expect(Math.abs(line.accuracy - 0.5), line.key).toBeLessThanOrEqual(bound);
  }, 300_000);

  it('the same classifier tells apart PDU formats that leak structure (the test has power)', { timeout: 60_000 }, () => {
    const [v0, others] = [pdus('v0', 2000, 'power'), pdus('v0', 2000, 'power other')];
    // A naive v1 that sent its tag in clear and zero-padded: what the camouflage rules out.
    const zeroed = others.map((pdu) => {
      const copy = pdu.slice();
      copy.fill(0, 33, 41);
      return copy;
    });
    // Subtler: one byte below 64 in every PDU (a small length or count in clear), and E as random bytes
    // instead of a public key (off the curve half the time).
    const smallByte = others.map((pdu) => {
      const copy = pdu.slice();
      copy[500]! &= 0x3f;
      return copy;
    });
    const twist = others.map((pdu, i) => {
      const copy = pdu.slice();
      if (i % 2 === 0) for (let k = 0; onCurve(copy.subarray(1, 33)); k++) copy[1 + (k % 31)]! ^= 1 + (k >> 5);
      return copy;
    });
    const accuracy = (leaky: Uint8Array[]) => {
      const classifier = new Classifier();
      for (let i = 0; i < 1000; i++) {
        classifier.train(v0[i]!, 0);
        classifier.train(leaky[i]!, 1);
      }
      classifier.finish();
      let correct = 0;
      for (let i = 1000; i < 2000; i++) correct += (classifier.classify(v0[i]!) === 0 ? 1 : 0) + (classifier.classify(leaky[i]!) === 1 ? 1 : 0);
      return correct / 2000;
    };
    const scores = { zeroed: accuracy(zeroed), smallByte: accuracy(smallByte), twist: accuracy(twist) };
    console.log(`camouflage power: accuracy on leaky formats ${JSON.stringify(scores)}`);
    expect(scores.zeroed).toBeGreaterThan(0.99);
    // A quarter of the values at one offset: 0.875 for a perfect classifier on that byte alone; half the
    // keys on the twist: 0.75 at best. Trained on 1,000 of each, the noise of the other selected offsets
    // costs some of that (0.67 and 0.66 here), still far outside the camouflage bound (a standard
    // deviation of the score is 0.011 on 2,000 test PDUs).
    expect(scores.smallByte).toBeGreaterThan(0.6);
    expect(scores.twist).toBeGreaterThan(0.6);
  });

  it('the curve test agrees with Euler’s criterion and knows the base point and a twist point', () => {
    const p = 2n ** 255n - 19n;
    const euler = (a: bigint): number => {
      let result = 1n;
      let base = a % p;
      for (let e = (p - 1n) / 2n; e > 0n; e >>= 1n) {
        if (e & 1n) result = (result * base) % p;
        base = (base * base) % p;
      }
      return result === 1n ? 1 : result === 0n ? 0 : -1;
    };
    let seed = 0x1234567n;
    for (let i = 0; i < 300; i++) {
      seed = (seed * 6364136223846793005n + 1442695040888963407n) % 2n ** 256n;
      expect(jacobi(seed % p, p)).toBe(euler(seed % p));
    }
    const u = (value: number) => {
      const bytes = new Uint8Array(32);
      bytes[0] = value;
      return bytes;
    };
    // u = 2 and 3 lie on the twist (u³ + Au² + u is not a square mod p), 4 and 9 on the curve.
    expect([2, 3, 4, 9].map((value) => onCurve(u(value)))).toEqual([false, false, true, true]);
  });
});
