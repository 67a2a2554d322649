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
 *
 * This file holds the open links, reads and posts to their drops and stops them; the offering side is
 * linkOffer.ts, the joining side linkJoin.ts, the bundle's codec linkBundle.ts.
 */
import type { DeviceLinkStatus, IdentitySummary } from '../../../shared/ipc/contract.js';
import { ApiFailure } from '../../../shared/ipc/result.js';
import { type LinkAbortReason, LINK_VERSION, formatLinkString, parseLinkString } from '../../../shared/protocol/deviceLink.js';
import { formatDropUrl, generateDropId, parseDropUrl } from '../../../shared/protocol/dropId.js';
import { ProtocolError } from '../../../shared/protocol/errors.js';
import type { Logger } from '../../../shared/log.js';
import { DropRequestError } from '../net/dropClient.js';
import { BackupTransfers } from '../state/backupTransfers.js';
import type { EngineContext } from '../engine.js';
import { deriveLinkKeys, newLinkKeyPair, pduHash, sealLinkPdu } from './linkCipher.js';
import type { DeviceStore } from './deviceStore.js';
import { type Link, type LinkChange, type LinkFigures, type LinkOrigin, type LinkSide, linkStatus, newLinkRecord } from './linkRecord.js';
import { sendOnMatch, takeOffered } from './linkOffer.js';
import { commitJoined, helloPdu, takeJoined } from './linkJoin.js';

export { LINK_LIFETIME_MS, type LinkFigures } from './linkRecord.js';

/** How often both devices read the link's drop while it is open. */
const POLL_MS = 1000;
/** Reads in a row that may fail (server down, network gone) before the link gives up. */
const MAX_FAILED_READS = 30;
/** Posts of one PDU before the link gives up. */
const POST_ATTEMPTS = 4;
/** Finished links are kept this long for `devices/linkStatus`. */
const KEEP_FINISHED_MS = 10 * 60_000;

export class DeviceLinks {
  private readonly links = new Map<string, Link>();
  /** The UI's records: uploaded by the offering UI, downloaded by the joining one. */
  private readonly transfers: BackupTransfers<null>;
  /** What the offering and the joining side act through. */
  private readonly side: LinkSide;
  /** The last bundle sent or received, for tests and measurements. */
  lastFigures: LinkFigures | null = null;

  constructor(
    private readonly parts: EngineContext,
    private readonly devices: DeviceStore,
    private readonly logger: Logger,
    private readonly pollMs = POLL_MS,
  ) {
    this.transfers = new BackupTransfers<null>(parts.now);
    this.side = {
      parts,
      devices,
      transfers: this.transfers,
      logger,
      set: (link, change) => this.set(link, change),
      fail: (link, error, tell) => this.fail(link, error, tell),
      tampered: (link) => this.tampered(link),
      post: (link, pdu) => this.post(link, pdu),
      schedule: (link) => this.schedule(link),
      finish: (link) => this.finish(link),
      noteFigures: (figures) => void (this.lastFigures = figures),
    };
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
    return { status: linkStatus(link), linkString: formatLinkString({ version: LINK_VERSION, dropUrl, publicKey: pair.publicKey }) };
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
      return linkStatus(link);
    }
    await sendOnMatch(this.side, link);
    return linkStatus(link);
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
    try {
      await this.post(link, helloPdu(link));
    } catch (err) {
      this.forget(link);
      throw new ApiFailure('unavailable', `The other device's drop server could not be reached: ${err instanceof Error ? err.message : 'unknown error'}`);
    }
    link.transferId = this.transfers.begin('import', null).id;
    this.schedule(link);
    return linkStatus(link);
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
    return commitJoined(this.side, link, link.bundle);
  }

  async cancel(linkId: string): Promise<DeviceLinkStatus> {
    const link = this.link(linkId);
    if (link.state === 'received') await this.fail(link, 'The link was cancelled on this device: nothing was added.', null);
    else await this.fail(link, 'The link was cancelled on this device.', 'cancelled');
    return linkStatus(link);
  }

  statusOf(linkId: string): DeviceLinkStatus {
    return linkStatus(this.link(linkId));
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

  private newLink(role: Link['role'], origin: LinkOrigin): Link {
    this.prune();
    const link = newLinkRecord(role, origin, this.parts.now());
    this.links.set(link.id, link);
    return link;
  }

  private link(linkId: string, role?: Link['role']): Link {
    const link = this.links.get(linkId);
    if (!link || (role && link.role !== role)) throw new ApiFailure('not_found', 'This device link is no longer open (it finished, stopped or timed out): start again.');
    return link;
  }

  private set(link: Link, change: LinkChange): void {
    Object.assign(link, change);
    this.parts.emit('devices/linkChanged', linkStatus(link));
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
    if (link.role === 'offer') await takeOffered(this.side, link, pdu);
    else await takeJoined(this.side, link, pdu);
  }

  private async tampered(link: Link): Promise<void> {
    await this.fail(link, 'A message on the link was altered or forged on the way (by the server or someone else): the link stopped and nothing more was sent. Start again.', 'failed');
  }
}
