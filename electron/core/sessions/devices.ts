/**
 * Per-device sessions (PROTOCOL-V1.md 5c, issue 17): which devices of a peer our messages are sealed
 * to, and which of the peer's sessions is the one with a given device.
 *
 * Each device of ours keeps its own sessions (they are never shared between siblings), one per device
 * of the peer. A session records the peer's device (`SessionState.theirDevice`): the device our Init
 * addressed, keyed with that device's prekey from the peer's device list as the QPK (only that device
 * opens it), or the `device_id` the peer's Init carried.
 *
 * Per-device mode with a peer: their client said it keeps sessions per device (`PeerInfo.perDevice`,
 * `dd.pd`) and either side is on several devices. Outside it nothing changes: one session with the
 * peer, as before device lists. Without the capability and with several devices on either side, the
 * interim stays (version 0, electron/core/v1/README.md "Several devices").
 */
import { type DeviceList, decodeDeviceList } from '../../../shared/protocol/deviceList.js';
import type { SessionStore } from '../state/sessionStore.js';
import { unb64 } from '../v1/primitives.js';
import { type SessionState, chooseActive } from '../v1/session.js';

/** A device of the peer we seal to (null device: the peer as one device without a list). */
export interface DeviceTarget {
  /** 16 hex; null: no device list known (one device). */
  deviceId: string | null;
  /** Its device prekey (32 bytes): the QPK of our Init to it. */
  prekey: Uint8Array | null;
  /** Only this session (a PING owed in it), never a new one. */
  sessionId?: string | undefined;
}

const b64Of = (hex: string): string => Buffer.from(hex, 'hex').toString('base64url');

/** The peer's device list as we know it (the newest of `PeerInfo.devlists`), or null. */
export function peerDeviceList(sessions: SessionStore, identityId: string, peerHex: string): Required<DeviceList> | null {
  const lists = sessions.peer(identityId, peerHex).devlists ?? [];
  const newest = lists[lists.length - 1];
  if (!newest) return null;
  try {
    return decodeDeviceList(unb64(newest));
  } catch {
    return null; // stored by us after checking; unreadable only if damaged: as if none
  }
}

/** Whether our identity is on several devices (this device's view of its list). */
export function ownSeveral(sessions: SessionStore, identityId: string): boolean {
  return sessions.severalDevices(identityId) || (sessions.ownDevice(identityId)?.list.devices.length ?? 1) > 1;
}

/** Per-device mode with the peer (see the top). */
export function perDeviceWith(sessions: SessionStore, identityId: string, peerHex: string): boolean {
  const peer = sessions.peer(identityId, peerHex);
  if (peer.perDevice !== true) return false;
  const theirs = peer.multiDevice === true || (peerDeviceList(sessions, identityId, peerHex)?.devices.length ?? 1) > 1;
  return theirs || ownSeveral(sessions, identityId);
}

/**
 * The peer's devices a message goes to in per-device mode: every device of their list, or the peer as
 * one device when no list is known. Removed devices (tombstones) are not in the list: nothing more is
 * sealed to them.
 */
export function deviceTargets(sessions: SessionStore, identityId: string, peerHex: string): DeviceTarget[] {
  const list = peerDeviceList(sessions, identityId, peerHex);
  if (!list || list.devices.length === 0) return [{ deviceId: null, prekey: null }];
  const targets: DeviceTarget[] = list.devices.map((device) => ({ deviceId: device.deviceId, prekey: new Uint8Array(Buffer.from(device.prekey, 'hex')) }));
  // A device we hold a session with stays a target until a tombstone removes it, whatever a list leaves
  // out: a list sealed with a stolen key naming only the thief's device must not cut the honest devices
  // off (they would never read what we write, and never see the echo that raises their alarm).
  const listed = new Set(list.devices.map((device) => device.deviceId));
  const named = new Set(listed);
  const removed = new Set(list.removed.map((tombstone) => tombstone.deviceId));
  const retired = sessions.peer(identityId, peerHex).retired ?? {};
  const states = sessions.sessionsWith(identityId, b64Of(peerHex)).filter((state) => !(state.id in retired));
  for (const state of states) {
    const device = state.theirDevice;
    if (device === undefined || named.has(device) || removed.has(device)) continue;
    named.add(device);
    targets.push({ deviceId: device, prekey: null });
  }
  // A session naming no device (one we began before their list named devices): while no device of the
  // list has answered us in a session of its own, the device behind that session may be one the list
  // leaves out, so it is written to there too (an honest device of theirs shows a copy once).
  const answeredByListed = states.some((state) => state.confirmed && state.theirDevice !== undefined && listed.has(state.theirDevice));
  const unnamed = answeredByListed ? undefined : activeAmong(states.filter((state) => state.theirDevice === undefined && state.confirmed), sessions.peer(identityId, peerHex).active);
  if (unnamed) targets.push({ deviceId: null, prekey: null, sessionId: unnamed.id });
  return targets;
}

/**
 * Whether per-device mode can reach every device of the peer now: only with their list. Without it we
 * do not know how many devices they have (a device of theirs that joined after our messages told them
 * nothing yet), and an Init keyed with their identity key alone would open on every device of theirs,
 * each answering in its own ratchet: version 0 reaches them all instead, and its missing echo makes
 * them send their list (devices/deviceNews.ts).
 */
export function devicesKnown(sessions: SessionStore, identityId: string, peerHex: string): boolean {
  return (peerDeviceList(sessions, identityId, peerHex)?.devices.length ?? 0) > 0;
}

/** The sessions with a peer's device (any of theirs for `null`). */
export function sessionsWithDevice(states: readonly SessionState[], deviceId: string | null): SessionState[] {
  return deviceId === null ? [...states] : states.filter((state) => state.theirDevice === deviceId);
}

/** The peer's devices their list removed (tombstones): sessions with them are retired. */
export function removedDevices(sessions: SessionStore, identityId: string, peerHex: string): Set<string> {
  return new Set((peerDeviceList(sessions, identityId, peerHex)?.removed ?? []).map((tombstone) => tombstone.deviceId));
}

/** Our sessions with the peer's removed devices that are not retired yet. */
export function sessionsOfRemovedDevices(sessions: SessionStore, identityId: string, peerHex: string): SessionState[] {
  const removed = removedDevices(sessions, identityId, peerHex);
  if (removed.size === 0) return [];
  const retired = sessions.peer(identityId, peerHex).retired ?? {};
  return sessions.sessionsWith(identityId, b64Of(peerHex)).filter((state) => state.theirDevice !== undefined && removed.has(state.theirDevice) && !(state.id in retired));
}

/** `chooseActive` among one device's sessions, the engine's choice (`PeerInfo.active`) first. */
export function activeAmong(states: readonly SessionState[], chosen: string | undefined): SessionState | undefined {
  return states.find((state) => state.id === chosen) ?? chooseActive(states);
}

/** This device's id as the 8 bytes Init PDUs carry, or undefined (no list here). */
export function ownDeviceBytes(sessions: SessionStore, identityId: string): Uint8Array | undefined {
  const own = sessions.ownDevice(identityId);
  return own ? new Uint8Array(Buffer.from(own.selfId, 'hex')) : undefined;
}
