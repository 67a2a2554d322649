/**
 * The camouflage classifier of PROTOCOL-V1.md 1d: everything a server or a drop co-tenant can compute
 * from a PDU without its keys, trained on one half of a labelled set and scored on the other half.
 * Features: a naive-Bayes log-likelihood ratio over per-offset byte histograms (2149 × 256 cells per class,
 * Laplace-smoothed) restricted to the offsets whose chi-square test says the classes differ, whether E (bytes 1..32) is a u-coordinate
 * on Curve25519 (not its twist) and E's top bit, and the v0 structure (length, version byte).
 */
import { PDU_LENGTH } from '../../electron/core/v1/session.js';

const P = 2n ** 255n - 19n;
const A = 486662n;

function modPow(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let b = base % P;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return result;
}

/** True when u (little-endian, top bit masked as RFC 7748 says) is on the curve: u³ + Au² + u is a square. */
export function onCurve(e: Uint8Array): boolean {
  let u = 0n;
  for (let i = 31; i >= 0; i--) u = (u << 8n) | BigInt(i === 31 ? e[i]! & 0x7f : e[i]!);
  const rhs = (((u * u) % P) * u + A * ((u * u) % P) + u) % P;
  return rhs === 0n || modPow(rhs, (P - 1n) / 2n) === 1n;
}

/** The 99 % quantile of chi-square with 255 degrees of freedom. */
const CHI2_255_99 = 310.46;

export interface Features {
  llr: number;
  curve: boolean;
  topBit: boolean;
  v0Shape: boolean;
}

export class Classifier {
  private counts = [new Uint32Array(PDU_LENGTH * 256), new Uint32Array(PDU_LENGTH * 256)];
  private totals = [0, 0];
  private curve = [0, 0];
  private top = [0, 0];
  private weights: Float64Array | null = null;
  /** Per-offset chi-square statistics of the training set, and how many offsets passed the 1 % level. */
  readonly chiSquare = new Float64Array(PDU_LENGTH);
  selected = 0;
  private prior = 0;
  private curveWeight: [number, number] = [0, 0];
  private topWeight: [number, number] = [0, 0];

  train(pdu: Uint8Array, label: 0 | 1): void {
    const counts = this.counts[label]!;
    for (let i = 0; i < PDU_LENGTH; i++) counts[i * 256 + pdu[i]!]!++;
    this.totals[label]!++;
    if (onCurve(pdu.subarray(1, 33))) this.curve[label]!++;
    if (pdu[32]! & 0x80) this.top[label]!++;
  }

  /** Turns the counts into per-cell log-likelihood ratios (call once, after training). */
  finish(): void {
    const [c0, c1] = this.counts as [Uint32Array, Uint32Array];
    const [t0, t1] = this.totals as [number, number];
    this.weights = new Float64Array(PDU_LENGTH * 256);
    this.selected = 0;
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
      this.chiSquare[offset] = chi;
      if (chi <= CHI2_255_99) continue;
      this.selected++;
      for (let byte = 0; byte < 256; byte++) {
        const cell = offset * 256 + byte;
        this.weights[cell] = Math.log((c1[cell]! + 1) / (t1 + 256)) - Math.log((c0[cell]! + 1) / (t0 + 256));
      }
    }
    this.prior = Math.log((t1 + 1) / (t0 + 1));
    const bern = (k: number, t: number, yes: boolean) => Math.log(((yes ? k : t - k) + 1) / (t + 2));
    this.curveWeight = [bern(this.curve[1]!, t1, false) - bern(this.curve[0]!, t0, false), bern(this.curve[1]!, t1, true) - bern(this.curve[0]!, t0, true)];
    this.topWeight = [bern(this.top[1]!, t1, false) - bern(this.top[0]!, t0, false), bern(this.top[1]!, t1, true) - bern(this.top[0]!, t0, true)];
  }

  /** Predicted label (1 = v1). */
  classify(pdu: Uint8Array): 0 | 1 {
    if (pdu.length !== PDU_LENGTH || pdu[0] !== 0) return 0; // not v0-shaped: v1 wears the same envelope
    const weights = this.weights!;
    let llr = this.prior;
    for (let i = 0; i < PDU_LENGTH; i++) llr += weights[i * 256 + pdu[i]!]!;
    llr += this.curveWeight[onCurve(pdu.subarray(1, 33)) ? 1 : 0];
    llr += this.topWeight[pdu[32]! & 0x80 ? 1 : 0];
    return llr > 0 ? 1 : 0;
  }

  /** Share of E on the curve per class (both must be 1: fresh public keys). */
  curveShare(label: 0 | 1): number {
    return this.curve[label]! / this.totals[label]!;
  }
}
