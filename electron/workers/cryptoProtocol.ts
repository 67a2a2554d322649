/**
 * The typed protocol between the engine's worker pool and a crypto worker: a discriminated union of
 * requests in a `{seq, request}` envelope, answered by `{seq, response}` where the response is a
 * Result (errors are serialised, never thrown across the thread boundary).
 */
import type { PassphraseLimits } from '../../shared/protocol/argon2id.js';
import type { KeyPair, TrialHit } from '../../shared/protocol/boxTypes.js';
import type { Result } from '../../shared/ipc/result.js';

export type CryptoRequest =
  /** First message after spawn: the worker answers once it is ready to work. */
  | { kind: 'init' }
  /** Seals a 2048-byte payload to one recipient. */
  | { kind: 'seal'; sender: KeyPair; recipientPublicKey: Uint8Array; payload: Uint8Array }
  /**
   * Trial-opens a batch of PDUs against all given identities. The PDUs travel packed end to end in
   * one buffer (transferred, not copied: cloning thousands of small arrays costs microseconds each).
   */
  | { kind: 'trialOpen'; identities: KeyPair[]; packed: Uint8Array; lengths: number[]; /** Also look for v1 Init tags (default true). */ inits?: boolean }
  /**
   * Argon2id of a passphrase (UTF-8, transferred): a third of a second at our defaults, seconds at
   * the most a file may ask for. The pool sends these to one worker only, which keeps libsodium's memory.
   */
  | { kind: 'argon2id'; passphrase: Uint8Array; salt: Uint8Array; limits: PassphraseLimits; length: number }
  /** Last message: the worker answers, then lets its thread end. */
  | { kind: 'close' };

export interface CryptoResponseMap {
  init: { ready: true };
  seal: { pdu: Uint8Array };
  /**
   * `inits`: for each PDU no identity opened as a v0 box, the version-1 Init candidate it is (the identity
   * and dh1 = X25519(IK, E), which the v0 trial computed anyway), else null.
   */
  trialOpen: { hits: (TrialHit | null)[]; inits: ({ identityIndex: number; dh1: Uint8Array } | null)[] };
  argon2id: { key: Uint8Array };
  close: { closed: true };
}

export type CryptoKind = CryptoRequest['kind'];
export type RequestOfKind<K extends CryptoKind> = Extract<CryptoRequest, { kind: K }>;

export interface CryptoEnvelope {
  seq: number;
  request: CryptoRequest;
}

/** Packs PDUs for a trialOpen request; the buffer is meant for the transfer list. */
export function packPdus(pdus: readonly Uint8Array[]): { packed: Uint8Array; lengths: number[] } {
  let total = 0;
  for (const pdu of pdus) total += pdu.length;
  const packed = new Uint8Array(total);
  const lengths: number[] = [];
  let offset = 0;
  for (const pdu of pdus) {
    packed.set(pdu, offset);
    offset += pdu.length;
    lengths.push(pdu.length);
  }
  return { packed, lengths };
}

/** The PDUs of a packed trialOpen request, as views into its buffer. */
export function unpackPdus(packed: Uint8Array, lengths: readonly number[]): Uint8Array[] {
  const pdus: Uint8Array[] = [];
  let offset = 0;
  for (const length of lengths) {
    pdus.push(packed.subarray(offset, offset + length));
    offset += length;
  }
  return pdus;
}

export interface CryptoReply {
  seq: number;
  response: Result<CryptoResponseMap[CryptoKind]>;
}
