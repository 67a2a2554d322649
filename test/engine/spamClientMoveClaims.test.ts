/**
 * Closed drops on a drop move (PROTOCOL-V1 sections 2c "Migration" and 3c L1) against a real drop
 * server process: with the `closedDrops` setting on, identities/moveDrop claims the new drop before it
 * answers, as identities/create and addDrop do, so a ticketless POST to it gets 401 Ticket required
 * and nobody else can claim it. A server that offers tickets but takes no claim gets no drop: the move
 * is undone (the old drop first again, not "moving away", the new one not read on) and the request
 * refused. With the setting off the new drop stays open.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimDrop } from '../../electron/core/spam/dropClaim.js';
import { fetchPost } from '../../electron/core/spam/spamPost.js';
import { fetchPolicyPost } from '../server/spamSupport.js';
import { makeDataDir, removeDataDir, startServerProcess, type ServerProcess } from '../server/serverProcess.js';
import { type TestEngine, removeDir, startTestEngine } from './helpers/testEngine.js';

const BITS = 10;
const rawPost = fetchPost();
const pdu = (fill: number): Uint8Array => new Uint8Array(2149).fill(fill);

let dataDir: string;
let server: ServerProcess;
let fake: Server;
let fakeUrl: string;
let policies: string[] = [];
const engines: TestEngine[] = [];

beforeAll(async () => {
  dataDir = makeDataDir();
  server = await startServerProcess(dataDir, ['--pow-bits', String(BITS), '--log-level', 'warn']);
  // A stand-in server that announces tickets and answers every policy POST with a 500.
  fake = createServer((req, res) => {
    if (req.url?.endsWith('/.well-known/deaddrop')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ v: 1, features: ['tickets', 'pow'], intro_per_day: 20 }));
    } else if (req.url?.endsWith('/policy')) {
      policies.push(req.url);
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"Storage unavailable"}');
    } else {
      res.writeHead(204).end();
    }
  });
  await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
  fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const engine of engines) {
    await engine.close();
    removeDir(engine.dataDir);
  }
  await server?.stop();
  if (fake) await new Promise((resolve) => fake.close(resolve));
  if (dataDir) removeDataDir(dataDir);
});

async function engine(): Promise<TestEngine> {
  const started = await startTestEngine({ network: { allowLocalNetwork: true } });
  engines.push(started);
  return started;
}

describe('closed drops on identities/moveDrop', () => {
  it('claims the new drop when the setting is on: a ticketless POST is refused and a stranger cannot claim it', async () => {
    const bob = await engine();
    await bob.call('settings/set', { closedDrops: true });
    const created = await bob.call('identities/create', { alias: 'bob', serverUrl: server.url, dropBits: 256 });
    const [oldDrop] = created.dropUrls;

    const moved = await bob.call('identities/moveDrop', { identityId: created.id, fromDropUrl: oldDrop!, serverUrl: server.url });
    const [newDrop] = moved.dropUrls;
    expect(newDrop).not.toBe(oldDrop);
    expect(moved.retiringDrops?.map((d) => d.url)).toEqual([oldDrop]);
    expect(await rawPost(newDrop!, pdu(1), {})).toEqual({ status: 401, error: 'Ticket required', powBits: BITS });
    const stranger = await claimDrop(fetchPolicyPost, { secret: new Uint8Array(randomBytes(32)), dropUrl: newDrop!, keyIds: [0], introPerDay: 5 });
    expect(stranger).toMatchObject({ ok: false, reason: 'claimed' });
    expect(Object.keys(moved)).not.toContain('closedDrops');
  });

  it('leaves the new drop open with the setting off', async () => {
    const alice = await engine();
    const created = await alice.call('identities/create', { alias: 'alice', serverUrl: server.url, dropBits: 256 });
    const moved = await alice.call('identities/moveDrop', { identityId: created.id, fromDropUrl: created.dropUrls[0]!, serverUrl: server.url });
    expect(await rawPost(moved.dropUrls[0]!, pdu(2), {})).toMatchObject({ status: 200 });
  });

  it('undoes the move when the new server offers tickets but takes no claim, and refuses the request', async () => {
    const carol = await engine();
    await carol.call('settings/set', { closedDrops: true });
    const created = await carol.call('identities/create', { alias: 'carol', serverUrl: server.url, dropBits: 256 });
    const added = await carol.call('identities/addDrop', { identityId: created.id, serverUrl: server.url });
    const [first, second] = added.dropUrls;
    policies = [];

    // The second drop is moved, so a wrong undo would show in the order of the list too.
    await expect(carol.call('identities/moveDrop', { identityId: created.id, fromDropUrl: second!, serverUrl: fakeUrl })).rejects.toThrow(/unavailable: .*HTTP 500/);
    expect(policies).toHaveLength(1);
    const [after] = await carol.call('identities/list', {});
    expect(after!.dropUrls).toEqual([first, second]);
    // Neither the old drop is "moving away" nor is the withdrawn one read on.
    expect(after!.retiringDrops ?? []).toEqual([]);
    // The identity is where it was: a later move to a server that takes the claim goes through.
    const moved = await carol.call('identities/moveDrop', { identityId: created.id, fromDropUrl: second!, serverUrl: server.url });
    expect(moved.dropUrls).toHaveLength(2);
    expect(moved.dropUrls).toContain(first);
    expect(moved.retiringDrops?.map((d) => d.url)).toEqual([second]);
    expect(await rawPost(moved.dropUrls[0]!, pdu(3), {})).toMatchObject({ status: 401, error: 'Ticket required' });
  });
});
