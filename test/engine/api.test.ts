import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { STATE_FILE_NAME } from '../../electron/core/state/stateSchema.js';
import { parseContactString, parseContactStringV1, parseQco } from '../../shared/protocol/contacts.js';
import { type TestEngine, removeDir, startTestEngine } from './helpers/testEngine.js';

const SERVER = 'http://127.0.0.1:9/tools/drop';
const engines: TestEngine[] = [];
const DAY = 24 * 3600_000;

async function engine(dataDir?: string) {
  const started = await startTestEngine({ autoPoll: false, ...(dataDir ? { dataDir } : {}) });
  engines.push(started);
  return started;
}
afterEach(async () => {
  const dirs = new Set(engines.map((e) => e.dataDir));
  await Promise.all(engines.splice(0).map((e) => e.close()));
  for (const dir of dirs) removeDir(dir);
});

describe('API handler table', () => {
  it('creates identities on a service path, lists, announces and deletes them', async () => {
    const e = await engine();
    const created = await e.call('identities/create', { alias: 'Zoë', serverUrl: `${SERVER}/` });
    expect(created).toMatchObject({ alias: 'Zoë', dropBits: 256 });
    expect(created.dropUrls[0]).toMatch(/^http:\/\/127\.0\.0\.1:9\/tools\/drop\/[-_A-Za-z0-9]{43}$/);
    expect(e.of('identities/changed').at(-1)).toEqual([created]);
    expect(await e.call('identities/list', {})).toEqual([created]);
    await e.call('identities/delete', { identityId: created.id });
    expect(await e.call('identities/list', {})).toEqual([]);
    expect(e.of('identities/changed').at(-1)).toEqual([]);
    await expect(e.call('identities/delete', { identityId: created.id })).rejects.toThrow(/not_found/);
    await expect(e.call('identities/create', { alias: 'x', serverUrl: 'http://127.0.0.1:9/?q=1' })).rejects.toThrow(/bad_input/);
  });

  it('adds and removes drops of an identity, never its last one', async () => {
    const e = await engine();
    const me = await e.call('identities/create', { alias: 'ines', serverUrl: SERVER, dropBits: 16 });
    const more = await e.call('identities/addDrop', { identityId: me.id, serverUrl: 'http://[::1]:9' });
    expect(more.dropUrls).toHaveLength(2);
    expect(more.dropUrls[0]).toBe(me.dropUrls[0]);
    expect(more.dropUrls[1]).toMatch(/^http:\/\/\[::1\]:9\/[-_A-Za-z0-9]{43}$/);
    expect(e.of('identities/changed').at(-1)).toEqual([more]);
    const card = await e.call('identities/contactCard', { identityId: me.id });
    expect(parseContactString(card.contactString).dropUrls).toEqual(more.dropUrls);
    const fewer = await e.call('identities/removeDrop', { identityId: me.id, dropUrl: me.dropUrls[0]! });
    expect(fewer.dropUrls).toEqual([more.dropUrls[1]]);
    await expect(e.call('identities/removeDrop', { identityId: me.id, dropUrl: more.dropUrls[1]! })).rejects.toThrow(/bad_input/);
    await expect(e.call('identities/removeDrop', { identityId: me.id, dropUrl: me.dropUrls[0]! })).rejects.toThrow(/not_found/);
    await e.close();
    const again = await engine(e.dataDir);
    expect((await again.call('identities/list', {}))[0]?.dropUrls).toEqual(fewer.dropUrls);
  });

  it('gives a contact card that parses back to the identity', async () => {
    const e = await engine();
    const me = await e.call('identities/create', { alias: 'kai', serverUrl: SERVER, dropBits: 32 });
    const card = await e.call('identities/contactCard', { identityId: me.id });
    expect(parseContactString(card.contactString)).toMatchObject({ alias: 'kai', publicKey: me.publicKey, dropUrls: me.dropUrls });
    expect(parseQco(card.qco)[0]).toMatchObject({ alias: 'kai', publicKey: me.publicKey, dropUrls: me.dropUrls });
    expect(card.fileName).toBe('contact-kai.qco');
  });

  it('puts a QR prekey on the version-1 card, renews it before it expires and forgets its key 30 days after it was last shown', async () => {
    let now = Date.UTC(2026, 10, 1, 12);
    const started = await startTestEngine({ autoPoll: false, clock: { now: () => now } });
    engines.push(started);
    const me = await started.call('identities/create', { alias: 'lea', serverUrl: SERVER });
    const first = parseContactStringV1((await started.call('identities/contactCard', { identityId: me.id })).v1ContactString);
    expect(first).toMatchObject({ alias: 'lea', publicKey: me.publicKey, dropUrls: me.dropUrls });
    // Valid for 30 days, to the end of that day.
    expect(first.v1!.qrPrekeyExpiresDay).toBe(Math.floor(now / DAY) + 30);
    expect(parseQco((await started.call('identities/contactCard', { identityId: me.id })).qco)[0]!.v1).toEqual(first.v1);

    const shownPrekey = async () => parseContactStringV1((await started.call('identities/contactCard', { identityId: me.id })).v1ContactString).v1!.qrPrekey;
    // The prekeys the state file keeps. A card shown writes it after the write delay: polled (bounded),
    // not read once after a sleep that a loaded machine can outlast.
    const kept = () => {
      const state = JSON.parse(readFileSync(join(started.dataDir, STATE_FILE_NAME), 'utf8')) as { identities: { qrPrekeys: { publicKey: string }[] }[] };
      return state.identities[0]!.qrPrekeys.map((p) => p.publicKey);
    };
    const keptSoon = (expected: string[]) => expect.poll(kept, { timeout: 10_000, interval: 50 }).toEqual(expected);
    now += 22 * DAY; // more than 7 days left: the same prekey
    expect(parseContactStringV1((await started.call('identities/contactCard', { identityId: me.id })).v1ContactString).v1).toEqual(first.v1);
    now += 2 * DAY; // fewer than 7 days left: a new one; the old key stays for Inits from cards scanned late
    const second = parseContactStringV1((await started.call('identities/contactCard', { identityId: me.id })).v1ContactString).v1!;
    expect(second.qrPrekey).not.toBe(first.v1!.qrPrekey);
    expect(await shownPrekey()).toBe(second.qrPrekey);
    await keptSoon([first.v1!.qrPrekey, second.qrPrekey]);
    // Day 53: the first was last shown on day 22 and has expired, so its private key is gone; the second
    // (shown on day 24) stays while the card moves on to a third.
    now += 29 * DAY;
    const third = await shownPrekey();
    await keptSoon([second.qrPrekey, third]);
  });

  it('keeps engine settings across restarts and validates them', async () => {
    const e = await engine();
    expect(await e.call('settings/get', {})).toEqual({ pollIntervalMs: 30_000, push: true, proxy: { kind: 'none' }, allowLocalNetwork: false, autoLockMinutes: 0, sendReceipts: true });
    await e.call('settings/set', { allowLocalNetwork: true });
    const saved = await e.call('settings/set', { pollIntervalMs: 5000, proxy: { kind: 'socks5', url: 'socks5://127.0.0.1:9050' } });
    expect(saved).toEqual({ pollIntervalMs: 5000, push: true, proxy: { kind: 'socks5', url: 'socks5://127.0.0.1:9050' }, allowLocalNetwork: true, autoLockMinutes: 0, sendReceipts: true });
    await expect(e.call('settings/set', { pollIntervalMs: 10 })).rejects.toThrow(/invalid_request/);
    await e.close();
    const again = await engine(e.dataDir);
    expect(await again.call('settings/get', {})).toEqual(saved);
  });

  it('reads a state file from before the local-network setting as "not allowed"', async () => {
    const e = await engine();
    await e.call('settings/set', { allowLocalNetwork: true });
    await e.close();
    const file = join(e.dataDir, STATE_FILE_NAME);
    const state = JSON.parse(readFileSync(file, 'utf8')) as { settings: Record<string, unknown> };
    delete state.settings['allowLocalNetwork'];
    writeFileSync(file, JSON.stringify(state));
    const again = await engine(e.dataDir);
    expect((await again.call('settings/get', {})).allowLocalNetwork).toBe(false);
  });

  it('pauses and resumes the poller, and answers app/info', async () => {
    const e = await engine();
    expect(await e.call('poller/setPaused', { paused: true })).toEqual({ paused: true });
    expect(await e.call('app/info', {})).toEqual({
      version: '0.1.0',
      host: 'direct',
      paused: true,
      locked: false,
      keyProtection: 'host',
      capabilities: { localServer: false, notifications: false, cameraGate: false, desktopSettings: false, externalLinks: false, debugLog: false, fileDialogs: false },
    });
    expect(await e.call('poller/setPaused', { paused: false })).toEqual({ paused: false });
    expect(await e.call('inbox/ack', { batchId: 'unknown-batch' })).toBeNull();
    expect(await e.call('messages/cancel', { localId: 'never-sent' })).toEqual({ cancelled: false });
  });
});
