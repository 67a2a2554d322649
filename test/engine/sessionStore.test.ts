/**
 * Version-1 sessions at rest: sealed under the data key, durable across restarts, never used again once
 * a newer state was committed (a restored copy of the sessions file), gone with a restored identity.
 */
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { argon2id } from '../../shared/protocol/argon2id.js';
import { TEST_PASSPHRASE_LIMITS } from '../../shared/protocol/passphraseSeal.js';
import { SESSIONS_FILE_NAME, SessionStore } from '../../electron/core/state/sessionStore.js';
import { StateStore } from '../../electron/core/state/stateStore.js';
import { passphraseKeyWrap } from '../../electron/core/state/passphraseKeyWrap.js';
import { generateKeyPair } from '../../electron/core/v1/primitives.js';
import { type SessionState, initiate, seal } from '../../electron/core/v1/session.js';
import { RETIRED_KEEP_MS, activationPatch, activeSession, confirmReset, dropRetired, sendableSessions, sessionsStatus } from '../../electron/core/sessions/resets.js';
import { removeDir, tempDir } from './helpers/testEngine.js';
import { sealed, text } from '../v1/helpers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) removeDir(dir);
});

async function open(dataDir: string) {
  const stateStore = await StateStore.load(dataDir, passphraseKeyWrap(TEST_PASSPHRASE_LIMITS, argon2id), { writeDelayMs: 0 });
  await stateStore.unlock('secret');
  const sessions = await SessionStore.load(dataDir, stateStore);
  return { stateStore, sessions };
}

async function withIdentity() {
  const dataDir = tempDir('deaddrop-sessions-');
  dirs.push(dataDir);
  const { stateStore, sessions } = await open(dataDir);
  const ours = generateKeyPair();
  const identity = await stateStore.addIdentity(
    { id: 'id-1', alias: 'kim', publicKey: Buffer.from(ours.publicKey).toString('hex'), dropUrls: ['http://127.0.0.1:9/d/x'], dropBits: 12, createdAt: 1 },
    ours.privateKey,
  );
  const state = initiate({ ourIdentity: ours, theirIdentityPublic: generateKeyPair().publicKey }, 1000);
  return { dataDir, stateStore, sessions, identity, ours, state };
}

describe('session store', () => {
  it('keeps sessions across restarts, sealed: no key material of the state is in the file', async () => {
    const { dataDir, stateStore, sessions, state } = await withIdentity();
    await sessions.commit('id-1', [state]);
    await stateStore.flush();
    const file = readFileSync(join(dataDir, SESSIONS_FILE_NAME), 'utf8');
    expect(file).not.toContain(state.rk);
    expect(file).not.toContain(state.dhsPriv);
    expect(file).not.toContain(state.cks);
    const again = await open(dataDir);
    expect(again.sessions.sessions('id-1')).toEqual([state]);
    expect(again.sessions.sessionsWith('id-1', state.theirId)).toEqual([state]);
    expect(again.sessions.sessionsWith('id-1', 'someone else')).toEqual([]);
  });

  it('never uses a restored older copy of the sessions file (rollback), and an older state never replaces a newer one', async () => {
    const { dataDir, stateStore, sessions, state } = await withIdentity();
    await sessions.commit('id-1', [state]);
    const copy = join(dataDir, 'copy.json');
    copyFileSync(join(dataDir, SESSIONS_FILE_NAME), copy);
    const next: SessionState = sealed(seal(state, text('hi'), {}, 2000)).state;
    expect(next.counter).toBeGreaterThan(state.counter);
    await sessions.commit('id-1', [next]);
    await sessions.commit('id-1', [state]); // late, older: ignored
    expect(sessions.get('id-1', state.id)).toEqual(next);
    await stateStore.flush();
    copyFileSync(copy, join(dataDir, SESSIONS_FILE_NAME));
    const again = await open(dataDir);
    expect(again.sessions.sessions('id-1')).toEqual([]);
  });

  it('a restored identity starts without sessions, and removed sessions are gone', async () => {
    const { dataDir, stateStore, sessions, state, identity, ours } = await withIdentity();
    await sessions.commit('id-1', [state]);
    await sessions.commit('id-1', [], [state.id]);
    expect(sessions.sessions('id-1')).toEqual([]);
    await sessions.commit('id-1', [sealed(seal(state, text('hi'), {}, 2000)).state]);
    const copy = readFileSync(join(dataDir, SESSIONS_FILE_NAME), 'utf8');
    await stateStore.deleteIdentity('id-1');
    await stateStore.restoreIdentity(identity, ours.privateKey, {});
    await stateStore.flush();
    // Even the very file of its earlier life does not open for the restored identity.
    const again = await open(dataDir);
    expect(JSON.parse(copy)).toEqual(JSON.parse(readFileSync(join(dataDir, SESSIONS_FILE_NAME), 'utf8')));
    expect(again.sessions.sessions('id-1')).toEqual([]);
  });

  it('a damaged sessions file starts empty instead of stopping the engine', async () => {
    const { dataDir, stateStore } = await withIdentity();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dataDir, SESSIONS_FILE_NAME), '{not json');
    const sessions = await SessionStore.load(dataDir, stateStore);
    expect(sessions.sessions('id-1')).toEqual([]);
  });

  it('a session replaced by a reset is not written in, stays openable for 14 days, then is deleted; rejecting a pending one deletes it', async () => {
    const { sessions, ours, state: first } = await withIdentity();
    const peerHex = Buffer.from(first.theirId, 'base64url').toString('hex');
    const second = initiate({ ourIdentity: ours, theirIdentityPublic: Buffer.from(peerHex, 'hex') }, 1000);
    const third = initiate({ ourIdentity: ours, theirIdentityPublic: Buffer.from(peerHex, 'hex') }, 1000);
    await sessions.commit('id-1', [first, second, third]);
    const T = 1_000_000;
    await sessions.setPeer('id-1', peerHex, { pending: third.id, reset: { pending: true, at: T } });
    await sessions.setPeer('id-1', peerHex, activationPatch(sessions, 'id-1', peerHex, second.id, T));
    expect(activeSession(sessions, 'id-1', peerHex)?.id).toBe(second.id);
    expect(sendableSessions(sessions, 'id-1', peerHex).map((s) => s.id)).toEqual([second.id]);
    expect(sessionsStatus(sessions, 'id-1', true, T).contacts[peerHex]).toMatchObject({ protocol: 1, reset: { pending: true, at: T } });
    expect(await dropRetired(sessions, 'id-1', peerHex, T + RETIRED_KEEP_MS - 1)).toEqual([]);
    expect(sessions.get('id-1', first.id)).toBeDefined();
    expect(await dropRetired(sessions, 'id-1', peerHex, T + RETIRED_KEEP_MS)).toEqual([first.id]);
    expect(sessions.get('id-1', first.id)).toBeUndefined();
    expect(await confirmReset(sessions, 'id-1', peerHex, false, T)).toBe(true);
    expect(sessions.get('id-1', third.id)).toBeUndefined();
    expect(sessions.peer('id-1', peerHex).reset).toBeUndefined();
    expect(await confirmReset(sessions, 'id-1', peerHex, true, T)).toBe(false); // nothing pending any more
    expect(activeSession(sessions, 'id-1', peerHex)?.id).toBe(second.id);
  });

  it('a state computed before the identity was forgotten (a batch opened before a restore) is never committed after it', async () => {
    const { sessions, state } = await withIdentity();
    await sessions.commit('id-1', [state]);
    const before = sessions.generation('id-1');
    const later = sealed(seal(state, text('hi'), {}, 2000)).state;
    const queued = sessions.commit('id-1', [later], [], before); // queued, runs after the forget below
    const forgotten = sessions.forgetIdentity('id-1');
    await queued;
    await forgotten;
    expect(sessions.generation('id-1')).toBe(before + 1);
    expect(sessions.sessions('id-1')).toEqual([]);
    await sessions.commit('id-1', [later], [], before);
    await sessions.setPeer('id-1', 'ab'.repeat(32), { v1: true }, before);
    expect(sessions.sessions('id-1')).toEqual([]);
    expect(sessions.peers('id-1')).toEqual({});
  });
});
