/**
 * Linkability (PROTOCOL-V1.md 2d): two colluding servers compare what they stored for the copies of one
 * message. Equal bytes, or equal 16-byte tags (bytes 33..49, where a version-1 PDU carries its tag),
 * would let them link the recipient's drops. The proxies record every POST body; for each message,
 * every pair of copies that reached two different servers must differ in both. Version 0 (a box per
 * server) and version 1 (a PDU per copy index), with one server losing half its answers, so copies are
 * also placed again after a failure.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentitySummary } from '../../shared/ipc/contract.js';
import { type TestEngine, removeDir, startTestEngine } from '../engine/helpers/testEngine.js';
import { type Cluster, SimClock, startCluster } from './cluster.js';
import { seeded } from './random.js';

const MESSAGES = 12;
const TAG = [33, 49] as const;

interface Side {
  engine: TestEngine;
  identity: IdentitySummary;
}

let cluster: Cluster;
const clock = new SimClock(Date.UTC(2026, 3, 1));
const engines: TestEngine[] = [];

beforeAll(async () => {
  cluster = await startCluster({ clock, random: seeded(33), capture: true });
});

afterAll(async () => {
  for (const engine of engines) await engine.close().catch(() => undefined);
  await cluster?.close();
  for (const engine of engines) removeDir(engine.dataDir);
});

async function side(alias: string, protocolV1: boolean): Promise<Side> {
  const engine = await startTestEngine({ clock, autoPoll: false, protocolV1, network: { allowLocalNetwork: true } });
  engines.push(engine);
  let identity = await engine.call('identities/create', { alias, serverUrl: cluster.urls[0]! });
  for (const url of cluster.urls.slice(1)) identity = await engine.call('identities/addDrop', { identityId: identity.id, serverUrl: url });
  return { engine, identity };
}

/** Reads and acknowledges as the UI does (receipts owed to `from` at its drops). */
async function read(to: Side, from: Side): Promise<void> {
  await to.engine.engine.fetchOnce();
  for (const batch of to.engine.of('inbox/batch')) {
    await to.engine.call('inbox/ack', { batchId: batch.batchId, receipts: batch.messages.map((m) => ({ dedupeKey: m.dedupeKey, dropUrls: from.identity.dropUrls })) });
  }
  await to.engine.engine.settled();
}

async function sendAndWait(from: Side, to: Side, localId: string, text: string): Promise<void> {
  await from.engine.call('messages/send', { identityId: from.identity.id, localId, recipient: { publicKey: to.identity.publicKey, dropUrls: to.identity.dropUrls }, text });
  for (let i = 0; i < 1000; i++) {
    const done = from.engine.of('outbox/status').find((s) => s.localId === localId && s.status === 'posted' && (s.copies === undefined || s.copies.posted >= s.copies.wanted));
    if (done) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`${localId} not posted with all its copies`);
}

/** Copies of each message as the servers stored them: per message, [server index, body] for the recipient's drops. */
async function captureCopies(from: Side, to: Side, prefix: string): Promise<[number, Buffer][][]> {
  const dropIds = new Set(to.identity.dropUrls.map((url) => url.split('/').at(-1)!));
  const perMessage: [number, Buffer][][] = [];
  for (let i = 0; i < MESSAGES; i++) {
    const marks = cluster.proxies.map((proxy) => proxy.captured.length);
    await sendAndWait(from, to, `${prefix}-${i}`, `copy test ${i}`);
    perMessage.push(
      cluster.proxies.flatMap((proxy, server) =>
        proxy.captured
          .slice(marks[server])
          .filter((post) => post.forwarded && dropIds.has(post.dropId))
          .map((post): [number, Buffer] => [server, post.body]),
      ),
    );
  }
  return perMessage;
}

/** Every pair of copies at two servers differs in bytes and tag; `minPairs` such pairs were compared. */
function expectUnlinkable(perMessage: [number, Buffer][][], minPairs: number, everyMessageTwice: boolean): void {
  let pairs = 0;
  for (const copies of perMessage) {
    if (everyMessageTwice) expect(new Set(copies.map(([server]) => server)).size, 'copies on at least two servers').toBeGreaterThanOrEqual(2);
    for (let a = 0; a < copies.length; a++) {
      for (let b = a + 1; b < copies.length; b++) {
        const [serverA, bodyA] = copies[a]!;
        const [serverB, bodyB] = copies[b]!;
        if (serverA === serverB) continue;
        pairs++;
        expect(bodyA.equals(bodyB), 'equal bytes at two servers').toBe(false);
        expect(bodyA.subarray(...TAG).equals(bodyB.subarray(...TAG)), 'equal tags at two servers').toBe(false);
      }
    }
  }
  expect(pairs).toBeGreaterThanOrEqual(minPairs);
}

describe('copies of one message at two servers', () => {
  it('version 0: never equal bytes or equal tag bytes', async () => {
    const alice = await side('alice0', false);
    const bob = await side('bob0', false);
    cluster.proxies[0]!.mode = { lostAnswerP: 0.5 };
    try {
      expectUnlinkable(await captureCopies(alice, bob, 'v0'), MESSAGES, true);
    } finally {
      cluster.proxies[0]!.mode = {};
    }
  });

  it('version 1 (sessions): never equal bytes or equal tags', async () => {
    const alice = await side('alice1', true);
    const bob = await side('bob1', true);
    // One message each way upgrades the pair to a session; the rest go as Session PDUs.
    await sendAndWait(alice, bob, 'hello', 'hello');
    await read(bob, alice);
    await sendAndWait(bob, alice, 'hi', 'hi');
    await read(alice, bob);
    const status = await alice.engine.call('sessions/status', { identityId: alice.identity.id });
    expect(status.contacts[bob.identity.publicKey]?.protocol).toBe(1);
    // Two servers lose half their answers: a copy whose POST was stored but not answered must not
    // reach another server with the same bytes (a copy index stays with its server).
    cluster.proxies[0]!.mode = { lostAnswerP: 0.5 };
    cluster.proxies[1]!.mode = { lostAnswerP: 0.5 };
    try {
      expectUnlinkable(await captureCopies(alice, bob, 'v1'), MESSAGES, true);
    } finally {
      cluster.proxies[0]!.mode = {};
      cluster.proxies[1]!.mode = {};
    }
  });
});
