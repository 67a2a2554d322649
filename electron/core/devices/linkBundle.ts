/**
 * The bundle a device link carries (PROTOCOL-V1.md 5c): the same JSON a full backup holds (identity
 * with its key, drop cursors, the UI's records) plus the engine settings and the next device list,
 * compressed, cut into chunk frames sealed under the link's key, and closed by an end frame with its
 * length and SHA-256. Packing and sealing for the offering side; joining, checking and unpacking for
 * the joining side.
 */
import { createHash } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { z } from 'zod';
import { type BackupPayload, parseBackupPayload } from '../../../shared/backup/backupPayload.js';
import { type EngineSettings, engineSettingsSchema } from '../../../shared/ipc/contract.js';
import { type LinkFrame, LINK_VERSION, chunkFrames } from '../../../shared/protocol/deviceLink.js';
import { type DeviceList, deviceListSchema, normalizeDeviceList } from '../../../shared/protocol/deviceList.js';
import { sealLinkPdu } from './linkCipher.js';

/** A bundle never inflates beyond this (a full backup file's bound). */
const MAX_BUNDLE_BYTES = 256 * 1024 * 1024;

/**
 * What the offering device knows of a contact's devices (sessions/sessionStore.ts PeerInfo): their
 * device lists, whether they keep per-device sessions and speak version 1. With it the new device
 * writes its first message to each contact inside a session with each of their devices, not as a
 * version-0 box their identity key opens (sessions are not copied: they are per device).
 */
const peerFactsSchema = z.object({
  v1: z.literal(true).optional(),
  perDevice: z.literal(true).optional(),
  multiDevice: z.literal(true).optional(),
  devlists: z.array(z.string().max(1024)).max(5).optional(),
});
export type LinkPeerFacts = z.infer<typeof peerFactsSchema>;
/** A bound on the contacts whose facts a bundle carries (the UI's own bound on contacts is lower). */
export const MAX_LINK_PEERS = 10_000;

const BUNDLE_SCHEMA = 'deaddrop-device-link';
const bundleSchema = z.object({
  schema: z.literal(BUNDLE_SCHEMA),
  version: z.literal(LINK_VERSION),
  payload: z.unknown(),
  settings: engineSettingsSchema,
  devices: deviceListSchema,
  /** Optional (bundles from before it have none; a build that does not know it ignores it). */
  peers: z.record(z.string().regex(/^[0-9a-f]{64}$/), peerFactsSchema).optional(),
});

/** What the offering device sends once the codes matched. */
export interface LinkBundle {
  schema: typeof BUNDLE_SCHEMA;
  version: number;
  /** A full backup's payload, not sealed with a passphrase: the link's keys protect it. */
  payload: BackupPayload;
  settings: EngineSettings;
  /** The identity's device list with the new device in it (the next epoch). */
  devices: DeviceList;
  /** Contacts' device facts by key (hex), see peerFactsSchema. */
  peers?: Record<string, LinkPeerFacts> | undefined;
}

type EndFrame = Extract<LinkFrame, { kind: 'end' }>;

/** The bundle as compressed JSON; the plain JSON is wiped, it holds the identity's private key. */
export function packBundle(content: Pick<LinkBundle, 'payload' | 'settings' | 'devices' | 'peers'>): { compressed: Buffer; bundleBytes: number } {
  const bundle: LinkBundle = { schema: BUNDLE_SCHEMA, version: LINK_VERSION, ...content };
  const json = Buffer.from(JSON.stringify(bundle), 'utf8');
  const compressed = deflateRawSync(json, { level: 9 });
  json.fill(0);
  return { compressed, bundleBytes: json.length };
}

/**
 * The PDUs that carry a compressed bundle: its chunks, then the end frame. `compressed` is wiped once
 * sealed. `chunks` counts the chunk frames (the progress the UI shows).
 */
export function sealBundle(key: Uint8Array, compressed: Buffer): { pdus: Buffer[]; chunks: number } {
  const frames = chunkFrames(compressed);
  const end: EndFrame = { kind: 'end', total: frames.length, length: compressed.length, sha256: createHash('sha256').update(compressed).digest() };
  const pdus = [...frames.map((frame) => sealLinkPdu(key, frame)), sealLinkPdu(key, end)];
  compressed.fill(0);
  return { pdus, chunks: frames.length };
}

/** The compressed bundle from its chunks, or null when its length or hash is not what the end frame says. */
export function joinChunks(received: ReadonlyMap<number, Uint8Array>, end: EndFrame): Buffer | null {
  const compressed = Buffer.concat(Array.from({ length: end.total }, (_, index) => received.get(index)!));
  if (compressed.length !== end.length || !createHash('sha256').update(compressed).digest().equals(end.sha256)) return null;
  return compressed;
}

/** Inflates (within its bound) and checks a received bundle. @throws Error when it cannot be read */
export function unpackBundle(compressed: Buffer): { bundle: LinkBundle; bundleBytes: number } {
  const json = inflateRawSync(compressed, { maxOutputLength: MAX_BUNDLE_BYTES });
  const outer = bundleSchema.parse(JSON.parse(json.toString('utf8')));
  return { bundle: { ...outer, payload: parseBackupPayload(outer.payload), devices: normalizeDeviceList(outer.devices) }, bundleBytes: json.length };
}
