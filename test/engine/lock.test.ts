import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dispatch } from '../../shared/ipc/dispatch.js';
import { STATE_FILE_NAME } from '../../electron/core/state/stateSchema.js';
import { type SpawnedDropServer, spawnDropServer } from '../../server/index.js';
import { repoRoot } from './helpers/serverProcess.js';
import { type TestEngine, removeDir, startTestEngine } from './helpers/testEngine.js';
import { waitFor } from './helpers/waitFor.js';

const PASSPHRASE = 'first passphrase 1';
const NEW_PASSPHRASE = 'second passphrase 2';

const METRICS_TOKEN = 'metrics-token-for-this-test';
let server: SpawnedDropServer;
const engines: TestEngine[] = [];
/** An engine that starts locked, as the desktop app without a keyring and the browser host do. */
async function lockedEngine(dataDir?: string): Promise<TestEngine> {
  const engine = await startTestEngine({ secret: null, ...(dataDir ? { dataDir } : {}) });
  engines.push(engine);
  return engine;
}
const answer = (engine: TestEngine, ...[channel, request]: Parameters<TestEngine['call']>) => dispatch(engine.engine.handlers, channel, request);

beforeAll(async () => {
  server = await spawnDropServer({
    command: process.execPath,
    args: ['--import', 'tsx', 'server/cli.ts', '--port', '0', '--db', 'sqlite::memory:', '--log-level', 'error', '--metrics-token', METRICS_TOKEN],
    cwd: repoRoot,
    startTimeoutMs: 20_000,
  });
});

/** The server's count of open push connections: each polling engine holds one per drop. */
async function pushConnections(): Promise<number> {
  const response = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  const line = (await response.text()).split('\n').find((l) => l.startsWith('deaddrop_websocket_connections '));
  return Number(line?.split(' ')[1]);
}
afterAll(async () => {
  for (const engine of engines) {
    await engine.close();
    removeDir(engine.dataDir);
  }
  await server?.stop();
});

describe('choosing the first passphrase', () => {
  it('a fresh profile says it has none yet, refuses a short one, and has one after the first unlock', async () => {
    const engine = await lockedEngine();
    expect(await engine.call('app/info', {})).toMatchObject({ locked: true, keyProtection: 'new' });
    expect(await answer(engine, 'app/unlock', { passphrase: 'abc' })).toEqual({
      ok: false,
      error: { code: 'bad_input', message: 'Choose a passphrase of at least 8 characters.' },
    });
    expect(await engine.call('app/info', {})).toMatchObject({ locked: true, keyProtection: 'new' });
    expect(await engine.call('app/unlock', { passphrase: PASSPHRASE })).toMatchObject({ locked: false, keyProtection: 'passphrase' });
    await engine.close();

    const again = await lockedEngine(engine.dataDir);
    expect(await again.call('app/info', {})).toMatchObject({ locked: true, keyProtection: 'passphrase' });
    expect(await answer(again, 'app/unlock', { passphrase: 'first passphrase' })).toMatchObject({ ok: false, error: { code: 'bad_passphrase' } });
    expect(await again.call('app/unlock', { passphrase: PASSPHRASE })).toMatchObject({ locked: false });
  });

  it('a profile whose secret comes from the host (the OS keyring) has nothing to lock or change', async () => {
    const engine = await startTestEngine({ autoPoll: false });
    engines.push(engine);
    expect(await engine.call('app/info', {})).toMatchObject({ locked: false, keyProtection: 'host' });
    expect(await answer(engine, 'app/lock', {})).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    expect(await answer(engine, 'app/changePassphrase', { oldPassphrase: 'test secret', newPassphrase: NEW_PASSPHRASE })).toMatchObject({
      ok: false,
      error: { code: 'unavailable' },
    });
    expect(await engine.call('app/info', {})).toMatchObject({ locked: false });
  });
});

describe('Lock now', () => {
  it('forgets the keys, stops polling and sending until unlocked, and then delivers what arrived meanwhile', async () => {
    const bob = await lockedEngine();
    await bob.call('app/unlock', { passphrase: PASSPHRASE });
    const bobId = await bob.call('identities/create', { alias: 'bob', serverUrl: server.url });
    const { key } = await bob.call('app/databaseKey', {});
    const alice = await startTestEngine();
    engines.push(alice);
    const aliceId = await alice.call('identities/create', { alias: 'alice', serverUrl: server.url });
    await waitFor(async () => (await pushConnections()) === 2, 'both engines listening for pushes');

    expect(await bob.call('app/lock', {})).toMatchObject({ locked: true, keyProtection: 'passphrase' });
    // Bob's push connection closed with the lock: his engine no longer watches the drop.
    await waitFor(async () => (await pushConnections()) === 1, 'bob stopped listening');
    expect(bob.of('app/locked')).toEqual([expect.objectContaining({ locked: true })]);
    for (const [channel, request] of [
      ['identities/list', {}],
      ['app/databaseKey', {}],
      ['settings/get', {}],
      ['messages/send', { identityId: bobId.id, localId: 'b-1', recipient: { publicKey: aliceId.publicKey, dropUrls: aliceId.dropUrls }, text: 'hi' }],
    ] as const) {
      expect(await answer(bob, channel, request), channel).toMatchObject({ ok: false, error: { code: 'locked' } });
    }
    // Locking again is harmless.
    expect(await bob.call('app/lock', {})).toMatchObject({ locked: true });

    await alice.call('messages/send', { identityId: aliceId.id, localId: 'a-1', recipient: { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls }, text: 'while locked' });
    await waitFor(() => alice.of('outbox/status').find((s) => s.localId === 'a-1' && s.status === 'posted'), 'alice posted');
    // A push hint or a poll would deliver within a second or two; a locked engine does neither.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(bob.of('inbox/batch')).toEqual([]);
    expect(await pushConnections()).toBe(1);

    expect(await answer(bob, 'app/unlock', { passphrase: 'not the passphrase' })).toMatchObject({ ok: false, error: { code: 'bad_passphrase' } });
    await bob.call('app/unlock', { passphrase: PASSPHRASE });
    expect(await bob.call('identities/list', {})).toEqual([bobId]);
    expect(await bob.call('app/databaseKey', {})).toEqual({ key });
    const delivered = await waitFor(() => bob.of('inbox/batch').flatMap((batch) => batch.messages).find((m) => m.text === 'while locked'), 'bob receives after unlock');
    expect(delivered.senderKey).toBe(aliceId.publicKey);
    // Sending works again too.
    await bob.call('messages/send', { identityId: bobId.id, localId: 'b-2', recipient: { publicKey: aliceId.publicKey, dropUrls: aliceId.dropUrls }, text: 'back' });
    await waitFor(() => bob.of('outbox/status').find((s) => s.localId === 'b-2' && s.status === 'posted'), 'bob posted after unlock');
  });
});

describe('Change passphrase', () => {
  it('needs the old passphrase and a long enough new one; afterwards only the new one unlocks, now and after a restart', async () => {
    const engine = await lockedEngine();
    await engine.call('app/unlock', { passphrase: PASSPHRASE });
    const identity = await engine.call('identities/create', { alias: 'kim', serverUrl: server.url });
    await engine.call('settings/set', { autoLockMinutes: 15 });
    const before = readFileSync(join(engine.dataDir, STATE_FILE_NAME), 'utf8');

    expect(await answer(engine, 'app/changePassphrase', { oldPassphrase: 'wrong old one', newPassphrase: NEW_PASSPHRASE })).toMatchObject({
      ok: false,
      error: { code: 'bad_passphrase', message: expect.stringMatching(/^Wrong passphrase/) },
    });
    expect(await answer(engine, 'app/changePassphrase', { oldPassphrase: PASSPHRASE, newPassphrase: 'short' })).toMatchObject({
      ok: false,
      error: { code: 'invalid_request', message: expect.stringContaining('at least 8 characters') },
    });
    expect(readFileSync(join(engine.dataDir, STATE_FILE_NAME), 'utf8')).toBe(before);

    expect(await engine.call('app/changePassphrase', { oldPassphrase: PASSPHRASE, newPassphrase: NEW_PASSPHRASE })).toBeNull();
    await engine.call('app/lock', {});
    expect(await answer(engine, 'app/unlock', { passphrase: PASSPHRASE })).toMatchObject({ ok: false, error: { code: 'bad_passphrase' } });
    await engine.call('app/unlock', { passphrase: NEW_PASSPHRASE });
    expect(await engine.call('identities/list', {})).toEqual([identity]);
    await engine.close();

    const restarted = await lockedEngine(engine.dataDir);
    expect(await answer(restarted, 'app/unlock', { passphrase: PASSPHRASE })).toMatchObject({ ok: false, error: { code: 'bad_passphrase' } });
    await restarted.call('app/unlock', { passphrase: NEW_PASSPHRASE });
    expect(await restarted.call('identities/list', {})).toEqual([identity]);
    expect(await restarted.call('settings/get', {})).toMatchObject({ autoLockMinutes: 15 });
  });

  it('reads a state file from before auto-lock existed as "never"', async () => {
    const engine = await lockedEngine();
    await engine.call('app/unlock', { passphrase: PASSPHRASE });
    await engine.close();
    const file = join(engine.dataDir, STATE_FILE_NAME);
    const state = JSON.parse(readFileSync(file, 'utf8')) as { settings: Record<string, unknown> };
    delete state.settings['autoLockMinutes'];
    writeFileSync(file, JSON.stringify(state));
    const again = await lockedEngine(engine.dataDir);
    await again.call('app/unlock', { passphrase: PASSPHRASE });
    expect(await again.call('settings/get', {})).toMatchObject({ autoLockMinutes: 0 });
  });
});
