/**
 * Device lists told to contacts and siblings, and the injected-device alarm (PROTOCOL-V1.md 5c
 * `DEVICES` and "Detecting silent device injection"), in the version-0 form the interim uses (an
 * identity on several devices writes version 0 only, electron/core/v1/README.md "Several devices").
 *
 * `box_devices` (ours, never shown: the engine takes it out of every batch before the UI sees it) is a
 * version-0 box whose payload names the sending `device` and carries one of:
 * - `list`: the sender's own device list (base64url of its `DEVICES` encoding). Sent after every change
 *   made here (a link, a removal, a rename) to every contact the UI wrote to and to the identity's own
 *   drops (its siblings); a contact merges it into what it knows of the sender (peer facts `devlists`),
 *   a sibling into its own list (and answers with its own when it knows more, so siblings converge).
 * - `ask`: a device list hash (8 hex) the sender did not know: "which list of mine is that?"
 * - `view`: the list of the recipient's devices the sender encrypts to: the answer to an `ask`, and
 *   told unasked when a list the sender merged added a device of the recipient's (so the recipient's
 *   devices judge it with the first message that echoes it, not a round trip later). Judged only from a
 *   contact the UI gave drops for (a stranger's is skipped); a contact can always lie about its own
 *   view, so the alarm says it is that contact's word.
 *
 * Every version-0 message we send with `dd` echoes in `dd.dh` the hash of the recipient's list as we
 * know it. A device reading an echo compares it with its own lists: the current one, nothing to do; an
 * earlier one, the contact is behind (our list goes to it); one it never had, it asks (`ask`), and judges
 * the `view` that comes back: a device none of its lists ever held (nor removed) raises the alarm (the
 * contact sends to a device the user never added: the identity key may be stolen); otherwise the
 * contact is only behind or ahead and gets our list. Both honest devices read the same drops, so each
 * sees the echo, the answer, and raises the alarm itself.
 *
 * To a contact with whom this device holds a version-1 session, the same `box_devices` goes inside it
 * (a MODULE body, sessions/content.ts; once per session with each of their devices), authenticated by
 * the ratchet; version 0 stays for peers without a session and for our own drops, and a contact's v0
 * `box_devices` is still taken while we hold a session with them (older builds send no other). A
 * `view` goes only into the session with the asking device. A contact's list change that reached this
 * device is relayed to our siblings (`peer` + `peerList`, sealed by our identity into our own drops):
 * news inside sessions reaches only the devices of ours the contact knows. Within a batch, lists are
 * handled before asks and echoes.
 *
 * Authentication: a v0 `box_devices` is sealed with the sender's identity key like any v0 box, so anyone
 * holding that key can announce devices: which is exactly what the alarm is for. From a sibling (sealed
 * by our own identity) it is ours; the same holds for an attacker with our key, whose list merges into
 * ours only through siblings' drops, and whose device then is in our list, visible in Settings → Devices.
 *
 * Rate limits: each answer, ask and resend at most once per contact and hash per ten minutes, and at
 * most PER_CONTACT of each kind per contact in ten minutes whatever the hashes: a hostile contact making
 * up a fresh hash per message cannot make us post without bound (keyed per hash alone, 200 echoes and
 * 200 asks made 400 posts), while a few honest list changes in a row are still asked about at once. The alarm names the contact whose view
 * showed the unknown device: that contact may have made the view up, so it is no proof of theft.
 */
import { z } from 'zod';
import type { EventSink, IncomingMessage } from '../../../shared/ipc/contract.js';
import type { Logger } from '../../../shared/log.js';
import { PAYLOAD_LENGTH } from '../../../shared/protocol/boxTypes.js';
import { type DeviceList, decodeDeviceList, encodeDeviceList, judgeContactView, mergeDeviceLists } from '../../../shared/protocol/deviceList.js';
import { ProtocolError } from '../../../shared/protocol/errors.js';
import { BOX_SYNC } from '../../../shared/modules/sync.js';
import { DROP_MESSAGE_VERSION, NO_ACKNOWLEDGE_ID, encodeDropMessage } from '../../../shared/protocol/message.js';
import type { CryptoPool } from '../crypto/cryptoPool.js';
import type { SessionStore } from '../state/sessionStore.js';
import { b64OfHex } from '../sessions/receiver.js';
import { peerDeviceList } from '../sessions/devices.js';
import type { SessionSender } from '../sessions/sessionSender.js';
import type { StateStore } from '../state/stateStore.js';
import { DeviceStore, deviceListHashSync } from './deviceStore.js';
import { type JoinNotice, JoinNotices } from './joinNotices.js';

export const BOX_DEVICES = 'box_devices';
const RATE_MS = 10 * 60_000;
/** Posts of one kind (ask, answer, resend) to one contact per RATE_MS, whatever hashes they name. */
const PER_CONTACT = 4;
/** Earlier lists of a peer kept beside the current one (to answer an `ask` naming one of them). */
const KEPT_PEER_LISTS = 4;
const HEX8 = /^[0-9a-f]{8}$/;

const payloadSchema = z.object({
  device: z.string().regex(/^[0-9a-f]{16}$/),
  list: z.string().max(1024).optional(),
  ask: z.string().regex(HEX8).optional(),
  view: z.string().max(1024).optional(),
  /** From a sibling: a contact's list (`peerList`) as that sibling merged it, the contact's key in `peer`. */
  peer: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  peerList: z.string().max(1024).optional(),
});
type DevicesPayload = z.infer<typeof payloadSchema>;

export interface DeviceNewsParts {
  dataDir: string;
  stateStore: StateStore;
  sessions: SessionStore;
  pool: Pick<CryptoPool, 'seal'>;
  /**
   * Version-1 sessions (the outbox's SessionSender; absent when version 1 is off): a contact with whom
   * this device holds a session gets device news inside it (each of their devices' session).
   */
  v1?: (() => Pick<SessionSender, 'speaksV1' | 'sealMessages'> | undefined) | undefined;
  /** Posts a PDU the engine made by itself from `to.identityId` to `to.contactKey` (the outbox's `postOwn`). */
  post(dropUrls: readonly string[], pdu: Uint8Array, to: { identityId: string; contactKey: string }): Promise<void>;
  emit: EventSink;
  now(): number;
  logger: Logger;
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
const unb64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64url'));

/** Whether a message is a `box_devices` carrying a list (its own, or a contact's relayed by a sibling). */
function carriesList(message: IncomingMessage): boolean {
  if (message.type !== BOX_DEVICES) return false;
  try {
    const parsed = JSON.parse(message.payload) as { list?: unknown; peerList?: unknown } | null;
    return typeof parsed?.list === 'string' || typeof parsed?.peerList === 'string';
  } catch {
    return false;
  }
}

export class DeviceNews {
  readonly store: DeviceStore;
  /** Devices that joined through a sibling, until the user confirms them. */
  readonly joins: JoinNotices;
  /** Incoming news is handled one at a time, in arrival order. */
  private queue: Promise<void> = Promise.resolve();
  private readonly lastDone = new Map<string, number>();
  /** `<kind> <identity id> <peer hex>` → when each of the last posts of that kind to that peer went (within RATE_MS). */
  private readonly perContact = new Map<string, number[]>();
  private readonly listeners = new Set<(identityId: string) => void>();

  constructor(private readonly parts: DeviceNewsParts) {
    this.store = new DeviceStore(parts.dataDir, parts.stateStore, parts.now);
    this.joins = new JoinNotices(parts.dataDir, parts.stateStore);
  }

  /**
   * Takes an inbox batch's messages: returns those the UI gets (every `box_devices` stays here), and
   * handles the device news and echoes they carry, after this returns (in order).
   */
  take(messages: readonly IncomingMessage[]): IncomingMessage[] {
    const kept = messages.filter((m) => m.type !== BOX_DEVICES);
    // Sibling sync (devices/sync.ts, for the UI) names its sending device too: when it was last seen.
    const news = messages.filter((m) => m.type === BOX_DEVICES || m.devlistEcho !== undefined || m.content.type === BOX_SYNC || this.unechoed(m));
    // Lists first: what we answer or echo from this batch on names what the whole batch told us (an
    // ask read before the removal that came with it would be answered into a session with the removed
    // device). Stable otherwise: arrival order.
    news.sort((a, b) => Number(carriesList(b)) - Number(carriesList(a)));
    if (news.length > 0) {
      this.queue = this.queue
        .then(async () => {
          for (const message of news) await this.handle(message).catch((err: unknown) => this.warn('device news skipped', err));
        })
        .catch(() => undefined);
    }
    return kept;
  }

  /**
   * A contact's message naming no list of ours, while we are on several devices or they are (and keep
   * per-device sessions): they do not know our list (a device of theirs that joined after our
   * announcement, or we never announced one), so they cannot seal to each of our devices (per-device
   * sessions, electron/core/sessions/devices.ts; until then they write version 0). Told our list, at
   * most once per RATE_MS.
   */
  private unechoed(message: IncomingMessage): boolean {
    if (message.devlistEcho !== undefined || message.type === BOX_DEVICES || message.content.type === BOX_SYNC || (message.senderProtocol ?? 0) < 1) return false;
    try {
      if (this.parts.stateStore.locked || message.senderKey === this.parts.stateStore.identity(message.identityId).publicKey) return false;
      if (this.parts.sessions.severalDevices(message.identityId)) return true;
      // On one device: a version-0 message from a contact on several devices keeping per-device
      // sessions (it writes version 0 only while it lacks our list).
      const peer = this.parts.sessions.peer(message.identityId, message.senderKey);
      return message.protocol === 0 && peer.perDevice === true && peer.multiDevice === true;
    } catch {
      return false; // the identity went meanwhile
    }
  }

  /** Resolves when the news taken so far is handled (tests, closing). */
  settled(): Promise<void> {
    return this.queue;
  }

  /** Hears that an identity's list changed here after a merge or an alarm (the engine emits `devices/changed`). */
  onChanged(listener: (identityId: string) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /**
   * The hash of `peerHex`'s device list as we know it, for `dd.dh` of what we send them; undefined when
   * they never told us one. Synchronous: the outbox asks while it encodes.
   */
  echoFor(identityId: string, peerHex: string): string | undefined {
    if (this.parts.stateStore.locked) return undefined;
    const lists = this.parts.sessions.peer(identityId, peerHex).devlists;
    const newest = lists?.[lists.length - 1];
    return newest ? deviceListHashSync(unb64(newest)) : undefined;
  }

  /** Whether this device was removed from the identity by another one (it sends nothing then). */
  async removedHere(identityId: string): Promise<boolean> {
    return (await this.store.view(identityId)).removedAt !== null;
  }

  /**
   * Tells our current list to every contact the UI wrote to and to our siblings (after a change made
   * here), or only to the siblings.
   */
  async announce(identityId: string, to: 'everyone' | 'siblings' = 'everyone'): Promise<void> {
    const { sessions, stateStore } = this.parts;
    const own = stateStore.identity(identityId);
    const list = await this.store.list(identityId);
    await sessions.setOwnDevices(identityId, list.devices.length);
    const body = b64(encodeDeviceList(list));
    const targets: { key: string; dropUrls: readonly string[] }[] = [{ key: own.publicKey, dropUrls: own.dropUrls }];
    if (to === 'everyone') {
      for (const peerHex of sessions.peerKeys(identityId)) {
        const dropUrls = sessions.peer(identityId, peerHex).dropUrls ?? [];
        if (peerHex !== own.publicKey && dropUrls.length > 0) targets.push({ key: peerHex, dropUrls });
      }
    }
    await Promise.all(targets.map((target) => this.send(identityId, target.key, target.dropUrls, { list: body })));
  }

  private async handle(message: IncomingMessage): Promise<void> {
    const { identityId, senderKey } = message;
    const own = this.parts.stateStore.identity(identityId).publicKey;
    if (message.content.type === BOX_SYNC) {
      // Only the identity itself seals a box_sync that counts (the batch opener drops any other).
      if (senderKey === own) await this.store.seen(identityId, message.content.device, message.receivedAt);
      return;
    }
    if (message.type !== BOX_DEVICES) {
      if (senderKey !== own && message.devlistEcho) await this.echoed(identityId, senderKey, message.devlistEcho);
      else if (this.unechoed(message) && (await this.store.view(identityId)).removedAt === null && this.due(`list ${identityId} ${senderKey} none`)) {
        await this.sendTo(identityId, senderKey, { list: b64(encodeDeviceList(await this.store.list(identityId))) });
      }
      return;
    }
    let payload: DevicesPayload;
    let list: DeviceList | null = null;
    let view: DeviceList | null = null;
    try {
      payload = payloadSchema.parse(JSON.parse(message.payload));
      if (payload.list) list = decodeDeviceList(unb64(payload.list));
      if (payload.view) view = decodeDeviceList(unb64(payload.view));
    } catch (err) {
      if (err instanceof ProtocolError || err instanceof z.ZodError || err instanceof SyntaxError) return; // hostile or broken: skipped
      throw err;
    }
    const self = await this.store.view(identityId);
    if (senderKey === own) {
      if (payload.device === self.selfId) return; // our own announcement, read back from our drops
      await this.store.seen(identityId, payload.device, message.receivedAt);
      if (list) await this.fromSibling(identityId, list, payload.device);
      if (payload.peer && payload.peerList && payload.peer !== own && this.knownPeer(identityId, payload.peer)) {
        let relayed: DeviceList;
        try {
          relayed = decodeDeviceList(unb64(payload.peerList));
        } catch (err) {
          if (err instanceof ProtocolError) return;
          throw err;
        }
        await this.fromContact(identityId, payload.peer, relayed, false);
      }
      return;
    }
    // Only a contact the UI gave drops for: a stranger's lists would each add a peer entry and rewrite
    // the whole sessions file (300 made-up keys × 5 lists: 300 entries, 372 KB, each write all of it).
    if (list && this.knownPeer(identityId, senderKey)) await this.fromContact(identityId, senderKey, list);
    if (payload.ask) await this.answerAsk(identityId, senderKey, payload.ask, payload.device);
    // Each view judged once, and at most PER_CONTACT a contact's in RATE_MS: a hostile contact making
    // up a device per view raises that many alarms, not one per message.
    if (view && this.knownPeer(identityId, senderKey) && this.due(`judge ${identityId} ${senderKey} ${payload.view}`, `judge ${identityId} ${senderKey}`)) {
      await this.judge(identityId, senderKey, view);
    }
  }

  /**
   * A sibling's list (sent by device `from`): merged into ours; when ours holds more, it goes back to
   * the siblings. A device none of our lists ever held nor removed is a join the user did not make
   * here: noted (joinNotices.ts) until the user confirms it, and told to the UI (`joined`).
   */
  private async fromSibling(identityId: string, list: DeviceList, from: string): Promise<void> {
    const prior = await this.store.view(identityId);
    const before = prior.removedAt;
    const known = new Set([...prior.devices, ...prior.earlier.flatMap((earlier) => earlier.devices)].map((device) => device.deviceId));
    for (const tombstone of prior.removed) known.add(tombstone.deviceId);
    const { changed, senderBehind, selfRemoved, alarm } = await this.store.adopt(identityId, list);
    if (alarm) this.parts.emit('devices/changed', { identityId, alarm: true });
    if (changed) {
      const merged = await this.store.list(identityId);
      await this.parts.sessions.setOwnDevices(identityId, merged.devices.length);
      const addedBy = merged.devices.find((device) => device.deviceId === from)?.name ?? null;
      const joined = selfRemoved ? [] : merged.devices.filter((device) => !known.has(device.deviceId)).map((device) => ({ deviceId: device.deviceId, name: device.name, addedBy, at: this.parts.now() }));
      await this.joins.note(identityId, joined);
      if (joined.length > 0) this.parts.logger.warn('a device joined through a sibling', { devices: joined.length });
      this.changed(identityId, selfRemoved && before === null, joined);
    }
    if (senderBehind && !selfRemoved) await this.announce(identityId, 'siblings');
  }

  /**
   * A contact's own list (from them, or relayed by a sibling: `relay` false): merged into what we know
   * of them; several devices means version 0 to them unless they keep per-device sessions. A change
   * that came from the contact goes on to our siblings (`peerList`): news sealed inside sessions reaches
   * only the devices of ours the contact knows (one that joined since, or whose session with them they
   * never opened, gets none), and a sibling that kept their old list would go on encrypting to a device
   * they removed.
   */
  private async fromContact(identityId: string, peerHex: string, list: DeviceList, relay = true): Promise<void> {
    const { sessions } = this.parts;
    const peer = sessions.peer(identityId, peerHex);
    const lists = peer.devlists ?? [];
    const newest = lists[lists.length - 1];
    let previous: DeviceList | null = null;
    let merged: DeviceList;
    try {
      previous = newest ? decodeDeviceList(unb64(newest)) : null;
      merged = previous ? mergeDeviceLists(previous, list) : list;
    } catch (err) {
      if (err instanceof ProtocolError) return; // a list removing every device they have: not taken
      throw err;
    }
    const encoded = b64(encodeDeviceList(merged));
    if (encoded === newest) return;
    const several = merged.devices.length > 1;
    await sessions.setPeer(identityId, peerHex, {
      devlists: [...lists, encoded].slice(-(KEPT_PEER_LISTS + 1)),
      // Sessions are per device of ours only (the interim): a contact on several devices gets version 0.
      ...(several ? { multiDevice: true } : peer.multiDevice ? { multiDevice: undefined } : {}),
    });
    const hash = deviceListHashSync(unb64(encoded));
    // A device of theirs we did not encrypt to before: our view goes back to them at once, so each of
    // their devices judges it (a device they never added raises their alarm) with the first message of
    // ours that echoes it, instead of asking and waiting for us to run again. Honest links cost one PDU.
    const before = new Set((previous?.devices ?? []).map((device) => device.deviceId));
    if (relay && merged.devices.some((device) => !before.has(device.deviceId)) && this.due(`view ${identityId} ${peerHex} ${hash} told`, `view ${identityId} ${peerHex}`)) {
      await this.sendTo(identityId, peerHex, { view: encoded });
    }
    if (relay && this.parts.sessions.severalDevices(identityId) && this.due(`relay ${identityId} ${peerHex} ${hash}`, `relay ${identityId} ${peerHex}`)) {
      const own = this.parts.stateStore.identity(identityId);
      await this.send(identityId, own.publicKey, own.dropUrls, { peer: peerHex, peerList: encoded });
    }
  }

  /** A contact echoed `hash` for our list (`dd.dh`). */
  private async echoed(identityId: string, peerHex: string, hash: string): Promise<void> {
    const view = await this.store.view(identityId);
    if (hash === view.hash || view.removedAt !== null) return;
    if ((await this.store.knownHashes(identityId)).has(hash)) {
      // One of our earlier lists: they are behind.
      if (this.due(`list ${identityId} ${peerHex} ${hash}`, `list ${identityId} ${peerHex}`)) await this.sendTo(identityId, peerHex, { list: b64(encodeDeviceList(await this.store.list(identityId))) });
      return;
    }
    // Only a peer the UI gave drops for is asked (a stranger's echo makes us post nothing).
    if (!this.knownPeer(identityId, peerHex)) return;
    if (this.due(`ask ${identityId} ${peerHex} ${hash}`, `ask ${identityId} ${peerHex}`)) await this.sendTo(identityId, peerHex, { ask: hash });
  }

  /**
   * They ask which list of theirs `hash` is: the one we encrypt to with that hash, or our newest. Once
   * per asking device (`device`): each of their devices judges only the answer to its own question, and
   * one device's answer may reach a sibling before that sibling asked (it then waits for its own); the
   * per-contact limit still bounds made-up device ids.
   */
  private async answerAsk(identityId: string, peerHex: string, hash: string, device: string): Promise<void> {
    const lists = this.parts.sessions.peer(identityId, peerHex).devlists ?? [];
    if (lists.length === 0 || !this.due(`view ${identityId} ${peerHex} ${hash} ${device}`, `view ${identityId} ${peerHex}`)) return;
    const named = lists.find((list) => deviceListHashSync(unb64(list)) === hash) ?? lists[lists.length - 1]!;
    // Only the asking device judges it: inside sessions it goes to that device alone (the others'
    // sessions, and a device of theirs we still encrypt to that they removed, get nothing).
    await this.sendTo(identityId, peerHex, { view: named }, device);
  }

  /** A contact's view of our list: the alarm when it names a device none of our lists held. */
  private async judge(identityId: string, peerHex: string, theirs: DeviceList): Promise<void> {
    const view = await this.store.view(identityId);
    const current = await this.store.list(identityId);
    const { verdict, unknown } = await judgeContactView(view.earlier, current, theirs);
    if (verdict === 'alarm') {
      if (await this.store.raiseAlarm(identityId, peerHex, unknown)) {
        this.parts.logger.warn('a contact sends to a device this identity never added', { devices: unknown.length });
        this.parts.emit('devices/changed', { identityId, alarm: true });
      }
      return;
    }
    if (verdict !== 'same' && this.due(`list ${identityId} ${peerHex} view`)) await this.sendTo(identityId, peerHex, { list: b64(encodeDeviceList(current)) });
  }

  private changed(identityId: string, alarm: boolean, joined: readonly JoinNotice[] = []): void {
    this.parts.emit('devices/changed', { identityId, alarm, ...(joined.length > 0 ? { joined: joined.map(({ deviceId, name, addedBy }) => ({ deviceId, name, addedBy })) } : {}) });
    for (const listener of this.listeners) listener(identityId);
  }

  /** Whether the UI gave drops for this peer (a contact of the identity, not a stranger). */
  private knownPeer(identityId: string, peerHex: string): boolean {
    return (this.parts.sessions.peer(identityId, peerHex).dropUrls ?? []).length > 0;
  }

  /** Whether `key` was not done within RATE_MS, and (given `contactKey`) fewer than PER_CONTACT of its kind went to that contact: then it counts as done now. */
  private due(key: string, contactKey?: string): boolean {
    const now = this.parts.now();
    const last = this.lastDone.get(key);
    if (last !== undefined && now - last < RATE_MS) return false;
    if (contactKey !== undefined) {
      const recent = (this.perContact.get(contactKey) ?? []).filter((at) => now - at < RATE_MS);
      if (recent.length >= PER_CONTACT) return false;
      this.perContact.delete(contactKey); // re-added last: the oldest entries go first when over the bound
      this.perContact.set(contactKey, [...recent, now]);
      if (this.perContact.size > 4096) this.perContact.delete(this.perContact.keys().next().value!);
    }
    this.lastDone.set(key, now);
    if (this.lastDone.size > 4096) this.lastDone.delete(this.lastDone.keys().next().value!);
    return true;
  }

  private async sendTo(identityId: string, peerHex: string, content: Omit<DevicesPayload, 'device'>, toDevice?: string): Promise<void> {
    const dropUrls = this.parts.sessions.peer(identityId, peerHex).dropUrls ?? [];
    // Only where the UI told us to write to them: an unknown sender cannot make us write anywhere.
    if (dropUrls.length > 0) await this.send(identityId, peerHex, dropUrls, content, toDevice);
  }

  private async send(identityId: string, recipientHex: string, dropUrls: readonly string[], content: Omit<DevicesPayload, 'device'>, toDevice?: string): Promise<void> {
    const { stateStore, pool, post, now } = this.parts;
    const view = await this.store.view(identityId);
    if (view.removedAt !== null || dropUrls.length === 0) return;
    const own = stateStore.identity(identityId);
    const payload: DevicesPayload = { device: view.selfId, ...content };
    const echo = recipientHex === own.publicKey ? undefined : this.echoFor(identityId, recipientHex);
    const json = encodeDropMessage({
      version: DROP_MESSAGE_VERSION,
      time_stamp: now(),
      sender: own.publicKey,
      drop_payload: JSON.stringify(payload),
      drop_payload_type: BOX_DEVICES,
      acknowledge_id: NO_ACKNOWLEDGE_ID,
      dd: { v: 1, pd: 1, ...(echo ? { dh: echo } : {}) },
    });
    if (json.length !== PAYLOAD_LENGTH) throw new Error('a device list message has the wrong size');
    if (recipientHex !== own.publicKey && (await this.sendInSession(identityId, recipientHex, dropUrls, payload, toDevice))) return;
    const pdu = await pool.seal(stateStore.keyPair(identityId), Buffer.from(recipientHex, 'hex'), json);
    await post(dropUrls, pdu, { identityId, contactKey: recipientHex });
  }

  /**
   * Device news to a contact with whom this device holds a version-1 session goes inside it (PROTOCOL-V1.md
   * 5c: authenticated by the current ratchet, not only by the static key), once per session with each
   * of their devices, as a MODULE body carrying the `box_devices` (sessions/content.ts); the receiver
   * handles it as the version-0 box. False when it must go as version 0: no session yet (news never
   * starts one), a conversation that stays version 0 (several devices with a client that lacks
   * per-device sessions), a full sending window, or a body that does not fit.
   */
  private async sendInSession(identityId: string, peerHex: string, dropUrls: readonly string[], payload: DevicesPayload, toDevice?: string): Promise<boolean> {
    const v1 = this.parts.v1?.();
    const { sessions, stateStore, now, post } = this.parts;
    if (!v1 || sessions.sessionsWith(identityId, b64OfHex(peerHex)).length === 0) return false;
    const recipient = { publicKey: peerHex };
    if (!v1.speaksV1(identityId, recipient)) return false;
    const message = {
      version: DROP_MESSAGE_VERSION,
      time_stamp: now(),
      sender: stateStore.identity(identityId).publicKey,
      drop_payload: JSON.stringify(payload),
      drop_payload_type: BOX_DEVICES,
      acknowledge_id: NO_ACKNOWLEDGE_ID,
    }; // no `dd`: the session PDU carries our echo of their list itself (sessions/sessionSender.ts `devlistEcho`)
    const sealed = await v1.sealMessages(identityId, stateStore.keyPair(identityId), recipient, [message], toDevice === undefined ? {} : { toDevice });
    if (sealed.kind !== 'v1') return false;
    // Each of their devices' session (the first copy of each): the engine posts its own PDUs once.
    for (const copies of sealed.pdus) if (copies[0]) await post(dropUrls, copies[0], { identityId, contactKey: peerHex });
    // A device of theirs we know but could not seal to (a full window, no way to start a session)
    // would miss it: then the version-0 box goes too, which every device of theirs reads. Devices of
    // theirs we do not know yet learn it from a sibling (`peerList`, fromContact).
    const known = toDevice === undefined ? (peerDeviceList(sessions, identityId, peerHex)?.devices.length ?? 1) : 1;
    return sealed.devices >= known;
  }

  private warn(what: string, err: unknown): void {
    this.parts.logger.warn(what, { error: err instanceof Error ? err.message : 'unknown' });
  }
}
