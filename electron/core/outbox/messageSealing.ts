/**
 * How the outbox (sender.ts) seals what it posts: version-1 PDUs from the session sender, and
 * version-0 boxes, which say we speak version 1 (`dd`) whenever it is switched on, echoing the
 * recipient's device list as we know it.
 */
import type { ParsedRequestOf } from '../../../shared/ipc/contract.js';
import { ApiFailure } from '../../../shared/ipc/result.js';
import type { KeyPair } from '../../../shared/protocol/boxTypes.js';
import { type DropMessage, encodeDropMessage } from '../../../shared/protocol/message.js';
import type { CryptoPool } from '../crypto/cryptoPool.js';
import { type SessionSender, sentRefKey } from '../sessions/sessionSender.js';
import type { StateStore } from '../state/stateStore.js';

/** What version-0 encoding needs to know (a subset of the outbox's options). */
export interface VersionZeroEncoding {
  stateStore: StateStore;
  /** Version 1 is switched on: every version-0 message says we speak it. */
  v1?: SessionSender | undefined;
  /** The hash of the recipient's device list as we know it (devices/deviceNews.ts), for `dd.dh`. */
  devlistEcho?: ((identityId: string, recipientHex: string) => string | undefined) | undefined;
}

/**
 * Encodes a version-0 message from `identityId` to `recipientHex`: advertising version 1 (with the
 * device list echo) when it is switched on, else plain.
 */
export function versionZeroEncoder(options: VersionZeroEncoding, identityId: string, recipientHex: string): (m: DropMessage) => Uint8Array {
  return (m) => (options.v1 ? encodeAdvertising(m, echo(options, identityId, recipientHex)) : encodeDropMessage(m));
}

/** `dd.dh` for a message to this recipient (none to ourselves: siblings hold the list itself). */
function echo(options: VersionZeroEncoding, identityId: string, recipientHex: string): string | undefined {
  if (recipientHex === options.stateStore.identity(identityId).publicKey) return undefined;
  return options.devlistEcho?.(identityId, recipientHex);
}

/**
 * Seals each message as `boxes` version-0 boxes, each encrypted separately.
 * @throws ApiFailure 'bad_input' when the recipient's key cannot be used.
 */
export async function sealVersionZero(
  pool: CryptoPool,
  pair: KeyPair,
  recipientKey: Uint8Array,
  messages: readonly DropMessage[],
  boxes: number,
  encode: (m: DropMessage) => Uint8Array,
): Promise<Uint8Array[][]> {
  return Promise.all(messages.map((m) => Promise.all(Array.from({ length: boxes }, () => pool.seal(pair, recipientKey, encode(m)))))).catch((err: unknown) => {
    // The worker refuses keys that cannot be used (e.g. low-order points): the request is at fault.
    throw new ApiFailure('bad_input', err instanceof Error ? err.message : 'The message could not be sealed.');
  });
}

/**
 * The version-1 PDUs of these messages, `copies` of each, or null (send them as version 0). The one
 * place that speaks to the session sender's sealing.
 */
export async function sealVersionOne(
  v1: SessionSender,
  identityId: string,
  pair: KeyPair,
  recipient: ParsedRequestOf<'messages/send'>['recipient'],
  messages: DropMessage[],
  copies: number,
): Promise<{ pdus: Uint8Array[][]; refs: string[]; pieceDevices: (string | null)[] } | 'windowFull' | null> {
  const sealed = await v1.sealMessages(identityId, pair, recipient, messages, { copies }).catch(() => null);
  if (sealed?.kind === 'windowFull') return 'windowFull';
  return sealed?.kind === 'v1' ? { pdus: sealed.pdus, refs: sealed.refs.map(sentRefKey), pieceDevices: sealed.pieceDevices ?? [] } : null;
}

/**
 * A version-0 message that says we speak version 1 (`dd: {v: 1}`), so a contact who knows us from an
 * old card answers with a session. A message that fills its PDU without the flag goes without it: the
 * other messages carry it. `devlistHash`: the recipient's device list hash as we know it (`dd.dh`).
 */
function encodeAdvertising(m: DropMessage, devlistHash?: string): Uint8Array {
  // The device list echo goes first when the PDU is too full for everything (the next message echoes).
  // `pd`: per-device sessions (PROTOCOL-V1.md 5c), so a contact on several devices keeps version 1 with us.
  for (const dd of devlistHash ? [{ v: 1, pd: 1, dh: devlistHash }, { v: 1, pd: 1 }] : [{ v: 1, pd: 1 }]) {
    try {
      return encodeDropMessage({ ...m, dd });
    } catch {
      // too long with it: try with less
    }
  }
  return encodeDropMessage(m);
}
