/**
 * The device list of an identity (PROTOCOL-V1.md 5c, message type `DEVICES` 0x07): which devices hold
 * the identity key, and which were removed, as its devices and its contacts know it. Body layout:
 * `devlist_epoch` u16 · count u8 (1..8) · per device, sorted by id: `device_id` 8 · device prekey 32 ·
 * `added_day` u16 · `name_epoch` u16 · name_len u8 · name ≤ 32 bytes of UTF-8 · then removed_count u8
 * (0..8) · per removed device, sorted by id: `device_id` 8 · `removed_epoch` u16: at most 700 bytes.
 * Its 4-byte hash is what every v1 header echoes (`peer_devlist_hash`), so a device can tell that a
 * contact encrypts to a list it never made.
 *
 * The merge rule (a join: commutative, associative, idempotent, so every device that saw the same lists
 * computes the same one in any order): the devices of both lists minus every removed one (tombstones,
 * kept per id with their highest removal epoch), the higher epoch, and per device the record named
 * last (`name_epoch`, then the encoding). A device changing the list itself (adding, removing,
 * renaming) takes the epoch after the highest it knows. "Higher epoch wins whole", the earlier rule,
 * dropped a device added on one device while another moved on by two epochs (test/devices).
 *
 * Bounds: at most 8 devices and 8 tombstones (the latest removals stay: a device removed nine removals
 * ago could come back from a list that old). A union of more than 8 devices is no list at all
 * (`DeviceListFull`): no device is ever dropped to make room. Dropping one by a rule on its fields
 * (the earliest `added_day` stayed, formerly) let anyone holding the identity key push every honest
 * device out with eight made-up ones "added" on day 0; the device holding the list keeps its own and
 * raises the alarm instead (electron/core/devices/deviceStore.ts).
 *
 * Epochs are u16 serial numbers that wrap (as drops epochs do, RFC 1982): `b` is newer than `a` when it
 * is ahead by less than half the circle. A counter that stopped at 0xffff would freeze the order: every
 * later change would carry the same epoch and renames would stop winning.
 */
import { z } from 'zod';
import { bytesEqual, sha256Hex, toHex, utf8Decode, utf8Encode } from './encoding.js';
import { ProtocolError } from './errors.js';
import { DEVICE_ID_LENGTH, MAX_DEVICE_NAME_BYTES, cleanDeviceName } from './deviceLink.js';

export const MAX_DEVICES = 8;
export const MAX_TOMBSTONES = 8;
export const DEVICE_PREKEY_LENGTH = 32;
export const DEVLIST_HASH_LENGTH = 4;
const RECORD_FIXED = DEVICE_ID_LENGTH + DEVICE_PREKEY_LENGTH + 2 + 2 + 1;
const TOMBSTONE_LENGTH = DEVICE_ID_LENGTH + 2;
/** The largest encoded list: 3 + 8 × 77 + 1 + 8 × 10 bytes. */
export const MAX_DEVICE_LIST_BYTES = 3 + MAX_DEVICES * (RECORD_FIXED + MAX_DEVICE_NAME_BYTES) + 1 + MAX_TOMBSTONES * TOMBSTONE_LENGTH;

export interface DeviceRecord {
  /** 8 random bytes, 16 lowercase hex. */
  deviceId: string;
  /** The device's X25519 prekey for per-device sessions, 64 lowercase hex (all zero: none yet). */
  prekey: string;
  /** Days since 1970-01-01 (UTC) when it was added. */
  addedDay: number;
  name: string;
  /** The list epoch at which the name was last set (0 when unknown: a list from before names had epochs). */
  nameEpoch?: number;
}

/** A removed device: its id and the epoch of the list that removed it. */
export interface Tombstone {
  deviceId: string;
  epoch: number;
}

export interface DeviceList {
  epoch: number;
  /** Sorted by deviceId, ids unique. */
  devices: DeviceRecord[];
  /** Removed devices, sorted by deviceId, none of them in `devices` (absent: none). */
  removed?: Tombstone[];
}

/** A list as JSON at rest or in a link bundle (lists from before tombstones have none). */
export const deviceListSchema = z.object({
  epoch: z.number(),
  devices: z.array(z.object({ deviceId: z.string(), prekey: z.string(), addedDay: z.number(), name: z.string(), nameEpoch: z.number().optional() })),
  removed: z.array(z.object({ deviceId: z.string(), epoch: z.number() })).optional(),
});

function invalid(message: string): ProtocolError {
  return new ProtocolError('invalid_message', message);
}

/** Two lists whose union holds more than MAX_DEVICES devices: not merged (see the top). */
export class DeviceListFull extends ProtocolError {
  constructor() {
    super('invalid_message', `Together these device lists hold more than ${MAX_DEVICES} devices.`);
  }
}

/** Whether epoch `a` is newer than `b` (u16 serial numbers that wrap: ahead by less than half the circle). */
export function deviceEpochNewer(a: number, b: number): boolean {
  const ahead = (a - b) & 0xffff;
  return ahead > 0 && ahead < 0x8000;
}

/** The epoch after `epoch` (0xffff is followed by 0). */
export const nextDeviceEpoch = (epoch: number): number => (epoch + 1) & 0xffff;

/** The newer of two epochs; exactly half a circle apart neither is, and the larger number is taken (so the merge stays commutative). */
const newerEpoch = (a: number, b: number): number => (deviceEpochNewer(a, b) ? a : deviceEpochNewer(b, a) ? b : Math.max(a, b));

const HEX16 = /^[0-9a-f]{16}$/;
const HEX64 = /^[0-9a-f]{64}$/;

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const u16 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffff;
const byId = <T extends { deviceId: string }>(a: T, b: T): number => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0);

/** The list in its one canonical order, checked. @throws ProtocolError */
export function normalizeDeviceList(list: DeviceList): Required<DeviceList> {
  if (!u16(list.epoch)) throw invalid('A device list epoch is out of range.');
  if (list.devices.length === 0 || list.devices.length > MAX_DEVICES) throw invalid(`A device list holds 1 to ${MAX_DEVICES} devices.`);
  const devices = [...list.devices].map((device): DeviceRecord => {
    if (!HEX16.test(device.deviceId) || !HEX64.test(device.prekey)) throw invalid('A device id or prekey is malformed.');
    if (!u16(device.addedDay)) throw invalid('A device was added on an impossible day.');
    const nameEpoch = device.nameEpoch ?? 0;
    if (!u16(nameEpoch)) throw invalid('A device name epoch is out of range.');
    return { deviceId: device.deviceId, prekey: device.prekey, addedDay: device.addedDay, name: cleanDeviceName(device.name), nameEpoch };
  });
  devices.sort(byId);
  for (let i = 1; i < devices.length; i++) if (devices[i]!.deviceId === devices[i - 1]!.deviceId) throw invalid('A device list names a device twice.');
  const removed = (list.removed ?? []).map((tombstone): Tombstone => {
    if (!HEX16.test(tombstone.deviceId) || !u16(tombstone.epoch)) throw invalid('A removed device is malformed.');
    return { deviceId: tombstone.deviceId, epoch: tombstone.epoch };
  });
  if (removed.length > MAX_TOMBSTONES) throw invalid(`A device list names at most ${MAX_TOMBSTONES} removed devices.`);
  removed.sort(byId);
  for (let i = 1; i < removed.length; i++) if (removed[i]!.deviceId === removed[i - 1]!.deviceId) throw invalid('A device list names a removed device twice.');
  const gone = new Set(removed.map((tombstone) => tombstone.deviceId));
  if (devices.some((device) => gone.has(device.deviceId))) throw invalid('A device list names a device as present and removed.');
  return { epoch: list.epoch, devices, removed };
}

/** The `DEVICES` body. @throws ProtocolError for a list no device may send */
export function encodeDeviceList(list: DeviceList): Uint8Array<ArrayBuffer> {
  const { epoch, devices, removed } = normalizeDeviceList(list);
  const names = devices.map((device) => utf8Encode(device.name));
  const out = new Uint8Array(3 + devices.reduce((sum, _, i) => sum + RECORD_FIXED + names[i]!.length, 0) + 1 + removed.length * TOMBSTONE_LENGTH);
  const view = new DataView(out.buffer);
  view.setUint16(0, epoch);
  out[2] = devices.length;
  let at = 3;
  devices.forEach((device, i) => {
    out.set(hexBytes(device.deviceId), at);
    out.set(hexBytes(device.prekey), at + DEVICE_ID_LENGTH);
    view.setUint16(at + DEVICE_ID_LENGTH + DEVICE_PREKEY_LENGTH, device.addedDay);
    view.setUint16(at + DEVICE_ID_LENGTH + DEVICE_PREKEY_LENGTH + 2, device.nameEpoch ?? 0);
    out[at + RECORD_FIXED - 1] = names[i]!.length;
    out.set(names[i]!, at + RECORD_FIXED);
    at += RECORD_FIXED + names[i]!.length;
  });
  out[at++] = removed.length;
  for (const tombstone of removed) {
    out.set(hexBytes(tombstone.deviceId), at);
    view.setUint16(at + DEVICE_ID_LENGTH, tombstone.epoch);
    at += TOMBSTONE_LENGTH;
  }
  return out;
}

/** Reads a `DEVICES` body (hostile input). @throws ProtocolError */
export function decodeDeviceList(bytes: Uint8Array): Required<DeviceList> {
  if (bytes.length < 4 || bytes.length > MAX_DEVICE_LIST_BYTES) throw invalid('A device list has an impossible length.');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const epoch = view.getUint16(0);
  const count = bytes[2]!;
  const devices: DeviceRecord[] = [];
  let at = 3;
  for (let i = 0; i < count; i++) {
    if (at + RECORD_FIXED > bytes.length) throw invalid('A device list ends inside a device.');
    const nameLength = bytes[at + RECORD_FIXED - 1]!;
    if (nameLength > MAX_DEVICE_NAME_BYTES || at + RECORD_FIXED + nameLength > bytes.length) throw invalid('A device name is out of bounds.');
    devices.push({
      deviceId: toHex(bytes.subarray(at, at + DEVICE_ID_LENGTH)),
      prekey: toHex(bytes.subarray(at + DEVICE_ID_LENGTH, at + DEVICE_ID_LENGTH + DEVICE_PREKEY_LENGTH)),
      addedDay: view.getUint16(at + DEVICE_ID_LENGTH + DEVICE_PREKEY_LENGTH),
      nameEpoch: view.getUint16(at + DEVICE_ID_LENGTH + DEVICE_PREKEY_LENGTH + 2),
      name: utf8Decode(bytes.subarray(at + RECORD_FIXED, at + RECORD_FIXED + nameLength)),
    });
    at += RECORD_FIXED + nameLength;
  }
  if (at >= bytes.length) throw invalid('A device list ends before its removed devices.');
  const removedCount = bytes[at++]!;
  if (at + removedCount * TOMBSTONE_LENGTH !== bytes.length) throw invalid('A device list’s removed devices do not fill it.');
  const removed: Tombstone[] = [];
  for (let i = 0; i < removedCount; i++, at += TOMBSTONE_LENGTH) {
    removed.push({ deviceId: toHex(bytes.subarray(at, at + DEVICE_ID_LENGTH)), epoch: view.getUint16(at + DEVICE_ID_LENGTH) });
  }
  const list = normalizeDeviceList({ epoch, devices, removed });
  // Only the canonical form is accepted, so a list has one hash.
  if (!bytesEqual(encodeDeviceList(list), bytes)) throw invalid('A device list is not in its canonical form.');
  return list;
}

/** What the list hash is taken over: "DD devlist" then the `DEVICES` body (the engine hashes it without waiting). */
export function deviceListHashInput(body: Uint8Array): Uint8Array<ArrayBuffer> {
  const input = new Uint8Array(10 + body.length);
  input.set(utf8Encode('DD devlist'), 0);
  input.set(body, 10);
  return input;
}

/** The 4-byte hash a v1 header echoes (`peer_devlist_hash`), as 8 hex: the first bytes of SHA-256 over `deviceListHashInput`. */
export async function deviceListHash(list: DeviceList): Promise<string> {
  return (await sha256Hex(deviceListHashInput(encodeDeviceList(list)))).slice(0, 2 * DEVLIST_HASH_LENGTH);
}

/**
 * Merges two views of one identity's list (the join described at the top): every device either holds,
 * minus the removed ones; the higher epoch. Every device that saw the same lists computes the same
 * result, in any order.
 */
export function mergeDeviceLists(a: DeviceList, b: DeviceList): Required<DeviceList> {
  const x = normalizeDeviceList(a);
  const y = normalizeDeviceList(b);
  const epoch = newerEpoch(x.epoch, y.epoch);
  const tombstones = new Map<string, number>();
  for (const tombstone of [...x.removed, ...y.removed]) {
    const known = tombstones.get(tombstone.deviceId);
    tombstones.set(tombstone.deviceId, known === undefined ? tombstone.epoch : newerEpoch(known, tombstone.epoch));
  }
  // The latest removals stay when there are more than the bound: the fewest epochs back from the list's.
  const age = (tombstone: Tombstone): number => (epoch - tombstone.epoch) & 0xffff;
  const removed = [...tombstones.entries()]
    .map(([deviceId, removedEpoch]) => ({ deviceId, epoch: removedEpoch }))
    .sort((p, q) => age(p) - age(q) || byId(p, q))
    .slice(0, MAX_TOMBSTONES);
  const gone = new Set(removed.map((tombstone) => tombstone.deviceId));
  const records = new Map<string, DeviceRecord>();
  for (const device of [...x.devices, ...y.devices]) {
    if (gone.has(device.deviceId)) continue;
    const known = records.get(device.deviceId);
    if (!known || recordWins(device, known)) records.set(device.deviceId, device);
  }
  if (records.size > MAX_DEVICES) throw new DeviceListFull();
  if (records.size === 0) throw invalid('Merging two device lists removed every device.');
  return normalizeDeviceList({ epoch, devices: [...records.values()], removed });
}

/**
 * Whether record `a` of a device wins over record `b` of the same device: the one named last (wrapping
 * epochs), then the later encoding. Only ever two records meet (one per list), so the comparison needs
 * no total order.
 */
function recordWins(a: DeviceRecord, b: DeviceRecord): boolean {
  const p = a.nameEpoch ?? 0;
  const q = b.nameEpoch ?? 0;
  if (deviceEpochNewer(p, q)) return true;
  if (deviceEpochNewer(q, p)) return false;
  return recordKey(a) > recordKey(b);
}

function recordKey(device: DeviceRecord): string {
  return `${String(device.nameEpoch ?? 0).padStart(5, '0')} ${device.prekey} ${String(device.addedDay).padStart(5, '0')} ${device.name}`;
}

/**
 * A change made on this device: `next` (devices added, renamed, removed; renamed ones with their
 * `nameEpoch` set by the caller) as the epoch after `current`'s, removed devices becoming tombstones.
 */
export function changedDeviceList(current: DeviceList, devices: DeviceRecord[], removedIds: readonly string[] = []): Required<DeviceList> {
  const base = normalizeDeviceList(current);
  const epoch = nextDeviceEpoch(base.epoch);
  const age = (tombstone: Tombstone): number => (epoch - tombstone.epoch) & 0xffff;
  const removed = [...base.removed.filter((t) => !removedIds.includes(t.deviceId)), ...removedIds.map((deviceId) => ({ deviceId, epoch }))]
    .sort((p, q) => age(p) - age(q) || byId(p, q))
    .slice(0, MAX_TOMBSTONES);
  const gone = new Set(removedIds);
  return normalizeDeviceList({ epoch, devices: devices.filter((device) => !gone.has(device.deviceId)), removed });
}

/**
 * What a device concludes from a contact's view of our list (a header's echoed hash, and the list the
 * contact sends when asked): `same` as ours; `behind` or `ahead` when it is only an older or newer
 * state of devices we know (the next DEVICES exchange settles it); `alarm` when it names a device that
 * none of our lists ever held: someone with the identity key added a device the user never added.
 */
export async function judgeContactView(
  known: readonly DeviceList[],
  current: DeviceList,
  theirs: DeviceList,
): Promise<{ verdict: 'same' | 'behind' | 'ahead' | 'alarm'; unknown: string[] }> {
  // A device we removed was ours too: a contact still naming it is behind, not attacked.
  const ever = new Set([...known, current].flatMap((list) => [...list.devices, ...(list.removed ?? [])].map((device) => device.deviceId)));
  const unknown = theirs.devices.map((device) => device.deviceId).filter((id) => !ever.has(id));
  if (unknown.length > 0) return { verdict: 'alarm', unknown };
  if ((await deviceListHash(theirs)) === (await deviceListHash(current))) return { verdict: 'same', unknown };
  return { verdict: deviceEpochNewer(current.epoch, theirs.epoch) ? 'behind' : 'ahead', unknown };
}
