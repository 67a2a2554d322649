/**
 * Device links (PROTOCOL-V1.md 5c "Linking a device"; the frames in shared/protocol/deviceLink.ts, the
 * keys in linkCipher.ts). The offering device makes a temporary drop on one of the identity's servers
 * and reads it; the joining device posts its hello there and reads it too. Once the offering user said
 * that both screens show the same six digits, the offering device posts the bundle: the same JSON a
 * full backup carries (identity with its key, drop cursors, the UI's records) plus the engine settings,
 * compressed, in chunks, and a last frame with its length and SHA-256.
 *
 * No server trust: every PDU on the link's drop is either one of ours (known by its hash), a repeat
 * of one already taken, or must open under the link's keys. Anything else (altered, forged, a second
 * device answering the same QR code) stops the link on both devices; a PDU that never comes only lets
 * the link time out. So a hostile server can make a link fail and nothing more.
 */
import { createHash, randomBytes } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { z } from 'zod';
import { BACKUP_PAYLOAD_SCHEMA, BACKUP_PAYLOAD_VERSION, type BackupPayload, parseBackupPayload, parseBackupUiPart } from '../../../shared/backup/backupPayload.js';
import { type DeviceLinkStatus, type EngineSettings, type IdentitySummary, engineSettingsSchema } from '../../../shared/ipc/contract.js';
import { ApiFailure } from '../../../shared/ipc/result.js';
import { type LinkAbortReason, type LinkFrame, LINK_VERSION, chunkFrames, formatLinkString, parseLinkString } from '../../../shared/protocol/deviceLink.js';
import { formatDropUrl, generateDropId, parseDropUrl } from '../../../shared/protocol/dropId.js';
import { toHex } from '../../../shared/protocol/encoding.js';
import { ProtocolError } from '../../../shared/protocol/errors.js';
import type { Logger } from '../../../shared/log.js';
import { DropRequestError } from '../net/dropClient.js';
import { BackupTransfers } from '../state/backupTransfers.js';
import { type RawKeyPair, keyPairFromPrivate } from '../v1/primitives.js';
import type { EngineContext } from '../engine.js';
import { type LinkKeys, deriveLinkKeys, newLinkKeyPair, openLinkPdu, pduHash, rOf, sealLinkPdu } from './linkCipher.js';
import { type DeviceList, type DeviceRecord, deviceListSchema, normalizeDeviceList } from '../../../shared/protocol/deviceList.js';
import type { DeviceStore } from './deviceStore.js';

/** A link gives up this long after it began (the temporary drop's messages expire with the server's TTL). */
export const LINK_LIFETIME_MS = 10 * 60_000;
/** How often both devices read the link's drop while it is open. */
const POLL_MS = 1000;
/** Reads in a row that may fail (server down, network gone) before the link gives up. */
const MAX_FAILED_READS = 30;
/** Posts of one PDU before the link gives up. */
const POST_ATTEMPTS = 4;
/** PDUs posted at once while sending the bundle. */
const POST_PARALLEL = 4;
/** A bundle never inflates beyond this (a full backup file's bound). */
const MAX_BUNDLE_BYTES = 256 * 1024 * 1024;
/** Finished links are kept this long for `devices/linkStatus`. */
const KEEP_FINISHED_MS = 10 * 60_000;

const BUNDLE_SCHEMA = 'deaddrop-device-link';
const bundleSchema = z.object({
  schema: z.literal(BUNDLE_SCHEMA),
  version: z.literal(LINK_VERSION),
  payload: z.unknown(),
  settings: engineSettingsSchema,
  devices: deviceListSchema,
});

/** What the offering device sends once the codes matched. */
interface LinkBundle {
  schema: typeof BUNDLE_SCHEMA;
  version: number;
  /** A full backup's payload, not sealed with a passphrase: the link's keys protect it. */
  payload: BackupPayload;
  settings: EngineSettings;
  /** The identity's device list with the new device in it (the next epoch). */
  devices: DeviceList;
}

interface Link {
  id: string;
  role: 'offer' | 'join';
  state: DeviceLinkStatus['state'];
  dropUrl: string;
  serverUrl: string;
  pair: RawKeyPair;
  offererPublic: Uint8Array;
  keys: LinkKeys | null;
  deviceName: string | null;
  chunks: { done: number; total: number } | null;
  preview: DeviceLinkStatus['preview'];
  error: string | null;
  startedAt: number;
  expiresAt: number;
  finishedAt: number | null;
  /** The drop's cursor: what was read already. */
  cursor: string | null;
  /** Hashes of the PDUs we posted and of those already taken: a repeat is skipped, never an error. */
  known: Set<string>;
  failedReads: number;
  timer: NodeJS.Timeout | null;
  reading: boolean;
  /** The transfer with the UI's records (BackupTransfers: uploaded on the offer side, downloaded on the join side). */
  transferId: string;
  // Offer side
  /** The joining device as the list will hold it, from its hello. */
  joiner: DeviceRecord | null;
  /** The list the bundle carries, kept here once the other device has it all. */
  nextList: DeviceList | null;
  identityId: string | null;
  includeHistory: boolean;
  cursors: Record<string, string>;
  // Join side
  self: { record: DeviceRecord; prekeyPrivate: string } | null;
  received: Map<number, Uint8Array>;
  end: Extract<LinkFrame, { kind: 'end' }> | null;
  bundle: LinkBundle | null;
}

/** Figures of a link, for the measurements in the README. */
export interface LinkFigures {
  bundleBytes: number;
  compressedBytes: number;
  pdus: number;
}

export class DeviceLinks {
  private readonly links = new Map<string, Link>();
  /** The UI's records: uploaded by the offering UI, downloaded by the joining one. */
  private readonly transfers: BackupTransfers<null>;
  /** The last bundle sent or received, for tests and measurements. */
  lastFigures: LinkFigures | null = null;

  constructor(
    private readonly parts: EngineContext,
    private readonly devices: DeviceStore,
    private readonly logger: Logger,
    private readonly pollMs = POLL_MS,
  ) {
    this.transfers = new BackupTransfers<null>(parts.now);
  }

  /** Offer side: a temporary drop and a one-time key, shown as the link string. */
  begin(identityId: string, includeHistory: boolean): { status: DeviceLinkStatus; linkString: string } {
    const { stateStore, now } = this.parts;
    const identity = stateStore.identity(identityId);
    const { serverUrl } = parseDropUrl(identity.dropUrls[0]!);
    const pair = newLinkKeyPair();
    // A random full-range ID, whatever the identity's drop range: nobody but the QR code's reader learns it.
    const dropUrl = formatDropUrl(serverUrl, generateDropId());
    const link = this.newLink('offer', { dropUrl, serverUrl, pair, offererPublic: pair.publicKey });
    link.identityId = identityId;
    link.includeHistory = includeHistory;
    // Noted before the UI reads its records, as a backup does: the new device may fetch a message twice, never miss one.
    // A move's overlap (or a removal's) goes on on the new device too: retiring drops are read there until their end.
    link.cursors = stateStore.cursorsOf([...identity.dropUrls, ...stateStore.retiredDropsOf(identity.id, now()).map((drop) => drop.url)]);
    link.transferId = this.transfers.begin('export', null).id;
    this.schedule(link);
    this.logger.info('device link offered', { linkId: link.id, at: now() });
    return { status: this.status(link), linkString: formatLinkString({ version: LINK_VERSION, dropUrl, publicKey: pair.publicKey }) };
  }

  upload(linkId: string, offset: number, data: Buffer): number {
    const link = this.link(linkId, 'offer');
    if (link.state !== 'waiting' && link.state !== 'compare') throw new ApiFailure('bad_input', 'This link takes no more records.');
    return this.transfers.upload(link.transferId, offset, data);
  }

  /** Offer side: the user's answer to "does the other device show these digits?". */
  async confirm(linkId: string, matches: boolean): Promise<DeviceLinkStatus> {
    const link = this.link(linkId, 'offer');
    if (link.state !== 'compare') throw new ApiFailure('bad_input', link.state === 'failed' ? (link.error ?? 'The link stopped.') : 'There is no code to confirm yet.');
    if (!matches) {
      await this.fail(link, 'The codes did not match, so nothing was sent. Someone else may have seen the QR code: start again and keep it to yourself.', 'mismatch');
      return this.status(link);
    }
    link.nextList = await this.devices.withDevice(link.identityId!, link.joiner!);
    const bundle = this.bundleOf(link, link.nextList);
    this.set(link, { state: 'sending' });
    void this.send(link, bundle);
    return this.status(link);
  }

  /** Join side: answers a link string with a hello and shows the code. */
  async join(linkString: string, deviceName: string): Promise<DeviceLinkStatus> {
    let offer;
    try {
      offer = parseLinkString(linkString);
    } catch (err) {
      throw new ApiFailure('bad_input', err instanceof ProtocolError ? err.message : 'This is not a device link.');
    }
    const pair = newLinkKeyPair();
    const keys = deriveLinkKeys(pair, offer.publicKey, offer.publicKey, pair.publicKey);
    if (!keys) throw new ApiFailure('bad_input', 'The device link carries no usable key.');
    const { serverUrl } = parseDropUrl(offer.dropUrl);
    const link = this.newLink('join', { dropUrl: offer.dropUrl, serverUrl, pair, offererPublic: offer.publicKey });
    link.keys = keys;
    link.self = this.devices.newSelf(deviceName);
    link.deviceName = link.self.record.name;
    link.state = 'receiving';
    const { deviceId, prekey, name } = link.self.record;
    const hello = sealLinkPdu(keys.fromJoiner, { kind: 'hello', deviceId: Buffer.from(deviceId, 'hex'), prekey: Buffer.from(prekey, 'hex'), name }, pair.publicKey);
    try {
      await this.post(link, hello);
    } catch (err) {
      this.forget(link);
      throw new ApiFailure('unavailable', `The other device's drop server could not be reached: ${err instanceof Error ? err.message : 'unknown error'}`);
    }
    link.transferId = this.transfers.begin('import', null).id;
    this.schedule(link);
    return this.status(link);
  }

  download(linkId: string, offset: number): { data: Buffer; size: number } {
    const link = this.link(linkId, 'join');
    if (link.state !== 'received') throw new ApiFailure('bad_input', 'Nothing has arrived to read yet.');
    return this.transfers.read(link.transferId, offset);
  }

  /** Join side: adds the received identity (the UI stored its records first). */
  async commit(linkId: string): Promise<IdentitySummary> {
    const link = this.link(linkId, 'join');
    if (link.state !== 'received' || !link.bundle) throw new ApiFailure('bad_input', 'The link has not brought everything yet.');
    const { stateStore, sessions, receiver, network } = this.parts;
    const { payload, settings } = link.bundle;
    const { id, alias, publicKey, privateKey, dropUrls, dropBits, createdAt, retiringDrops, dropsEpoch } = payload.identity;
    const firstIdentity = stateStore.identities().length === 0;
    const key = new Uint8Array(Buffer.from(privateKey, 'hex'));
    let restored: IdentitySummary;
    try {
      restored = await stateStore.restoreIdentity({ id, alias, publicKey, dropUrls, dropBits, createdAt }, key, payload.cursors, {
        retiredDrops: retiringDrops,
        dropsEpoch,
        now: this.parts.now(),
      });
    } finally {
      key.fill(0);
    }
    await this.devices.adopt(id, link.bundle.devices, link.self!);
    // This device starts without sessions of its own (PROTOCOL-V1.md 5c: sessions are per device).
    await sessions.forgetIdentity(id);
    // Several devices: no sessions for now, on this device as on the other (sessions/sessionSender.ts).
    await sessions.setOwnDevices(id, link.bundle.devices.devices.length);
    receiver.invalidate();
    // A fresh profile takes the other device's settings; one with identities of its own keeps its own.
    if (firstIdentity) {
      const saved = await stateStore.setSettings(settings);
      network.configure(saved.proxy);
    }
    link.bundle = null;
    this.transfers.discard(link.transferId);
    this.set(link, { state: 'done' });
    this.finish(link);
    return restored;
  }

  async cancel(linkId: string): Promise<DeviceLinkStatus> {
    const link = this.link(linkId);
    if (link.state === 'received') await this.fail(link, 'The link was cancelled on this device: nothing was added.', null);
    else await this.fail(link, 'The link was cancelled on this device.', 'cancelled');
    return this.status(link);
  }

  statusOf(linkId: string): DeviceLinkStatus {
    return this.status(this.link(linkId));
  }

  /** Stops every link's reading (the engine closes or locks). */
  close(): void {
    for (const link of this.links.values()) {
      if (link.timer) clearTimeout(link.timer);
      link.timer = null;
      this.transfers.discard(link.transferId);
    }
    this.links.clear();
  }

  // -------------------------------------------------------------------------------------------

  private newLink(role: Link['role'], fields: Pick<Link, 'dropUrl' | 'serverUrl' | 'pair' | 'offererPublic'>): Link {
    this.prune();
    const now = this.parts.now();
    const link: Link = {
      id: randomBytes(16).toString('base64url'),
      role,
      state: 'waiting',
      ...fields,
      keys: null,
      deviceName: null,
      chunks: null,
      preview: null,
      error: null,
      startedAt: now,
      expiresAt: now + LINK_LIFETIME_MS,
      finishedAt: null,
      cursor: null,
      known: new Set(),
      failedReads: 0,
      timer: null,
      reading: false,
      transferId: '',
      joiner: null,
      nextList: null,
      self: null,
      identityId: null,
      includeHistory: false,
      cursors: {},
      received: new Map(),
      end: null,
      bundle: null,
    };
    this.links.set(link.id, link);
    return link;
  }

  private link(linkId: string, role?: Link['role']): Link {
    const link = this.links.get(linkId);
    if (!link || (role && link.role !== role)) throw new ApiFailure('not_found', 'This device link is no longer open (it finished, stopped or timed out): start again.');
    return link;
  }

  private status(link: Link): DeviceLinkStatus {
    return {
      linkId: link.id,
      role: link.role,
      state: link.state,
      code: link.keys?.code ?? null,
      deviceName: link.deviceName,
      chunks: link.chunks ? { ...link.chunks } : null,
      preview: link.preview,
      error: link.error,
      expiresAt: link.expiresAt,
    };
  }

  private set(link: Link, change: Partial<Pick<Link, 'state' | 'chunks' | 'error' | 'deviceName' | 'preview'>>): void {
    Object.assign(link, change);
    this.parts.emit('devices/linkChanged', this.status(link));
  }

  private schedule(link: Link): void {
    if (link.finishedAt !== null || link.timer !== null || link.reading) return;
    link.timer = setTimeout(() => void this.read(link), this.pollMs);
    // A link never keeps the process alive by itself.
    link.timer.unref();
  }

  private finish(link: Link): void {
    link.finishedAt ??= this.parts.now();
    if (link.timer) clearTimeout(link.timer);
    link.timer = null;
    link.pair.privateKey.fill(0);
  }

  private forget(link: Link): void {
    this.finish(link);
    this.links.delete(link.id);
    this.transfers.discard(link.transferId);
  }

  private prune(): void {
    const now = this.parts.now();
    for (const link of [...this.links.values()]) if (link.finishedAt !== null && now - link.finishedAt > KEEP_FINISHED_MS) this.forget(link);
  }

  /**
   * Stops the link here, telling the other device why when `tell` says so (a frame under the link's
   * keys, once there are keys): it stops too instead of waiting for its timeout.
   */
  private async fail(link: Link, error: string, tell: LinkAbortReason | null): Promise<void> {
    if (link.state === 'failed' || link.state === 'done') return;
    this.finish(link);
    link.bundle = null;
    this.transfers.discard(link.transferId);
    this.set(link, { state: 'failed', error });
    if (tell && link.keys) {
      const key = link.role === 'offer' ? link.keys.fromOfferer : link.keys.fromJoiner;
      await this.post(link, sealLinkPdu(key, { kind: 'abort', reason: tell })).catch(() => undefined);
    }
  }

  private async post(link: Link, pdu: Buffer): Promise<void> {
    link.known.add(pduHash(pdu));
    const { network } = this.parts;
    for (let attempt = 1; ; attempt++) {
      try {
        await network.asOwnServer(link.serverUrl, () => network.client.post(link.dropUrl, pdu));
        return;
      } catch (err) {
        if (attempt >= POST_ATTEMPTS || (err instanceof DropRequestError && !err.retryable)) throw err;
        await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt));
      }
    }
  }

  private async read(link: Link): Promise<void> {
    link.timer = null;
    if (link.finishedAt !== null) return;
    if (this.parts.stateStore.locked) {
      // The keys are gone until the next unlock, and the link is not worth keeping them for.
      await this.fail(link, 'The engine was locked: the link stopped. Start again.', null);
      return;
    }
    if (this.parts.now() >= link.expiresAt) {
      await this.fail(link, 'The link timed out after 10 minutes: start again.', 'failed');
      return;
    }
    const { network } = this.parts;
    link.reading = true;
    try {
      const answer = await network.asOwnServer(link.serverUrl, () => network.client.fetch(link.dropUrl, link.cursor));
      link.failedReads = 0;
      if (answer.status === 'messages') {
        for (const item of answer.items) {
          if (link.finishedAt !== null) break;
          await this.take(link, item.body);
        }
        if (answer.latest !== null) link.cursor = answer.latest;
      }
    } catch (err) {
      if (err instanceof ProtocolError) {
        await this.fail(link, `The other device sent something this version cannot read (${err.message}): the link stopped.`, 'failed');
        return;
      }
      if (++link.failedReads >= MAX_FAILED_READS) {
        await this.fail(link, `The link's drop server could not be read: ${err instanceof Error ? err.message : 'unknown error'}.`, null);
        return;
      }
    } finally {
      link.reading = false;
    }
    if (link.finishedAt === null && (link.state === 'waiting' || link.state === 'compare' || link.state === 'sent' || link.state === 'receiving')) this.schedule(link);
  }

  private async take(link: Link, pdu: Uint8Array): Promise<void> {
    const hash = pduHash(pdu);
    if (link.known.has(hash)) return;
    link.known.add(hash);
    if (link.role === 'offer') await this.takeOffered(link, pdu);
    else await this.takeJoined(link, pdu);
  }

  private async tampered(link: Link): Promise<void> {
    await this.fail(link, 'A message on the link was altered or forged on the way (by the server or someone else): the link stopped and nothing more was sent. Start again.', 'failed');
  }

  /** Offer side: the joiner's hello, then only its stop or its receipt. */
  private async takeOffered(link: Link, pdu: Uint8Array): Promise<void> {
    const r = rOf(pdu);
    if (!r) return this.tampered(link);
    if (!link.keys) {
      const keys = deriveLinkKeys(link.pair, r, link.offererPublic, r);
      const frame = keys ? openLinkPdu(keys.fromJoiner, pdu) : null;
      if (!keys || frame?.kind !== 'hello') return this.tampered(link);
      link.keys = keys;
      const name = frame.name || 'Unnamed device';
      link.joiner = { deviceId: toHex(frame.deviceId), prekey: toHex(frame.prekey), addedDay: Math.floor(this.parts.now() / 86_400_000), name };
      this.set(link, { state: 'compare', deviceName: name });
      return;
    }
    const frame = openLinkPdu(link.keys.fromJoiner, pdu);
    if (frame?.kind === 'abort') return this.fail(link, abortText(frame.reason), null);
    if (frame?.kind === 'received' && (link.state === 'sent' || link.state === 'sending')) {
      await this.devices.adopt(link.identityId!, link.nextList!);
      // From now on this identity writes version 0 with `dd.md` (the UI tells every contact at once).
      await this.parts.sessions.setOwnDevices(link.identityId!, link.nextList!.devices.length);
      // Contacts and the other devices hear of the new device (devices/deviceNews.ts); a failed post
      // leaves them behind until their next echo of our list, which makes us send it again.
      await this.parts.devices.announce(link.identityId!).catch((err: unknown) => this.logger.warn('device list not announced', { error: err instanceof Error ? err.message : 'unknown' }));
      this.set(link, { state: 'done' });
      this.finish(link);
      return;
    }
    if (frame === null) {
      const other = deriveLinkKeys(link.pair, r, link.offererPublic, r);
      if (other && openLinkPdu(other.fromJoiner, pdu)?.kind === 'hello') {
        return this.fail(link, 'A second device answered this link: someone else has seen the QR code. Nothing was sent; start again and keep the code to yourself.', 'failed');
      }
    }
    return this.tampered(link);
  }

  /** Join side: chunks in any order, each once, then the end frame that checks them all. */
  private async takeJoined(link: Link, pdu: Uint8Array): Promise<void> {
    const frame = openLinkPdu(link.keys!.fromOfferer, pdu);
    if (!frame) return this.tampered(link);
    switch (frame.kind) {
      case 'abort':
        return this.fail(link, abortText(frame.reason), null);
      case 'chunk': {
        const total = link.end?.total ?? link.chunks?.total ?? frame.total;
        const before = link.received.get(frame.index);
        if (frame.total !== total || (before && !Buffer.from(before).equals(frame.data))) return this.tampered(link);
        link.received.set(frame.index, frame.data);
        this.set(link, { chunks: { done: link.received.size, total } });
        break;
      }
      case 'end':
        if ((link.end && !Buffer.from(link.end.sha256).equals(frame.sha256)) || (link.chunks && link.chunks.total !== frame.total)) return this.tampered(link);
        link.end = frame;
        break;
      default:
        return this.tampered(link);
    }
    if (link.end && link.received.size === link.end.total) await this.assemble(link, link.end);
  }

  private async assemble(link: Link, end: Extract<LinkFrame, { kind: 'end' }>): Promise<void> {
    const compressed = Buffer.concat(Array.from({ length: end.total }, (_, index) => link.received.get(index)!));
    link.received.clear();
    if (compressed.length !== end.length || !createHash('sha256').update(compressed).digest().equals(end.sha256)) return this.tampered(link);
    let bundle: LinkBundle;
    try {
      const json = inflateRawSync(compressed, { maxOutputLength: MAX_BUNDLE_BYTES });
      const outer = bundleSchema.parse(JSON.parse(json.toString('utf8')));
      bundle = { ...outer, payload: parseBackupPayload(outer.payload), devices: normalizeDeviceList(outer.devices) };
      if (!bundle.devices.devices.some((device) => device.deviceId === link.self!.record.deviceId)) throw new Error('this device is not in the device list sent');
      this.lastFigures = { bundleBytes: json.length, compressedBytes: compressed.length, pdus: end.total + 1 };
    } catch (err) {
      return this.fail(link, `What the other device sent could not be read (${err instanceof Error ? err.message : 'unknown error'}): nothing was added.`, 'failed');
    }
    const { identity } = bundle.payload;
    const derived = keyPairFromPrivate(Buffer.from(identity.privateKey, 'hex'));
    if (toHex(derived.publicKey) !== identity.publicKey) return this.fail(link, 'The identity sent has a key that does not fit: nothing was added.', 'failed');
    derived.privateKey.fill(0);
    const here = this.parts.stateStore.identities().find((known) => known.publicKey === identity.publicKey || known.id === identity.id);
    if (here) return this.fail(link, `${here.alias} is already on this device: nothing was added.`, 'failed');
    link.bundle = bundle;
    this.transfers.get(link.transferId, 'import').download = Buffer.from(JSON.stringify(bundle.payload.ui), 'utf8');
    const { ui } = bundle.payload;
    const preview: DeviceLinkStatus['preview'] = {
      kind: 'full',
      alias: identity.alias,
      publicKey: identity.publicKey,
      identityId: identity.id,
      includesHistory: bundle.payload.includesHistory,
      contacts: ui.contacts.length,
      conversations: ui.conversations.length,
      messages: ui.messages.length,
      uiBytes: this.transfers.read(link.transferId, 0).size,
    };
    this.finish(link);
    this.set(link, { state: 'received', preview });
    await this.post(link, sealLinkPdu(link.keys!.fromJoiner, { kind: 'received' })).catch(() => undefined);
  }

  /** Offer side: the bundle of the identity, its cursors as noted at the start, the settings and the UI's records. */
  private bundleOf(link: Link, devices: DeviceList): Buffer {
    const { stateStore, now } = this.parts;
    const identity = stateStore.identity(link.identityId!);
    let ui: unknown;
    try {
      ui = JSON.parse(this.transfers.takeUpload(link.transferId).toString('utf8'));
    } catch {
      throw new ApiFailure('bad_input', 'The contacts and messages for the link arrived incomplete: try again.');
    }
    const checkedUi = parseBackupUiPart(ui, identity.id, link.includeHistory);
    const { privateKey } = stateStore.keyPair(identity.id);
    const retiring = stateStore.retiredDropsOf(identity.id, now());
    const payload: BackupPayload = {
      schema: BACKUP_PAYLOAD_SCHEMA,
      version: BACKUP_PAYLOAD_VERSION,
      createdAt: now(),
      identity: {
        id: identity.id,
        alias: identity.alias,
        publicKey: identity.publicKey,
        privateKey: toHex(privateKey),
        dropUrls: identity.dropUrls,
        dropBits: identity.dropBits,
        createdAt: identity.createdAt,
        // As in a backup: the new device reads a retiring drop until its end, and carries on the drops epoch.
        retiringDrops: retiring,
        dropsEpoch: stateStore.dropsEpoch(identity.id),
      },
      cursors: Object.fromEntries(
        Object.entries(link.cursors).filter(([dropUrl]) => identity.dropUrls.includes(dropUrl) || retiring.some((drop) => drop.url === dropUrl)),
      ),
      includesHistory: link.includeHistory,
      ui: checkedUi,
    };
    privateKey.fill(0);
    const bundle: LinkBundle = { schema: BUNDLE_SCHEMA, version: LINK_VERSION, payload, settings: stateStore.settings(), devices };
    const json = Buffer.from(JSON.stringify(bundle), 'utf8');
    const compressed = deflateRawSync(json, { level: 9 });
    json.fill(0);
    this.lastFigures = { bundleBytes: json.length, compressedBytes: compressed.length, pdus: 0 };
    return compressed;
  }

  private async send(link: Link, bundle: Buffer): Promise<void> {
    const key = link.keys!.fromOfferer;
    const frames = chunkFrames(bundle);
    const pdus = [...frames.map((frame) => sealLinkPdu(key, frame)), sealLinkPdu(key, { kind: 'end', total: frames.length, length: bundle.length, sha256: createHash('sha256').update(bundle).digest() })];
    bundle.fill(0);
    if (this.lastFigures) this.lastFigures.pdus = pdus.length;
    let next = 0;
    let done = 0;
    this.set(link, { chunks: { done, total: frames.length } });
    const worker = async () => {
      while (next < pdus.length && link.finishedAt === null) {
        const pdu = pdus[next++]!;
        await this.post(link, pdu);
        if (link.finishedAt === null) this.set(link, { chunks: { done: Math.min(++done, frames.length), total: frames.length } });
      }
    };
    try {
      await Promise.all(Array.from({ length: POST_PARALLEL }, worker));
    } catch (err) {
      await this.fail(link, `Sending to the link's drop failed: ${err instanceof Error ? err.message : 'unknown error'}.`, 'failed');
      return;
    }
    if (link.finishedAt !== null) return;
    this.set(link, { state: 'sent' });
    this.schedule(link);
  }
}

function abortText(reason: LinkAbortReason): string {
  switch (reason) {
    case 'mismatch':
      return 'The other device said the codes did not match: nothing was sent. Start again.';
    case 'cancelled':
      return 'The link was cancelled on the other device.';
    case 'failed':
      return 'The other device stopped the link (something on the way was wrong, or it timed out). Start again.';
  }
}
