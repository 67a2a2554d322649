/**
 * The device list of an identity (PROTOCOL-V1.md 5c, message type `DEVICES` 0x07): which devices hold
 * the identity key, as its devices and (later) its contacts know it. Body layout: `devlist_epoch` u16 ·
 * count u8 (1..8) · per device, sorted by id: `device_id` 8 · device prekey 32 · `added_day` u16 ·
 * name_len u8 · name ≤ 32 bytes of UTF-8: at most 603 bytes. Its 4-byte hash is what every v1 header
 * echoes (`peer_devlist_hash`), so a device can tell that a contact encrypts to a list it never made.
 *
 * The merge rule: a higher epoch wins whole (a device was removed or renamed there); the same epoch with
 * other devices is a concurrent addition on two devices: the union, with the epoch kept, which every
 * device computes alike (`mergeDeviceLists` is commutative, associative and idempotent).
 */
import { bytesEqual, sha256Hex, toHex, utf8Decode, utf8Encode } from './encoding.js';
import { ProtocolError } from './errors.js';
import { DEVICE_ID_LENGTH, MAX_DEVICE_NAME_BYTES, cleanDeviceName } from './deviceLink.js';

export const MAX_DEVICES = 8;
export const DEVICE_PREKEY_LENGTH = 32;
export const DEVLIST_HASH_LENGTH = 4;
const RECORD_FIXED = DEVICE_ID_LENGTH + DEVICE_PREKEY_LENGTH + 2 + 1;
/** The largest encoded list: 3 + 8 × 75 bytes. */
export const MAX_DEVICE_LIST_BYTES = 3 + MAX_DEVICES * (RECORD_FIXED + MAX_DEVICE_NAME_BYTES);

export interface DeviceRecord {
  /** 8 random bytes, 16 lowercase hex. */
  deviceId: string;
  /** The device's X25519 prekey for per-device sessions, 64 lowercase hex (all zero: none yet). */
  prekey: string;
  /** Days since 1970-01-01 (UTC) when it was added. */
  addedDay: number;
  name: string;
}

export interface DeviceList {
  epoch: number;
  /** Sorted by deviceId, ids unique. */
  devices: DeviceRecord[];
}

function invalid(message: string): ProtocolError {
  return new ProtocolError('invalid_message', message);
}

const HEX16 = /^[0-9a-f]{16}$/;
const HEX64 = /^[0-9a-f]{64}$/;

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** The list in its one canonical order, checked. @throws ProtocolError */
export function normalizeDeviceList(list: DeviceList): DeviceList {
  if (!Number.isInteger(list.epoch) || list.epoch < 0 || list.epoch > 0xffff) throw invalid('A device list epoch is out of range.');
  if (list.devices.length === 0 || list.devices.length > MAX_DEVICES) throw invalid(`A device list holds 1 to ${MAX_DEVICES} devices.`);
  const devices = [...list.devices].map((device) => {
    if (!HEX16.test(device.deviceId) || !HEX64.test(device.prekey)) throw invalid('A device id or prekey is malformed.');
    if (!Number.isInteger(device.addedDay) || device.addedDay < 0 || device.addedDay > 0xffff) throw invalid('A device was added on an impossible day.');
    return { ...device, name: cleanDeviceName(device.name) };
  });
  devices.sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
  for (let i = 1; i < devices.length; i++) if (devices[i]!.deviceId === devices[i - 1]!.deviceId) throw invalid('A device list names a device twice.');
  return { epoch: list.epoch, devices };
}

/** The `DEVICES` body. @throws ProtocolError for a list no device may send */
export function encodeDeviceList(list: DeviceList): Uint8Array<ArrayBuffer> {
  const { epoch, devices } = normalizeDeviceList(list);
  const names = devices.map((device) => utf8Encode(device.name));
  const out = new Uint8Array(3 + devices.reduce((sum, _, i) => sum + RECORD_FIXED + names[i]!.length, 0));
  const view = new DataView(out.buffer);
  view.setUint16(0, epoch);
  out[2] = devices.length;
  let at = 3;
  devices.forEach((device, i) => {
    out.set(hexBytes(device.deviceId), at);
    out.set(hexBytes(device.prekey), at + DEVICE_ID_LENGTH);
    view.setUint16(at + DEVICE_ID_LENGTH + DEVICE_PREKEY_LENGTH, device.addedDay);
    out[at + RECORD_FIXED - 1] = names[i]!.length;
    out.set(names[i]!, at + RECORD_FIXED);
    at += RECORD_FIXED + names[i]!.length;
  });
  return out;
}

/** Reads a `DEVICES` body (hostile input). @throws ProtocolError */
export function decodeDeviceList(bytes: Uint8Array): DeviceList {
  if (bytes.length < 3 || bytes.length > MAX_DEVICE_LIST_BYTES) throw invalid('A device list has an impossible length.');
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
      name: utf8Decode(bytes.subarray(at + RECORD_FIXED, at + RECORD_FIXED + nameLength)),
    });
    at += RECORD_FIXED + nameLength;
  }
  if (at !== bytes.length) throw invalid('A device list carries bytes after its end.');
  const list = normalizeDeviceList({ epoch, devices });
  // Only the canonical form is accepted, so a list has one hash.
  if (!bytesEqual(encodeDeviceList(list), bytes)) throw invalid('A device list is not in its canonical form.');
  return list;
}

/** The 4-byte hash a v1 header echoes (`peer_devlist_hash`), as 8 hex. */
export async function deviceListHash(list: DeviceList): Promise<string> {
  const body = encodeDeviceList(list);
  const input = new Uint8Array(10 + body.length);
  input.set(utf8Encode('DD devlist'), 0);
  input.set(body, 10);
  return (await sha256Hex(input)).slice(0, 2 * DEVLIST_HASH_LENGTH);
}

/**
 * Merges two views of one identity's list: the higher epoch wins; the same epoch is the union (for a
 * device both name differently, the record whose encoding sorts last), capped at MAX_DEVICES by the
 * earliest added. Every device that saw the same lists computes the same result, in any order.
 */
export function mergeDeviceLists(a: DeviceList, b: DeviceList): DeviceList {
  if (a.epoch !== b.epoch) return normalizeDeviceList(a.epoch > b.epoch ? a : b);
  const byId = new Map<string, DeviceRecord>();
  for (const device of [...a.devices, ...b.devices]) {
    const known = byId.get(device.deviceId);
    if (!known || recordKey(device) > recordKey(known)) byId.set(device.deviceId, device);
  }
  const devices = [...byId.values()].sort((x, y) => x.addedDay - y.addedDay || (x.deviceId < y.deviceId ? -1 : 1)).slice(0, MAX_DEVICES);
  return normalizeDeviceList({ epoch: a.epoch, devices });
}

function recordKey(device: DeviceRecord): string {
  return `${device.prekey} ${String(device.addedDay).padStart(5, '0')} ${device.name}`;
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
  const ever = new Set(known.flatMap((list) => list.devices.map((device) => device.deviceId)));
  for (const device of current.devices) ever.add(device.deviceId);
  const unknown = theirs.devices.map((device) => device.deviceId).filter((id) => !ever.has(id));
  if (unknown.length > 0) return { verdict: 'alarm', unknown };
  if ((await deviceListHash(theirs)) === (await deviceListHash(current))) return { verdict: 'same', unknown };
  return { verdict: theirs.epoch < current.epoch ? 'behind' : 'ahead', unknown };
}
