/**
 * The health score is learnt from our own posts only (issue 15 "chosen by a health score learned from
 * posting outcomes (no probing requests that leak interest)"): Alice writes to Bob, whose three drops
 * sit on three servers, while one of them is down for an hour. Her copies avoid the failing server
 * while its failure is recent and try it again, with a real message, once it has faded; through the
 * whole run the servers of Bob's drops see nothing from her but POSTs (no GET or HEAD of his drops, no
 * request at all where nothing was to be posted). Bob never reads, so every read would be hers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentitySummary } from '../../shared/ipc/contract.js';
import { parseDropUrl } from '../../shared/protocol/dropId.js';
import { type Cluster, SimClock, startCluster } from '../faults/cluster.js';
import { seeded } from '../faults/random.js';
import { type TestEngine, removeDir, startTestEngine } from './helpers/testEngine.js';

const HOUR_MS = 3600_000;
const clock = new SimClock(Date.UTC(2026, 5, 6));
let cluster: Cluster;
const engines: TestEngine[] = [];

beforeAll(async () => {
  cluster = await startCluster({ clock, random: seeded(77), capture: true });
});

afterAll(async () => {
  for (const e of engines) await e.close().catch(() => undefined);
  await cluster?.close();
  for (const e of engines) removeDir(e.dataDir);
});

describe('choosing servers for copies', () => {
  it('learns from posting outcomes only: no request to a contact’s servers but the posts of our messages', async () => {
    const alice = await startTestEngine({ clock, autoPoll: false, network: { allowLocalNetwork: true } });
    const bob = await startTestEngine({ clock, autoPoll: false, network: { allowLocalNetwork: true } });
    engines.push(alice, bob);
    const aliceId = await alice.call('identities/create', { alias: 'alice', serverUrl: cluster.urls[0]! });
    let bobId: IdentitySummary = await bob.call('identities/create', { alias: 'bob', serverUrl: cluster.urls[0]! });
    for (const url of cluster.urls.slice(1)) bobId = await bob.call('identities/addDrop', { identityId: bobId.id, serverUrl: url });
    expect(bobId.dropUrls).toHaveLength(3);
    const bobDrops = bobId.dropUrls.map((url) => parseDropUrl(url).dropId);
    const copiesAt = (i: number) => cluster.proxies[i]!.captured.filter((post) => post.dropId === bobDrops[i] && post.forwarded).length;

    let n = 0;
    const send = async (): Promise<void> => {
      const localId = `p${++n}`;
      await alice.call('messages/send', { identityId: aliceId.id, localId, recipient: { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls }, text: localId, wantReceipt: true });
      for (let i = 0; i < 1000 && !alice.of('outbox/status').some((s) => s.localId === localId && s.status === 'posted' && s.copies?.posted === 2); i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(alice.of('outbox/status').some((s) => s.localId === localId && s.status === 'posted' && s.copies?.posted === 2), `${localId} posted 2 of 2`).toBe(true);
    };

    // Server 1 is down for an hour: the copy meant for it goes to server 2.
    cluster.proxies[1]!.mode = { down: [[clock.now(), clock.now() + HOUR_MS]] };
    await send();
    expect([copiesAt(0), copiesAt(1), copiesAt(2)]).toEqual([1, 0, 1]);
    // Back, but its failure is recent: the next message does not go there, and nothing checks on it.
    clock.advance(2 * HOUR_MS);
    await send();
    expect([copiesAt(0), copiesAt(1), copiesAt(2)]).toEqual([2, 0, 2]);
    // Half a day later the failure has faded: a real message is the try.
    clock.advance(12 * HOUR_MS);
    await send();
    expect(copiesAt(1)).toBe(1);

    // No GET or HEAD of Bob's drops (he never reads; Alice never probes), and on servers 1 and 2,
    // where Alice has no drop, nothing but POSTs.
    for (const [i, proxy] of cluster.proxies.entries()) expect(proxy.reads.get(bobDrops[i]!) ?? 0, `reads of Bob's drop on server ${i}`).toBe(0);
    for (const proxy of cluster.proxies.slice(1)) expect(proxy.stats.requests).toBe(proxy.stats.posts);
  });
});
