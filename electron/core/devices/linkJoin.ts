/**
 * The joining side of a device link (deviceLinks.ts): its hello, the bundle's chunks taken in any
 * order and each once, the end frame that checks them all, the checks of what arrived (the key fits,
 * the identity is not here already, this device is in the list sent), and at last the identity added
 * once the UI stored its records.
 */
import type { DeviceLinkStatus, IdentitySummary } from '../../../shared/ipc/contract.js';
import { toHex } from '../../../shared/protocol/encoding.js';
import type { LinkFrame } from '../../../shared/protocol/deviceLink.js';
import { keyPairFromPrivate } from '../v1/primitives.js';
import { openLinkPdu, sealLinkPdu } from './linkCipher.js';
import { type LinkBundle, joinChunks, unpackBundle } from './linkBundle.js';
import { type Link, type LinkSide, abortText } from './linkRecord.js';

/** The hello that answers a link string: this device's ID, prekey and name, under the link's key. */
export function helloPdu(link: Link): Buffer {
  const { deviceId, prekey, name } = link.self!.record;
  return sealLinkPdu(link.keys!.fromJoiner, { kind: 'hello', deviceId: Buffer.from(deviceId, 'hex'), prekey: Buffer.from(prekey, 'hex'), name }, link.pair.publicKey);
}

/** Chunks in any order, each once, then the end frame that checks them all. */
export async function takeJoined(side: LinkSide, link: Link, pdu: Uint8Array): Promise<void> {
  const frame = openLinkPdu(link.keys!.fromOfferer, pdu);
  if (!frame) return side.tampered(link);
  switch (frame.kind) {
    case 'abort':
      return side.fail(link, abortText(frame.reason), null);
    case 'chunk': {
      const total = link.end?.total ?? link.chunks?.total ?? frame.total;
      const before = link.received.get(frame.index);
      if (frame.total !== total || (before && !Buffer.from(before).equals(frame.data))) return side.tampered(link);
      link.received.set(frame.index, frame.data);
      side.set(link, { chunks: { done: link.received.size, total } });
      break;
    }
    case 'end':
      if ((link.end && !Buffer.from(link.end.sha256).equals(frame.sha256)) || (link.chunks && link.chunks.total !== frame.total)) return side.tampered(link);
      link.end = frame;
      break;
    default:
      return side.tampered(link);
  }
  if (link.end && link.received.size === link.end.total) await assemble(side, link, link.end);
}

/** Adds the received identity (the UI stored its records first). */
export async function commitJoined(side: LinkSide, link: Link, bundle: LinkBundle): Promise<IdentitySummary> {
  const { stateStore, sessions, receiver, network } = side.parts;
  const { payload, settings } = bundle;
  const { id, alias, publicKey, privateKey, dropUrls, dropBits, createdAt, retiringDrops, dropsEpoch } = payload.identity;
  const firstIdentity = stateStore.identities().length === 0;
  const key = new Uint8Array(Buffer.from(privateKey, 'hex'));
  let restored: IdentitySummary;
  try {
    restored = await stateStore.restoreIdentity({ id, alias, publicKey, dropUrls, dropBits, createdAt }, key, payload.cursors, {
      retiredDrops: retiringDrops,
      dropsEpoch,
      now: side.parts.now(),
    });
  } finally {
    key.fill(0);
  }
  await side.devices.adopt(id, bundle.devices, link.self!);
  // This device starts without sessions of its own (PROTOCOL-V1.md 5c: sessions are per device).
  await sessions.forgetIdentity(id);
  // Several devices: no sessions for now, on this device as on the other (sessions/sessionSender.ts).
  await sessions.setOwnDevices(id, bundle.devices.devices.length);
  // What the other device knew of each contact's devices: our first message to them goes in a session
  // with each of their devices (their drops come from the UI's records, as on the other device).
  for (const [peerHex, facts] of Object.entries(bundle.peers ?? {})) {
    if (peerHex !== publicKey) await sessions.setPeer(id, peerHex, facts);
  }
  receiver.invalidate();
  // A fresh profile takes the other device's settings; one with identities of its own keeps its own.
  if (firstIdentity) {
    const saved = await stateStore.setSettings(settings);
    network.configure(saved.proxy);
  }
  link.bundle = null;
  side.transfers.discard(link.transferId);
  side.set(link, { state: 'done' });
  side.finish(link);
  return restored;
}

/** Every chunk is here: check, unpack and show what came, and tell the other device. */
async function assemble(side: LinkSide, link: Link, end: Extract<LinkFrame, { kind: 'end' }>): Promise<void> {
  const compressed = joinChunks(link.received, end);
  link.received.clear();
  if (!compressed) return side.tampered(link);
  let bundle: LinkBundle;
  try {
    const unpacked = unpackBundle(compressed);
    bundle = unpacked.bundle;
    if (!bundle.devices.devices.some((device) => device.deviceId === link.self!.record.deviceId)) throw new Error('this device is not in the device list sent');
    side.noteFigures({ bundleBytes: unpacked.bundleBytes, compressedBytes: compressed.length, pdus: end.total + 1 });
  } catch (err) {
    return side.fail(link, `What the other device sent could not be read (${err instanceof Error ? err.message : 'unknown error'}): nothing was added.`, 'failed');
  }
  const { identity } = bundle.payload;
  const derived = keyPairFromPrivate(Buffer.from(identity.privateKey, 'hex'));
  if (toHex(derived.publicKey) !== identity.publicKey) return side.fail(link, 'The identity sent has a key that does not fit: nothing was added.', 'failed');
  derived.privateKey.fill(0);
  const here = side.parts.stateStore.identities().find((known) => known.publicKey === identity.publicKey || known.id === identity.id);
  if (here) return side.fail(link, `${here.alias} is already on this device: nothing was added.`, 'failed');
  link.bundle = bundle;
  side.transfers.get(link.transferId, 'import').download = Buffer.from(JSON.stringify(bundle.payload.ui), 'utf8');
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
    uiBytes: side.transfers.read(link.transferId, 0).size,
  };
  side.finish(link);
  side.set(link, { state: 'received', preview });
  await side.post(link, sealLinkPdu(link.keys!.fromJoiner, { kind: 'received' })).catch(() => undefined);
}
