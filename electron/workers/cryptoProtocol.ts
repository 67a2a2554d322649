/**
 * The typed protocol between the engine's worker pool and a crypto worker: a discriminated union of
 * requests in a `{seq, request}` envelope, answered by `{seq, response}` where the response is a
 * Result (errors are serialised, never thrown across the thread boundary).
 */
import type { KeyPair, TrialHit } from '../../shared/protocol/boxTypes.js';
import type { Result } from '../../shared/ipc/result.js';

export type CryptoRequest =
  /** First message after spawn: the worker answers once it is ready to work. */
  | { kind: 'init' }
  /** Seals a 2048-byte payload to one recipient. */
  | { kind: 'seal'; sender: KeyPair; recipientPublicKey: Uint8Array; payload: Uint8Array }
  /** Trial-opens a batch of PDUs against all given identities. */
  | { kind: 'trialOpen'; identities: KeyPair[]; pdus: Uint8Array[] }
  /** Last message: the worker answers, then lets its thread end. */
  | { kind: 'close' };

export interface CryptoResponseMap {
  init: { ready: true };
  seal: { pdu: Uint8Array };
  trialOpen: { hits: (TrialHit | null)[] };
  close: { closed: true };
}

export type CryptoKind = CryptoRequest['kind'];
export type RequestOfKind<K extends CryptoKind> = Extract<CryptoRequest, { kind: K }>;

export interface CryptoEnvelope {
  seq: number;
  request: CryptoRequest;
}

export interface CryptoReply {
  seq: number;
  response: Result<CryptoResponseMap[CryptoKind]>;
}
