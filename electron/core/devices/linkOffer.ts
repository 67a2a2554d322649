/**
 * The offering side of a device link (deviceLinks.ts): it takes the joining device's hello (and sees
 * a second device answering the same QR code), then, once the user confirmed the code, builds the
 * bundle from the identity, the cursors noted at the start, the settings and the UI's records, posts
 * it, and adopts the new device list when the other device says it has everything.
 */
import { parseBackupUiPart } from '../../../shared/backup/backupPayload.js';
import { ApiFailure } from '../../../shared/ipc/result.js';
import { toHex } from '../../../shared/protocol/encoding.js';
import type { DeviceList } from '../../../shared/protocol/deviceList.js';
import { identityBackupPayload } from '../state/identityBackup.js';
import { deriveLinkKeys, openLinkPdu, rOf } from './linkCipher.js';
import { type LinkPeerFacts, MAX_LINK_PEERS, packBundle, sealBundle } from './linkBundle.js';
import { type Link, type LinkSide, abortText } from './linkRecord.js';

/** PDUs posted at once while sending the bundle. */
const POST_PARALLEL = 4;

/** The codes matched: the joining device goes into the next device list, and the bundle is on its way. */
export async function sendOnMatch(side: LinkSide, link: Link): Promise<void> {
  link.nextList = await side.devices.withDevice(link.identityId!, link.joiner!);
  const { compressed, bundleBytes } = bundleOf(side, link, link.nextList);
  const compressedBytes = compressed.length;
  const { pdus, chunks } = sealBundle(link.keys!.fromOfferer, compressed);
  side.noteFigures({ bundleBytes, compressedBytes, pdus: pdus.length });
  side.set(link, { state: 'sending' });
  void send(side, link, pdus, chunks);
}

/** The joiner's hello, then only its stop or its receipt. */
export async function takeOffered(side: LinkSide, link: Link, pdu: Uint8Array): Promise<void> {
  const r = rOf(pdu);
  if (!r) return side.tampered(link);
  if (!link.keys) {
    const keys = deriveLinkKeys(link.pair, r, link.offererPublic, r);
    const frame = keys ? openLinkPdu(keys.fromJoiner, pdu) : null;
    if (!keys || frame?.kind !== 'hello') return side.tampered(link);
    link.keys = keys;
    const name = frame.name || 'Unnamed device';
    link.joiner = { deviceId: toHex(frame.deviceId), prekey: toHex(frame.prekey), addedDay: Math.floor(side.parts.now() / 86_400_000), name };
    side.set(link, { state: 'compare', deviceName: name });
    return;
  }
  const frame = openLinkPdu(link.keys.fromJoiner, pdu);
  if (frame?.kind === 'abort') return side.fail(link, abortText(frame.reason), null);
  if (frame?.kind === 'received' && (link.state === 'sent' || link.state === 'sending')) {
    await side.devices.adopt(link.identityId!, link.nextList!);
    // From now on this identity writes version 0 with `dd.md` (the UI tells every contact at once).
    await side.parts.sessions.setOwnDevices(link.identityId!, link.nextList!.devices.length);
    // Contacts and the other devices hear of the new device (devices/deviceNews.ts); a failed post
    // leaves them behind until their next echo of our list, which makes us send it again.
    await side.parts.devices.announce(link.identityId!).catch((err: unknown) => side.logger.warn('device list not announced', { error: err instanceof Error ? err.message : 'unknown' }));
    side.set(link, { state: 'done' });
    side.finish(link);
    return;
  }
  if (frame === null) {
    const other = deriveLinkKeys(link.pair, r, link.offererPublic, r);
    if (other && openLinkPdu(other.fromJoiner, pdu)?.kind === 'hello') {
      return side.fail(link, 'A second device answered this link: someone else has seen the QR code. Nothing was sent; start again and keep the code to yourself.', 'failed');
    }
  }
  return side.tampered(link);
}

/** The bundle of the identity, its cursors as noted at the start, the settings and the UI's records. */
function bundleOf(side: LinkSide, link: Link, devices: DeviceList): { compressed: Buffer; bundleBytes: number } {
  const { stateStore, now } = side.parts;
  const identityId = link.identityId!;
  let ui: unknown;
  try {
    ui = JSON.parse(side.transfers.takeUpload(link.transferId).toString('utf8'));
  } catch {
    throw new ApiFailure('bad_input', 'The contacts and messages for the link arrived incomplete: try again.');
  }
  const checkedUi = parseBackupUiPart(ui, identityId, link.includeHistory);
  // As in a backup: the new device reads a retiring drop until its end, and carries on the drops epoch.
  const payload = identityBackupPayload(stateStore, { identityId, cursors: link.cursors, includeHistory: link.includeHistory, ui: checkedUi }, now());
  return packBundle({ payload, settings: stateStore.settings(), devices, peers: peerFactsOf(side, identityId) });
}

/** What this device knows of each contact's devices (linkBundle.ts peerFactsSchema); none of its sessions. */
function peerFactsOf(side: LinkSide, identityId: string): Record<string, LinkPeerFacts> {
  const { sessions, stateStore } = side.parts;
  const own = stateStore.identity(identityId).publicKey;
  const peers: Record<string, LinkPeerFacts> = {};
  for (const peerHex of sessions.peerKeys(identityId).slice(0, MAX_LINK_PEERS)) {
    const peer = sessions.peer(identityId, peerHex);
    if (peerHex === own || !/^[0-9a-f]{64}$/.test(peerHex)) continue;
    const facts: LinkPeerFacts = {
      ...(peer.v1 === true ? { v1: true as const } : {}),
      ...(peer.perDevice === true ? { perDevice: true as const } : {}),
      ...(peer.multiDevice === true ? { multiDevice: true as const } : {}),
      ...(peer.devlists && peer.devlists.length > 0 ? { devlists: peer.devlists.slice(-5) } : {}),
    };
    if (Object.keys(facts).length > 0) peers[peerHex] = facts;
  }
  return peers;
}

/** Posts the sealed bundle, a few PDUs at once, then waits for the other device's receipt. */
async function send(side: LinkSide, link: Link, pdus: readonly Buffer[], chunks: number): Promise<void> {
  let next = 0;
  let done = 0;
  side.set(link, { chunks: { done, total: chunks } });
  const worker = async () => {
    while (next < pdus.length && link.finishedAt === null) {
      const pdu = pdus[next++]!;
      await side.post(link, pdu);
      if (link.finishedAt === null) side.set(link, { chunks: { done: Math.min(++done, chunks), total: chunks } });
    }
  };
  try {
    await Promise.all(Array.from({ length: POST_PARALLEL }, worker));
  } catch (err) {
    await side.fail(link, `Sending to the link's drop failed: ${err instanceof Error ? err.message : 'unknown error'}.`, 'failed');
    return;
  }
  if (link.finishedAt !== null) return;
  side.set(link, { state: 'sent' });
  side.schedule(link);
}
