/**
 * Which of a peer's sessions we write in, and session resets (PROTOCOL-V1.md 1c "RESET", "Simultaneous
 * Init", "Rollback detection"), over what the session store keeps per peer (`PeerInfo`).
 *
 * A peer has at most one session we write in (the *active* one). Others are kept only to open late
 * copies: the loser of a simultaneous Init, a session replaced by a reset (retired for 14 days), and a
 * session started by the peer's Init with the reset flag while we still had a working session: that
 * Init proves only the peer's identity key (a restored backup of theirs, a new install, or a thief of
 * that key), so the new session is *pending* until the user answers `sessions/confirmReset`. Its
 * messages are shown flagged (`IncomingMessage.unconfirmedSession`) meanwhile, never held back: a
 * rejected reset then loses nothing the user could not already see, and an accepted one needs no
 * re-delivery.
 */
import type { SessionsStatus } from '../../../shared/ipc/contract.js';
import type { PeerInfo, SessionStore } from '../state/sessionStore.js';
import { type SessionState, chooseActive } from '../v1/session.js';
import { peerDeviceList } from './devices.js';

/** A retired session stays openable this long (max server TTL + 7 days, as skipped keys). */
export const RETIRED_KEEP_MS = 14 * 24 * 3600_000;
/** At most one reset per contact per hour in each direction: two engines never loop. */
export const RESET_INTERVAL_MS = 3600_000;
/** How long `SessionsStatus` names a past reset (a line in the conversation). */
const RESET_SHOWN_MS = 14 * 24 * 3600_000;

const hexOf = (b64: string): string => Buffer.from(b64, 'base64url').toString('hex');
const b64Of = (hex: string): string => Buffer.from(hex, 'hex').toString('base64url');

/**
 * The peer holds this session: they started it (we are the responder), or they answered in it (we
 * started it and a Session PDU of theirs arrived: confirmed). A new Init from such a peer means they
 * lost it (or someone else holds their identity key); an unanswered Init of ours crossing theirs is a
 * simultaneous Init.
 */
export const peerAnswered = (state: SessionState): boolean => state.role === 'responder' || state.confirmed;

/** The sessions we may write in with a peer: neither pending nor retired. */
export function sendableSessions(sessions: SessionStore, identityId: string, peerHex: string): SessionState[] {
  const peer = sessions.peer(identityId, peerHex);
  return sessions.sessionsWith(identityId, b64Of(peerHex)).filter((state) => state.id !== peer.pending && !(state.id in (peer.retired ?? {})));
}

/**
 * The session our next message to a peer goes in, if any. A peer whose list has removed a device and
 * that answered us in a session naming a device still listed is written to there: a session naming no
 * device (begun before their list named devices) may be with the removed one, which alone could open it.
 */
export function activeSession(sessions: SessionStore, identityId: string, peerHex: string): SessionState | undefined {
  const usable = sendableSessions(sessions, identityId, peerHex);
  const chosen = sessions.peer(identityId, peerHex).active;
  const list = peerDeviceList(sessions, identityId, peerHex);
  if (list && list.removed.length > 0) {
    const listed = new Set(list.devices.map((device) => device.deviceId));
    const named = usable.filter((state) => state.theirDevice !== undefined && listed.has(state.theirDevice) && peerAnswered(state));
    if (named.length > 0) return named.find((state) => state.id === chosen) ?? chooseActive(named);
  }
  return usable.find((state) => state.id === chosen) ?? chooseActive(usable);
}

/** `sessions/status` of an identity. */
export function sessionsStatus(sessions: SessionStore, identityId: string, sending: boolean, now: number): SessionsStatus {
  const contacts: SessionsStatus['contacts'] = {};
  const peers = sessions.peers(identityId);
  for (const [key, peer] of Object.entries(peers)) {
    if (peer.v1 || peer.since !== undefined) contacts[key] = { protocol: 0, since: null };
  }
  for (const state of sessions.sessions(identityId)) {
    const key = hexOf(state.theirId);
    contacts[key] = { protocol: 1, since: peers[key]?.since ?? null };
  }
  // Several devices with a peer whose client keeps no per-device sessions (the interim): version 0
  // whatever sessions exist. With one that does (`perDevice`), sessions go on.
  const own = sessions.severalDevices(identityId);
  for (const [key, peer] of Object.entries(peers)) {
    if (!(key in contacts) || !(own || peer.multiDevice) || peer.perDevice) continue;
    contacts[key] = { protocol: 0, since: null, reason: own ? 'ownDevices' : 'peerDevices' };
  }
  for (const [key, peer] of Object.entries(peers)) {
    const reset = peer.reset;
    if (!reset || (!reset.pending && now - reset.at > RESET_SHOWN_MS)) continue;
    contacts[key] = { ...(contacts[key] ?? { protocol: 1, since: peer.since ?? null }), reset: { pending: reset.pending, at: reset.at } };
  }
  return { sending, contacts };
}

/** The patch that makes `sessionId` the one we write in with a peer, retiring the others. */
export function activationPatch(sessions: SessionStore, identityId: string, peerHex: string, sessionId: string, now: number, theirDevice?: string): PeerInfo {
  const peer = sessions.peer(identityId, peerHex);
  const retired: Record<string, number> = {};
  for (const [id, until] of Object.entries(peer.retired ?? {})) if (until > now) retired[id] = until;
  const all = sessions.sessionsWith(identityId, b64Of(peerHex));
  // Only the sessions with the same device of the peer (per-device sessions, sessions/devices.ts): the
  // other devices' sessions go on. `sessions.get` misses a session not committed yet (a claim's): its
  // device is looked up in the claim's caller, which passes it.
  const device = all.find((state) => state.id === sessionId)?.theirDevice ?? theirDevice;
  for (const state of all) {
    if (state.theirDevice !== device) continue;
    // A pending session stays pending (the user's answer decides it), the others retire.
    if (state.id !== sessionId && state.id !== peer.pending && !(state.id in retired)) retired[state.id] = now + RETIRED_KEEP_MS;
  }
  return { active: sessionId, retired, pending: peer.pending === sessionId ? undefined : peer.pending };
}

/**
 * The user's answer to a pending reset. Two things wait for it, alone or together: a session the peer
 * started (`pending`), and a reset of ours the peer's version-0 message asked for (`needsReset`: they
 * wrote v0 while holding a session with us, which their client does only after losing it, and which
 * anyone holding their identity key can also do). Accept: their session becomes the one we write in
 * (the old ones stay openable for 14 days), or, without one, our next message starts a new session.
 * Reject: their session is deleted and no reset of ours follows. Returns whether anything was pending.
 */
export async function confirmReset(sessions: SessionStore, identityId: string, peerHex: string, accept: boolean, now: number): Promise<boolean> {
  const peer = sessions.peer(identityId, peerHex);
  const pendingId = peer.pending;
  if (!peer.reset?.pending) return false;
  const exists = pendingId !== undefined && sessions.get(identityId, pendingId) !== undefined;
  if (accept && exists) {
    await sessions.setPeer(identityId, peerHex, { ...activationPatch(sessions, identityId, peerHex, pendingId, now), needsReset: undefined, reset: { pending: false, at: now } });
    return true;
  }
  if (accept && peer.needsReset) {
    await sessions.setPeer(identityId, peerHex, { pending: undefined, reset: { pending: false, at: now } });
    return true;
  }
  if (exists) await sessions.commit(identityId, [], [pendingId]);
  await sessions.setPeer(identityId, peerHex, { pending: undefined, needsReset: undefined, reset: undefined });
  return true;
}

/** Deletes a peer's sessions whose retirement ended (checked whenever we write to them); returns their ids. */
export async function dropRetired(sessions: SessionStore, identityId: string, peerHex: string, now: number): Promise<string[]> {
  const retired = sessions.peer(identityId, peerHex).retired ?? {};
  const over = Object.entries(retired).filter(([, until]) => until <= now).map(([id]) => id);
  if (over.length === 0) return [];
  const left = Object.fromEntries(Object.entries(retired).filter(([, until]) => until > now));
  await sessions.commit(identityId, [], over);
  await sessions.setPeer(identityId, peerHex, { retired: left });
  return over;
}
