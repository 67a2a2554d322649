/**
 * Identity rotation after a lost or stolen device (PROTOCOL-V1.md 5c "Removing a device", `KEY_ROTATE`
 * 0x0D; section 7 "Identity-key compromise remains total until KEY_ROTATE"). Removing a device stops an
 * honest lost one; a stolen one still holds the identity key, reads the identity's drops and can write
 * as the identity. Rotation makes a new key pair and moves everyone who matters onto it:
 *
 * - **Contacts** get a `box_key_rotate` (shared/modules/keyRotate.ts: the new key, our drops, the time,
 *   a proof of possession of the new key) through the normal outbox, so it goes inside the existing
 *   version-1 session as body type 0x0D where there is one, else as a version-0 box sealed by the OLD
 *   key; it asks for a receipt and is re-posted until one comes (or the session's ackv covers it).
 *   The engine checks the proof of every rotation it receives and drops a failing one before the UI
 *   sees it; the UI (renderer/src/devices/keyRotation.ts) moves the contact and its conversation.
 * - **Sibling devices** get the new private key in a `box_key_handover` (ours, engine only), one per
 *   remaining sibling, sealed to that sibling's device prekey (deviceStore.ts keeps every device's
 *   prekey public in the list and each private half on its own device): AES-256-GCM under
 *   HKDF(X25519(e, prekey_to) ‖ X25519(prekey_from, prekey_to)) with a fresh `e`. Not through sibling
 *   sync under the old key: the thief reads the same drops with that key. The static part proves the
 *   sender is a device of our current list (the thief's device was removed from it, and it never held
 *   another device's prekey), so a thief cannot hand our siblings a key of its own either. The box
 *   around it is a version-0 box from the identity to itself (only key holders post there at all).
 * - **The old key** stays readable for KEY_GRACE_MS (state file `retiredKeys`, the poller tries it):
 *   messages contacts sealed before they heard of the change still arrive. Sessions and the device
 *   list stay bound to the key they were sealed under (`contextKey`), so version-1 sessions with
 *   contacts go on (their ratchets never used the identity key after the Init).
 *
 * Limits: a sibling offline for longer than a drop's lifetime (7 days) misses its handover and has to
 * be linked again; the thief can rotate too (contacts keep the first rotation they see and show a
 * notice on a second, different one; the user compares safety numbers); closed drops' ticket keys
 * derive from the identity key, so tickets handed out before stay tied to the old key.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { EventSink, IncomingMessage } from '../../../shared/ipc/contract.js';
import type { Logger } from '../../../shared/log.js';
import { BOX_KEY_ROTATE, KEY_GRACE_MS, MAX_ROTATE_DROP_URLS, ROTATE_PROOF_LABEL, keyRotatePayload, rotateProofInput } from '../../../shared/modules/keyRotate.js';
import { PAYLOAD_LENGTH, type KeyPair } from '../../../shared/protocol/boxTypes.js';
import { DROP_MESSAGE_VERSION, type DropMessage, NO_ACKNOWLEDGE_ID, encodeDropMessage } from '../../../shared/protocol/message.js';
import { ApiFailure } from '../../../shared/ipc/result.js';
import type { CryptoPool } from '../crypto/cryptoPool.js';
import type { Sender } from '../outbox/sender.js';
import type { SessionStore } from '../state/sessionStore.js';
import type { StateStore } from '../state/stateStore.js';
import { gcmOpen, gcmSeal, generateKeyPair, hkdf, hmac, keyPairFromPrivate, label, x25519 } from '../v1/primitives.js';
import type { DeviceStore } from './deviceStore.js';

export const BOX_KEY_HANDOVER = 'box_key_handover';
const HANDOVER_LABEL = 'DD key handover';
const DEVICE_ID = /^[0-9a-f]{16}$/;

const handoverSchema = z.object({
  /** The sending device and the one device that can open `box`. */
  device: z.string().regex(DEVICE_ID),
  to: z.string().regex(DEVICE_ID),
  /** The new public key (64 hex): a handover for the key we already have is a replay. */
  key: z.string().regex(/^[0-9a-f]{64}$/),
  /** base64url: the fresh X25519 key `e` (32 bytes) and the sealed new private key and time (40 + 16 bytes). */
  e: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  box: z.string().regex(/^[A-Za-z0-9_-]{75}$/),
});
export type Handover = z.infer<typeof handoverSchema>;

export interface RotationParts {
  stateStore: StateStore;
  sessions: SessionStore;
  store: DeviceStore;
  sender: Pick<Sender, 'send'>;
  pool: Pick<CryptoPool, 'seal'>;
  /** Posts a PDU the engine made by itself (the outbox's `postOwn`). */
  post(dropUrls: readonly string[], pdu: Uint8Array): Promise<void>;
  emit: EventSink;
  now(): number;
  logger: Logger;
}

export interface RotationResult {
  publicKey: string;
  /** Contacts sent a rotation, and sibling devices sent the new key. */
  contacts: number;
  siblings: number;
}

const hexOf = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const bytesOf = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'));

/** The MAC key of a rotation proof: X25519 of the new key pair and the recipient (either side). */
function proofOf(dh: Uint8Array, oldHex: string, newHex: string, recipientHex: string, at: number, drops: readonly string[]): string {
  const key = hkdf(dh, new Uint8Array(0), label(ROTATE_PROOF_LABEL), 32);
  return hmac(key, rotateProofInput(oldHex, newHex, recipientHex, at, drops)).toString('hex');
}

/** The proof a rotation to `fresh` carries for one recipient (null: the recipient's key is unusable). */
export function rotationProof(fresh: KeyPair, oldHex: string, recipientHex: string, at: number, drops: readonly string[]): string | null {
  const dh = x25519(fresh, bytesOf(recipientHex));
  return dh ? proofOf(dh, oldHex, hexOf(fresh.publicKey), recipientHex, at, drops) : null;
}

/** Whether a received rotation's proof holds: `ours` is the recipient identity's key pair it was meant for. */
export function rotationProofHolds(ours: KeyPair, senderHex: string, rotation: { key: string; at: number; drops: readonly string[]; proof: string }): boolean {
  if (rotation.key === senderHex) return false;
  const dh = x25519(ours, bytesOf(rotation.key));
  if (!dh) return false; // a low-order or malformed key
  const expected = Buffer.from(proofOf(dh, senderHex, rotation.key, hexOf(ours.publicKey), rotation.at, rotation.drops), 'hex');
  return timingSafeEqual(expected, Buffer.from(rotation.proof, 'hex'));
}

/** The handover's key and nonce (44 bytes) and its associated data. */
function handoverKeys(dhEphemeral: Uint8Array, dhStatic: Uint8Array, e: Uint8Array, from: string, to: string, key: string): { k: Buffer; nonce: Buffer; aad: Buffer } {
  const aad = Buffer.concat([label(HANDOVER_LABEL), e, bytesOf(from), bytesOf(to), bytesOf(key)]);
  const okm = hkdf(Buffer.concat([dhEphemeral, dhStatic]), e, aad, 44);
  return { k: okm.subarray(0, 32), nonce: okm.subarray(32, 44), aad };
}

/** A device's id and prekey pair (deviceStore.ts `selfSync`). */
export interface DeviceKeys {
  selfId: string;
  /** 64 hex each. */
  prekey: string;
  prekeyPrivate: string;
}

/**
 * The new private key and the rotation's time sealed for one sibling (`to`, its prekey `toPrekey`),
 * from this device (`from`); null when the prekey is unusable.
 */
export function sealHandover(from: DeviceKeys, to: string, toPrekey: string, fresh: KeyPair, at: number): Omit<Handover, 'device'> | null {
  const ours = { publicKey: bytesOf(from.prekey), privateKey: bytesOf(from.prekeyPrivate) };
  const e = generateKeyPair();
  const dhEphemeral = x25519(e, bytesOf(toPrekey));
  const dhStatic = x25519(ours, bytesOf(toPrekey));
  if (!dhEphemeral || !dhStatic) return null;
  const key = hexOf(fresh.publicKey);
  const { k, nonce, aad } = handoverKeys(dhEphemeral, dhStatic, e.publicKey, from.selfId, to, key);
  const plain = Buffer.alloc(40);
  Buffer.from(fresh.privateKey).copy(plain, 0);
  plain.writeBigUInt64BE(BigInt(at), 32);
  const box = gcmSeal(k, nonce, plain, aad);
  plain.fill(0);
  return { to, key, e: Buffer.from(e.publicKey).toString('base64url'), box: box.toString('base64url') };
}

/**
 * Opens a handover on the device it names (`self`), from the sibling whose prekey is `fromPrekey`;
 * null when it does not open (not ours, another sender, tampered) or names a key it does not carry.
 */
export function openHandover(self: DeviceKeys, fromPrekey: string, handover: Handover): { pair: KeyPair; at: number } | null {
  if (handover.to !== self.selfId) return null;
  const ours = { publicKey: bytesOf(self.prekey), privateKey: bytesOf(self.prekeyPrivate) };
  const e = new Uint8Array(Buffer.from(handover.e, 'base64url'));
  const dhEphemeral = x25519(ours, e);
  const dhStatic = x25519(ours, bytesOf(fromPrekey));
  if (!dhEphemeral || !dhStatic) return null;
  const { k, nonce, aad } = handoverKeys(dhEphemeral, dhStatic, e, handover.device, handover.to, handover.key);
  const plain = gcmOpen(k, nonce, Buffer.from(handover.box, 'base64url'), aad);
  if (!plain || plain.length !== 40) return null;
  const pair = keyPairFromPrivate(plain.subarray(0, 32));
  const at = Number(plain.readBigUInt64BE(32));
  plain.fill(0);
  if (hexOf(pair.publicKey) !== handover.key || !Number.isSafeInteger(at)) return null;
  return { pair, at };
}

/** A handover's payload as it travels (checked); null when malformed. */
export function parseHandover(json: string): Handover | null {
  try {
    const parsed = handoverSchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : null;
  } catch {
    return null; // not JSON
  }
}

export class KeyRotation {
  /** Incoming handovers are taken one at a time, in arrival order. */
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly parts: RotationParts) {}

  /**
   * Replaces the identity's key: every contact in `contacts` is sent the rotation (sealed by the old
   * key, before the switch), every sibling of our device list the new private key; then the new key
   * is ours and the old one is read for KEY_GRACE_MS more.
   */
  async rotate(identityId: string, contacts: readonly { publicKey: string; dropUrls: readonly string[] }[]): Promise<RotationResult> {
    const { stateStore, store, sender, now } = this.parts;
    const identity = stateStore.identity(identityId);
    const view = await store.view(identityId);
    if (view.removedAt !== null) throw new ApiFailure('bad_input', 'This device was removed from the identity: it cannot replace its key.');
    if (identity.dropUrls.length === 0) throw new ApiFailure('bad_input', 'The identity has no drop to be written to.');
    const oldPair = stateStore.keyPair(identityId);
    const oldHex = identity.publicKey;
    const fresh = generateKeyPair();
    const newHex = hexOf(fresh.publicKey);
    const at = now();
    const drops = identity.dropUrls.slice(0, MAX_ROTATE_DROP_URLS);
    const recipients = new Map(contacts.filter((c) => c.publicKey !== oldHex && c.dropUrls.length > 0).map((c) => [c.publicKey, c]));
    // Siblings first: a contact's first message to the new key comes after their handover in our drops.
    const siblings = view.devices.filter((device) => device.deviceId !== view.selfId);
    const self = store.selfSync(identityId);
    let handedOver = 0;
    if (self && siblings.length > 0) {
      for (const sibling of siblings) {
        const handover = sealHandover(self, sibling.deviceId, sibling.prekey, fresh, at);
        if (!handover) continue;
        await this.postToOurselves(identityId, oldPair, oldHex, identity.dropUrls, handover);
        handedOver++;
      }
    }
    // Sealed now, under the old key (the outbox seals before `send` resolves; a message waiting for
    // room in its session is sealed later in that session, which does not use the identity key).
    let told = 0;
    for (const contact of recipients.values()) {
      const proof = rotationProof(fresh, oldHex, contact.publicKey, at, drops);
      if (!proof) continue; // not a usable key: nobody to tell
      const message: DropMessage = {
        version: DROP_MESSAGE_VERSION,
        time_stamp: at,
        sender: oldHex,
        drop_payload: keyRotatePayload({ key: newHex, drops, at, proof }),
        drop_payload_type: BOX_KEY_ROTATE,
        acknowledge_id: randomUUID(),
      };
      await sender.send({ identityId, localId: `rotate:${randomUUID()}`, recipient: { publicKey: contact.publicKey, dropUrls: [...contact.dropUrls] }, wantReceipt: true }, [message]);
      told++;
    }
    await this.switchTo(identityId, fresh, at);
    this.parts.logger.info('identity key replaced', { contacts: told, siblings: handedOver });
    return { publicKey: newHex, contacts: told, siblings: handedOver };
  }

  /**
   * Takes an inbox batch's messages: handovers stay in the engine (taken after this returns, in order),
   * and a rotation whose proof fails is dropped; the rest goes to the UI.
   */
  take(messages: readonly IncomingMessage[]): IncomingMessage[] {
    const handovers = messages.filter((m) => m.type === BOX_KEY_HANDOVER);
    if (handovers.length > 0) {
      this.queue = this.queue
        .then(async () => {
          for (const message of handovers) await this.takeHandover(message).catch((err: unknown) => this.warn('key handover skipped', err));
        })
        .catch(() => undefined);
    }
    return messages.filter((m) => m.type !== BOX_KEY_HANDOVER && (m.content.type !== BOX_KEY_ROTATE || this.proofHolds(m)));
  }

  /** Resolves when the handovers taken so far are handled (tests, closing). */
  settled(): Promise<void> {
    return this.queue;
  }

  private proofHolds(message: IncomingMessage): boolean {
    if (message.content.type !== BOX_KEY_ROTATE) return false;
    const { stateStore, now } = this.parts;
    if (stateStore.locked) return false;
    const content = message.content;
    // Meant for our current key, or (we rotated too) for one we replaced and still read.
    let pairs: KeyPair[];
    try {
      pairs = [stateStore.keyPair(message.identityId), ...stateStore.retiredKeyPairs(now()).filter((r) => r.id === message.identityId).map((r) => r.pair)];
    } catch {
      return false; // the identity was deleted meanwhile: nobody to apply it to
    }
    const own = new Set(pairs.map((pair) => hexOf(pair.publicKey)));
    if (own.has(message.senderKey)) return false; // a rotation is a contact's, never our own
    return pairs.some((pair) => rotationProofHolds(pair, message.senderKey, content));
  }

  private async postToOurselves(identityId: string, pair: KeyPair, ownHex: string, dropUrls: readonly string[], handover: Omit<Handover, 'device'>): Promise<void> {
    const { pool, post, now, store } = this.parts;
    const view = await store.view(identityId);
    const json = encodeDropMessage({
      version: DROP_MESSAGE_VERSION,
      time_stamp: now(),
      sender: ownHex,
      drop_payload: JSON.stringify({ device: view.selfId, ...handover }),
      drop_payload_type: BOX_KEY_HANDOVER,
      acknowledge_id: NO_ACKNOWLEDGE_ID,
    });
    if (json.length !== PAYLOAD_LENGTH) throw new Error('a key handover has the wrong size');
    const pdu = await pool.seal(pair, bytesOf(ownHex), json);
    // Every drop of ours, so a sibling reading any of them finds it.
    await Promise.all(dropUrls.map((dropUrl) => post([dropUrl], pdu)));
  }

  /** A handover from a sibling: ours when it is meant for this device and opens under our prekey. */
  private async takeHandover(message: IncomingMessage): Promise<void> {
    const { stateStore, store } = this.parts;
    if (stateStore.locked) return;
    const identity = stateStore.identity(message.identityId);
    // Sealed by the identity to itself under the key we hold now (the batch opener delivers nothing
    // from a replaced key as ours): anything else is a stranger's or a replay after our own rotation.
    if (message.senderKey !== identity.publicKey) return;
    const handover = parseHandover(message.payload);
    if (!handover) return;
    const self = store.selfSync(message.identityId);
    const view = await store.view(message.identityId);
    if (!self || view.removedAt !== null || handover.to !== self.selfId || handover.device === self.selfId) return;
    // From a device of our current list only: a removed device (the thief's) never hands us a key.
    const from = view.devices.find((device) => device.deviceId === handover.device);
    if (!from) return;
    const opened = openHandover(self, from.prekey, handover);
    if (!opened) return;
    const { pair, at } = opened;
    await this.switchTo(message.identityId, pair, at);
    this.parts.logger.info('identity key replaced by a sibling');
  }

  /** Makes `pair` the identity's key; the old one is read until `at` + KEY_GRACE_MS. */
  private async switchTo(identityId: string, pair: KeyPair, at: number): Promise<void> {
    const { stateStore, sessions, store, emit, now } = this.parts;
    await stateStore.rotateKey(identityId, pair, at + KEY_GRACE_MS, now());
    // The entry under our own key holds how many devices we are on (`dd.md`): under the new key now.
    await sessions.setOwnDevices(identityId, (await store.list(identityId)).devices.length);
    emit('identities/changed', stateStore.identities());
  }

  private warn(what: string, err: unknown): void {
    this.parts.logger.warn(what, { error: err instanceof Error ? err.message : 'unknown' });
  }
}
