/**
 * k-of-n posting and re-posting (PROTOCOL-V1.md 2c, 1c "ARQ") with real engines and real drop servers
 * over HTTP on 127.0.0.1: copies on distinct servers with different bytes, one message shown, failover
 * with "1 of 2 · 2 of 2", health ranking, re-posting across server TTLs until a late recipient
 * acknowledges, cancel and the bounds on what the state file keeps. Alice's clock is injected and
 * moved days ahead; the servers' TTL is seconds, so a copy not re-posted is really gone.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent } from 'undici';
import type { EventMap, IdentitySummary } from '../../shared/ipc/contract.js';
import { DropClient } from '../../electron/core/net/dropClient.js';
import { STATE_FILE_NAME } from '../../electron/core/state/stateSchema.js';
import { type SpawnedDropServer, spawnDropServer } from '../../server/index.js';
import { repoRoot } from './helpers/serverProcess.js';
import { receiveAndAck } from './helpers/receive.js';
import { type TestEngine, removeDir, startTestEngine } from './helpers/testEngine.js';
import { waitFor } from './helpers/waitFor.js';

const DAY_MS = 24 * 3600_000;
const dispatcher = new Agent();
const raw = new DropClient({ dispatcher, timeoutMs: 5000 });
afterAll(() => dispatcher.close());

interface Server {
  url: string;
  port: number;
  stop(): Promise<void>;
  restart(): Promise<void>;
}

/** A drop server process (in-memory store: a restart loses every message, like a server that forgets). */
async function startServer(ttlSeconds?: number): Promise<Server> {
  const launch = (port: number) =>
    spawnDropServer({
      command: process.execPath,
      args: ['--import', 'tsx', 'server/cli.ts', '--port', String(port), '--db', 'sqlite::memory:', '--log-level', 'error', ...(ttlSeconds ? ['--ttl', String(ttlSeconds)] : [])],
      cwd: repoRoot,
      startTimeoutMs: 20_000,
      stopTimeoutMs: 5000,
    });
  let running: SpawnedDropServer | null = await launch(0);
  const server: Server = {
    url: running.url,
    port: running.port,
    async stop() {
      await running?.stop();
      running = null;
    },
    async restart() {
      await running?.stop();
      running = await launch(server.port);
    },
  };
  return server;
}

async function stored(dropUrl: string): Promise<string[]> {
  const result = await raw.fetch(dropUrl, null);
  return result.status === 'messages' ? result.items.map((item) => Buffer.from(item.body).toString('base64')) : [];
}

/** A clock that tests move ahead. */
function movableClock() {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    advance(ms: number) {
      offset += ms;
    },
  };
}

const statuses = (engine: TestEngine, localId: string): EventMap['outbox/status'][] => engine.of('outbox/status').filter((s) => s.localId === localId);
const posted = (engine: TestEngine, localId: string, copies: number) =>
  waitFor(() => statuses(engine, localId).find((s) => s.status === 'posted' && s.copies?.posted === copies), `${localId} posted to ${copies}`, 30_000);

describe('k of n: copies on distinct servers', () => {
  const servers: Server[] = [];
  const clock = movableClock();
  let alice: TestEngine;
  let bob: TestEngine;
  let aliceId: IdentitySummary;
  let bobId: IdentitySummary;

  const send = (localId: string, text = `text of ${localId}`) =>
    alice.call('messages/send', { identityId: aliceId.id, localId, recipient: { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls }, text });
  const countsAtBob = async () => Promise.all(bobId.dropUrls.map(async (url) => (await stored(url)).length));

  beforeAll(async () => {
    servers.push(...(await Promise.all([startServer(), startServer(), startServer()])));
    alice = await startTestEngine({ clock, network: { allowLocalNetwork: true }, outbox: { repost: { checkMs: 100 } } });
    bob = await startTestEngine({ autoPoll: false, network: { allowLocalNetwork: true } });
    aliceId = await alice.call('identities/create', { alias: 'alice', serverUrl: servers[0]!.url });
    await alice.call('settings/set', { pollIntervalMs: 1000 });
    bobId = await bob.call('identities/create', { alias: 'bob', serverUrl: servers[0]!.url });
    await bob.call('identities/addDrop', { identityId: bobId.id, serverUrl: servers[1]!.url });
    bobId = await bob.call('identities/addDrop', { identityId: bobId.id, serverUrl: servers[2]!.url });
  });
  afterAll(async () => {
    await alice?.close();
    await bob?.close();
    await Promise.all(servers.map((server) => server.stop()));
    for (const engine of [alice, bob]) if (engine) removeDir(engine.dataDir);
  });

  it('posts two copies to two servers, each with its own bytes; bob shows one message and his receipt makes it delivered', async () => {
    expect(bobId.dropUrls).toHaveLength(3);
    const accepted = await send('k1');
    await posted(alice, 'k1', 2);
    const events = statuses(alice, 'k1').filter((s) => s.status === 'posted');
    expect(events.map((s) => s.copies)).toEqual([
      { posted: 1, wanted: 2 },
      { posted: 2, wanted: 2 },
    ]);
    // Neutral health everywhere: the recipient's order, first two servers.
    expect(await countsAtBob()).toEqual([1, 1, 0]);
    const [a] = await stored(bobId.dropUrls[0]!);
    const [b] = await stored(bobId.dropUrls[1]!);
    expect(a).not.toBe(b);
    // No shared bytes beyond the version byte: the ephemeral keys differ, so everything after them does.
    const bytesA = Buffer.from(a!, 'base64');
    const bytesB = Buffer.from(b!, 'base64');
    expect(bytesA.subarray(1, 33).equals(bytesB.subarray(1, 33))).toBe(false);
    expect(events.at(-1)!.repost).toMatchObject({ kind: 'scheduled' });

    await bob.engine.fetchOnce();
    const received = await receiveAndAck(bob, 1, 'bob receives k1', aliceId);
    const copies = bob.of('inbox/batch').flatMap((batch) => batch.messages).filter((m) => m.text === 'text of k1');
    expect(copies).toHaveLength(2); // both copies reached the engine
    expect(new Set(copies.map((m) => m.dedupeKey)).size).toBe(1); // and the UI stores (shows) one
    expect(received.find((m) => m.text === 'text of k1')!.acknowledgeId).toBe(accepted.acknowledgeIds[0]);
    await waitFor(() => alice.of('outbox/delivered').find((d) => d.localId === 'k1'), 'k1 delivered', 20_000);
    expect(alice.of('outbox/delivered').find((d) => d.localId === 'k1')!.via).toBe('receipt');

    // Delivered: never re-posted, and its sealed copies are gone from the state file.
    const before = statuses(alice, 'k1').length;
    clock.advance(4 * DAY_MS);
    await alice.engine.settled();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(statuses(alice, 'k1')).toHaveLength(before);
    expect(await countsAtBob()).toEqual([1, 1, 0]);
    const state = JSON.parse(readFileSync(join(alice.dataDir, STATE_FILE_NAME), 'utf8')) as { outbox: Record<string, { pieces: { sealed: string[] }[]; deliveredAt: number | null }> };
    expect(state.outbox['k1']!.deliveredAt).not.toBeNull();
    expect(state.outbox['k1']!.pieces.flatMap((piece) => piece.sealed).every((pdu) => pdu === '')).toBe(true);
  });

  it('moves a copy from a server that is down to the next one: posted 1 of 2, then 2 of 2; ranks the failing server last until it has had time to recover', async () => {
    await servers[0]!.stop();
    const start = await countsAtBob().catch(() => null);
    expect(start).toBeNull(); // server 0 is down
    const before = await Promise.all([1, 2].map(async (i) => (await stored(bobId.dropUrls[i]!)).length));
    await send('down');
    await posted(alice, 'down', 2);
    expect(statuses(alice, 'down').filter((s) => s.status === 'posted').map((s) => s.copies!.posted)).toEqual([1, 2]);
    const after = await Promise.all([1, 2].map(async (i) => (await stored(bobId.dropUrls[i]!)).length));
    expect(after).toEqual([before[0]! + 1, before[1]! + 1]);

    // Learned from our own posts only, and kept in the state file.
    await alice.engine.settled();
    const originOf = (dropUrl: string) => new URL(dropUrl).origin;
    // The state file is written after a batching delay: poll it rather than sleep a guessed time.
    const health = await waitFor(() => {
      const read = (JSON.parse(readFileSync(join(alice.dataDir, STATE_FILE_NAME), 'utf8')) as { serverHealth?: Record<string, { score: number }> }).serverHealth;
      return read?.[originOf(bobId.dropUrls[0]!)] && read[originOf(bobId.dropUrls[0]!)]!.score < 0.7 ? read : null;
    }, 'the failing server scored in the state file');
    expect(health[originOf(bobId.dropUrls[0]!)]!.score).toBeLessThan(0.7);
    expect(health[originOf(bobId.dropUrls[1]!)]!.score).toBeGreaterThan(0.7);

    // Server 0 is back, but its failure is recent: the next message goes to the other two.
    await servers[0]!.restart(); // in memory: it lost what it held
    await send('avoid');
    await posted(alice, 'avoid', 2);
    expect((await stored(bobId.dropUrls[0]!)).length).toBe(0);
    // Hours later the failure no longer counts: server 0 is tried again (no probe: this message is the try).
    clock.advance(12 * 3600_000);
    await send('again');
    await posted(alice, 'again', 2);
    expect((await stored(bobId.dropUrls[0]!)).length).toBe(1);
  });

  it('delivers through the other copy when one server answers 200 and forgets', async () => {
    const forgetful = await startForgetfulServer();
    try {
      const dropId = bobId.dropUrls[0]!.split('/').at(-1)!;
      const recipient = { publicKey: bobId.publicKey, dropUrls: [`${forgetful.url}/${dropId}`, bobId.dropUrls[1]!] };
      await alice.call('messages/send', { identityId: aliceId.id, localId: 'lossy', recipient, text: 'through the lossy server' });
      await posted(alice, 'lossy', 2);
      expect(forgetful.posts()).toBe(1);
      await bob.engine.fetchOnce();
      await receiveAndAck(bob, 2, 'bob receives the lossy message', aliceId).catch(() => null);
      expect(bob.of('inbox/batch').flatMap((batch) => batch.messages).some((m) => m.text === 'through the lossy server')).toBe(true);
      await waitFor(() => alice.of('outbox/delivered').find((d) => d.localId === 'lossy'), 'lossy delivered', 20_000);
    } finally {
      await forgetful.close();
    }
  });

  it('follows the copies setting (1..4), capped by the servers the recipient has', async () => {
    await expect(alice.call('settings/set', { copies: 5 })).rejects.toThrow(/invalid_request/);
    expect(await alice.call('settings/set', { copies: 4 })).toMatchObject({ copies: 4 });
    const before = await countsAtBob();
    await send('all');
    const event = await posted(alice, 'all', 3);
    expect(event.copies).toEqual({ posted: 3, wanted: 3 }); // 4 wanted, 3 servers
    expect(await countsAtBob()).toEqual(before.map((n) => n + 1));
    await alice.call('settings/set', { copies: 1 });
    await send('single');
    expect((await posted(alice, 'single', 1)).copies).toEqual({ posted: 1, wanted: 1 });
    await alice.call('settings/set', { copies: 2 });
  });

  it('sends a message that asks for no receipt once, and keeps nothing of it', async () => {
    await alice.call('messages/send', { identityId: aliceId.id, localId: 'noreceipt', recipient: { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls }, text: 'no receipt', wantReceipt: false });
    const event = await posted(alice, 'noreceipt', 1);
    expect(event.copies).toEqual({ posted: 1, wanted: 1 });
    expect(event.repost).toBeUndefined();
    await alice.engine.settled();
    await waitFor(() => {
      const state = JSON.parse(readFileSync(join(alice.dataDir, STATE_FILE_NAME), 'utf8')) as { outbox: Record<string, { pieces: { sealed: string[] }[] }> };
      return state.outbox['noreceipt']?.pieces.every((piece) => piece.sealed.every((pdu) => pdu === ''));
    }, 'no receipt: bytes dropped once posted');
  });
});

describe('re-posting until acknowledged', () => {
  const TTL_S = 4;
  const servers: Server[] = [];
  const clock = movableClock();
  let alice: TestEngine;
  let aliceId: IdentitySummary;
  let bob: TestEngine | null = null;
  let bobId: IdentitySummary;
  let bobDir: string;

  const send = (localId: string) =>
    alice.call('messages/send', { identityId: aliceId.id, localId, recipient: { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls }, text: `text of ${localId}` });
  const atBob = async () => (await Promise.all(bobId.dropUrls.map(stored))).flat().length;
  const reposts = (localId: string) => statuses(alice, localId).filter((s) => s.repost?.kind === 'scheduled').length;
  /** Lets every copy expire at the servers (their TTL is seconds). */
  const expire = () => waitFor(async () => (await atBob()) === 0, 'copies expired at the servers', 20_000);

  beforeAll(async () => {
    servers.push(...(await Promise.all([startServer(TTL_S), startServer(TTL_S)])));
    alice = await startTestEngine({ clock, network: { allowLocalNetwork: true }, outbox: { repost: { checkMs: 100 } } });
    aliceId = await alice.call('identities/create', { alias: 'alice', serverUrl: servers[0]!.url });
    await alice.call('settings/set', { pollIntervalMs: 1000 });
    bob = await startTestEngine({ autoPoll: false, network: { allowLocalNetwork: true } });
    bobDir = bob.dataDir;
    await bob.call('identities/create', { alias: 'bob', serverUrl: servers[0]!.url });
    bobId = (await bob.call('identities/addDrop', { identityId: (await bob.call('identities/list', {}))[0]!.id, serverUrl: servers[1]!.url }))!;
    // Bob goes offline.
    await bob.close();
    bob = null;
  });
  afterAll(async () => {
    await alice?.close();
    await bob?.close();
    await Promise.all(servers.map((server) => server.stop()));
    for (const dir of [alice?.dataDir, bobDir]) if (dir) removeDir(dir);
  });
  afterEach(async () => {
    if (bob) await bob.close();
    bob = null;
  });

  it('re-posts every 3.5 days, so bob, offline for 10 days past a 4-second TTL, still gets the message once; his receipt stops the re-posts', async () => {
    await send('late');
    await posted(alice, 'late', 2);
    const original = (await Promise.all(bobId.dropUrls.map(stored))).map((pdus) => pdus[0]);
    const scheduled = statuses(alice, 'late').find((s) => s.repost?.kind === 'scheduled')!.repost!;
    expect(scheduled.kind === 'scheduled' && scheduled.nextAt - clock.now()).toBeGreaterThan(3.4 * DAY_MS);
    expect(scheduled.kind === 'scheduled' && scheduled.until - clock.now()).toBeGreaterThan(29 * DAY_MS);
    for (let day = 3.5; day < 11; day += 3.5) {
      await expire(); // without a re-post the message would be lost now
      const before = reposts('late');
      clock.advance(3.5 * DAY_MS);
      await waitFor(() => reposts('late') > before, `re-post on day ${day}`);
      // Both copies are back: the same bytes at the same drops.
      expect((await Promise.all(bobId.dropUrls.map(stored))).map((pdus) => pdus[0])).toEqual(original);
    }
    // Day 10.5: bob comes online.
    bob = await startTestEngine({ dataDir: bobDir, autoPoll: false, network: { allowLocalNetwork: true } });
    await bob.engine.fetchOnce();
    const received = await receiveAndAck(bob, 1, 'bob receives the late message', aliceId);
    expect(received.filter((m) => m.text === 'text of late')).toHaveLength(1);
    await waitFor(() => alice.of('outbox/delivered').find((d) => d.localId === 'late'), 'late delivered', 20_000);
    const after = reposts('late');
    await expire();
    clock.advance(3.5 * DAY_MS);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(reposts('late')).toBe(after);
    expect(await atBob()).toBe(0);
  });

  it('stops re-posting a cancelled message, which stays posted', async () => {
    await send('cancelled');
    await posted(alice, 'cancelled', 2);
    expect(await alice.call('messages/cancel', { localId: 'cancelled' })).toEqual({ cancelled: true });
    const last = statuses(alice, 'cancelled').at(-1)!;
    expect(last.status).toBe('posted');
    expect(last.repost).toEqual({ kind: 'ended', why: 'cancelled' });
    expect(await alice.call('messages/cancel', { localId: 'cancelled' })).toEqual({ cancelled: false });
    await expire();
    clock.advance(3.5 * DAY_MS);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(await atBob()).toBe(0);
  });

  it('gives up after 30 days without an acknowledgement, and says so', async () => {
    await send('forever');
    await posted(alice, 'forever', 2);
    clock.advance(31 * DAY_MS);
    const ended = await waitFor(() => statuses(alice, 'forever').find((s) => s.repost?.kind === 'ended'), 'time limit');
    expect(ended.repost).toEqual({ kind: 'ended', why: 'timeLimit' });
  });
});

describe('copies across a restart', () => {
  it('goes on with a later copy after a restart: posted 1 of 2 before, 2 of 2 after', async () => {
    const servers = await Promise.all([startServer(), startServer()]);
    let alice = await startTestEngine({ network: { allowLocalNetwork: true }, outbox: { repost: { checkMs: 100 } } });
    const dataDir = alice.dataDir;
    const bob = await startTestEngine({ autoPoll: false, network: { allowLocalNetwork: true } });
    try {
      const aliceId = await alice.call('identities/create', { alias: 'alice', serverUrl: servers[0]!.url });
      const bobFirst = await bob.call('identities/create', { alias: 'bob', serverUrl: servers[0]!.url });
      const bobId = await bob.call('identities/addDrop', { identityId: bobFirst.id, serverUrl: servers[1]!.url });
      await servers[1]!.stop();
      await alice.call('messages/send', { identityId: aliceId.id, localId: 'half', recipient: { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls }, text: 'half' });
      await posted(alice, 'half', 1);
      await alice.close();
      await servers[1]!.restart();
      alice = await startTestEngine({ dataDir, network: { allowLocalNetwork: true }, outbox: { repost: { checkMs: 100 } } });
      await posted(alice, 'half', 2);
      expect((await stored(bobId.dropUrls[1]!)).length).toBe(1);
    } finally {
      await alice.close();
      await bob.close();
      await Promise.all(servers.map((server) => server.stop()));
      removeDir(dataDir);
      removeDir(bob.dataDir);
    }
  });
});

describe('what the state file keeps', () => {
  it.each([
    ['maxMessages', { maxMessages: 3 }],
    // One copy of one piece is 2868 base64 characters: room for three.
    ['maxBytes', { maxBytes: 3 * 2868 + 100 }],
  ])('keeps at most %s for re-posting: the oldest give way and say so', async (_bound, repost) => {
    const server = await startServer();
    const alice = await startTestEngine({ outbox: { repost: { checkMs: 100, ...repost } } });
    try {
      const me = await alice.call('identities/create', { alias: 'me', serverUrl: server.url });
      const other = await alice.call('identities/create', { alias: 'other', serverUrl: server.url });
      for (let i = 0; i < 6; i++) {
        await alice.call('messages/send', { identityId: me.id, localId: `m${i}`, recipient: { publicKey: other.publicKey, dropUrls: other.dropUrls }, text: `m${i}` });
        await posted(alice, `m${i}`, 1);
      }
      await waitFor(() => [0, 1, 2].every((i) => statuses(alice, `m${i}`).some((s) => s.repost?.kind === 'ended')), 'the three oldest gave way');
      for (const i of [0, 1, 2]) expect(statuses(alice, `m${i}`).at(-1)!.repost).toEqual({ kind: 'ended', why: 'storageLimit' });
      for (const i of [3, 4, 5]) expect(statuses(alice, `m${i}`).some((s) => s.repost?.kind === 'ended')).toBe(false);
      await alice.engine.settled();
      // The state file is written after a batching delay: poll it rather than sleep a guessed time.
      const holdingNow = () => {
        const state = JSON.parse(readFileSync(join(alice.dataDir, STATE_FILE_NAME), 'utf8')) as { outbox: Record<string, { pieces: { sealed: string[] }[] }> };
        return Object.values(state.outbox).filter((record) => record.pieces.some((piece) => piece.sealed.some((pdu) => pdu !== ''))).length;
      };
      await waitFor(() => holdingNow() === 3, 'three records holding sealed copies in the state file');
      expect(holdingNow()).toBe(3);
    } finally {
      await alice.close();
      await server.stop();
      removeDir(alice.dataDir);
    }
  });
});

/** An HTTP server that takes every POST with 200 and keeps nothing (GET: an empty drop). */
async function startForgetfulServer(): Promise<{ url: string; posts(): number; close(): Promise<void> }> {
  const { createServer } = await import('node:http');
  let posts = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      if (request.method === 'POST') posts++;
      response.writeHead(request.method === 'POST' ? 200 : 204, { 'cache-control': 'no-store' });
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    posts: () => posts,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
