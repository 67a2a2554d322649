/**
 * What the engine tells the user: whether an address is a drop server (before a drop goes there),
 * why a message is still sending and "Retry now", and that with receipts turned off no receipt
 * reaches a sender's drop. Real server processes, real HTTP.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from 'undici';
import type { IdentitySummary } from '../../shared/ipc/contract.js';
import { DropClient } from '../../electron/core/net/dropClient.js';
import { type SpawnedDropServer, spawnDropServer } from '../../server/index.js';
import { repoRoot, type ServerProcess, startServerProcess } from './helpers/serverProcess.js';
import { FAST_TIMING, type TestEngine, removeDir, startTestEngine } from './helpers/testEngine.js';
import { waitFor } from './helpers/waitFor.js';

const dispatcher = new Agent();
const raw = new DropClient({ dispatcher, timeoutMs: 5000 });

/** A web server that is no drop server: answers every request with `status` (and no drop headers). */
async function plainServer(status: number): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => {
    res.statusCode = status;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function count(dropUrl: string): Promise<number> {
  const result = await raw.fetch(dropUrl, null);
  return result.status === 'messages' ? result.items.length : 0;
}

let server: ServerProcess;
const engines: TestEngine[] = [];
const others: Server[] = [];
beforeAll(async () => {
  server = await startServerProcess();
});
afterAll(async () => {
  for (const engine of engines) {
    await engine.close();
    removeDir(engine.dataDir);
  }
  for (const other of others) other.close();
  await server?.stop();
  await dispatcher.close();
});

async function engine(options: Parameters<typeof startTestEngine>[0] = {}): Promise<TestEngine> {
  const started = await startTestEngine(options);
  engines.push(started);
  return started;
}

describe('servers/probe', () => {
  it('tells a drop server from an address where nothing answers, a web server that is none, and one in trouble', async () => {
    const e = await engine();
    // Local-network servers are not allowed in the settings: a server the user picks for their own drop still is.
    expect((await e.call('settings/get', {})).allowLocalNetwork).toBe(false);
    expect(await e.call('servers/probe', { serverUrl: server.url })).toEqual({ outcome: 'dropServer', detail: null });
    expect(await e.call('servers/probe', { serverUrl: `${server.url}/` })).toEqual({ outcome: 'dropServer', detail: null });

    const anything = await plainServer(200);
    const missing = await plainServer(404);
    const failing = await plainServer(503);
    others.push(anything.server, missing.server, failing.server);
    expect(await e.call('servers/probe', { serverUrl: anything.url })).toMatchObject({ outcome: 'notDropServer', detail: expect.stringContaining('X-Qabel-Latest') });
    expect(await e.call('servers/probe', { serverUrl: missing.url })).toMatchObject({ outcome: 'notDropServer', detail: expect.stringContaining('HTTP 404') });
    expect(await e.call('servers/probe', { serverUrl: failing.url })).toMatchObject({ outcome: 'trouble', detail: expect.stringContaining('HTTP 503') });

    const closed = await plainServer(200);
    const closedUrl = closed.url;
    await new Promise((resolve) => closed.server.close(resolve));
    expect(await e.call('servers/probe', { serverUrl: closedUrl })).toMatchObject({ outcome: 'unreachable', detail: expect.stringContaining('cannot be reached') });
  });

  it('trusts the probed server only while probing: a message to a drop there is still refused', async () => {
    const e = await engine();
    const me = await e.call('identities/create', { alias: 'me', serverUrl: server.url });
    const other = await plainServer(204);
    others.push(other.server);
    expect(await e.call('servers/probe', { serverUrl: other.url })).toEqual({ outcome: 'dropServer', detail: null });
    await e.call('messages/send', {
      identityId: me.id,
      localId: 'to-lan',
      recipient: { publicKey: me.publicKey, dropUrls: [`${other.url}/${'a'.repeat(43)}`] },
      text: 'hello',
    });
    const failed = await waitFor(() => e.of('outbox/status').find((s) => s.localId === 'to-lan' && s.status === 'failed'), 'refused');
    expect(failed.error).toMatch(/Refused to contact 127\.0\.0\.1/);
  });

  it('refuses what is no server address', async () => {
    const e = await engine();
    await expect(e.call('servers/probe', { serverUrl: 'drop.example.org' })).rejects.toThrow(/invalid_request/);
  });
});

describe('why a message is still sending, and Retry now', () => {
  let full: SpawnedDropServer;
  let alice: TestEngine;
  let aliceId: IdentitySummary;
  let bobId: IdentitySummary;
  // Retries an hour apart: any attempt soon after the first retry's wait began was made by Retry now.
  const slowRetry = { ...FAST_TIMING, sendRetry: { baseMs: 3_600_000, maxMs: 3_600_000, maxAttempts: 10 } };

  beforeAll(async () => {
    full = await spawnDropServer({
      command: process.execPath,
      args: ['--import', 'tsx', 'server/cli.ts', '--port', '0', '--db', 'sqlite::memory:', '--log-level', 'error', '--drop-max-messages', '1'],
      cwd: repoRoot,
      startTimeoutMs: 20_000,
    });
    alice = await engine({ timing: slowRetry, autoPoll: false });
    aliceId = await alice.call('identities/create', { alias: 'alice', serverUrl: server.url });
    bobId = await alice.call('identities/create', { alias: 'bob', serverUrl: full.url });
  });
  afterAll(async () => {
    await full?.stop();
  });

  const send = (localId: string, dropUrls = bobId.dropUrls) =>
    alice.call('messages/send', { identityId: aliceId.id, localId, recipient: { publicKey: bobId.publicKey, dropUrls }, text: `message ${localId}` });
  const statuses = (localId: string) => alice.of('outbox/status').filter((s) => s.localId === localId);

  it('says the drop is full (507) and when it tries again; Retry now tries at once and says so again', async () => {
    await send('fills');
    await waitFor(() => statuses('fills').find((s) => s.status === 'posted'), 'the first message fills the drop');
    const before = Date.now();
    await send('waits');
    const waiting = await waitFor(() => statuses('waits').find((s) => s.reason), 'a reason');
    expect(waiting.status).toBe('sending');
    expect(waiting.reason).toMatchObject({ kind: 'full', detail: expect.stringContaining('HTTP 507') });
    expect(waiting.reason!.retryAt).toBeGreaterThan(before + 2_500_000);
    expect(await alice.call('messages/sendingReason', { localId: 'waits' })).toEqual(waiting.reason);

    expect(await alice.call('messages/retryNow', { localId: 'waits' })).toEqual({ retrying: true });
    await waitFor(() => statuses('waits').find((s) => s.attempt === 2), 'a second attempt at once');
    const again = await waitFor(() => statuses('waits').filter((s) => s.reason && s.reason.retryAt !== null)[1], 'the reason again');
    expect(again.reason!.kind).toBe('full');
    expect(statuses('waits').some((s) => s.status === 'posted')).toBe(false);
    expect(await count(bobId.dropUrls[0]!)).toBe(1);

    await alice.call('messages/cancel', { localId: 'waits' });
    expect(await alice.call('messages/retryNow', { localId: 'waits' })).toEqual({ retrying: false });
    expect(await alice.call('messages/sendingReason', { localId: 'waits' })).toBeNull();
    expect(await alice.call('messages/retryNow', { localId: 'fills' })).toEqual({ retrying: false });
  });

  it('says a server that does not answer is unreachable, and Retry now posts once it is back', async () => {
    const down = await startServerProcess();
    const carol = await alice.call('identities/create', { alias: 'carol', serverUrl: down.url });
    await down.stop();
    await alice.call('messages/send', { identityId: aliceId.id, localId: 'while-down', recipient: { publicKey: carol.publicKey, dropUrls: carol.dropUrls }, text: 'are you there?' });
    const waiting = await waitFor(() => statuses('while-down').find((s) => s.reason), 'a reason');
    expect(waiting.reason).toMatchObject({ kind: 'unreachable', detail: expect.stringContaining('cannot be reached') });

    await down.restart();
    try {
      expect(await alice.call('messages/retryNow', { localId: 'while-down' })).toEqual({ retrying: true });
      await waitFor(() => statuses('while-down').find((s) => s.status === 'posted'), 'posted after Retry now');
      expect(await count(carol.dropUrls[0]!)).toBe(1);
    } finally {
      await down.stop();
    }
  });
});

describe('the receipts setting', () => {
  it('with receipts off, no box_ack reaches the sender’s drop, whatever the UI owes; on again, they do', async () => {
    const alice = await engine();
    const bob = await engine();
    const aliceId = await alice.call('identities/create', { alias: 'alice', serverUrl: server.url });
    const bobId = await bob.call('identities/create', { alias: 'bob', serverUrl: server.url });
    expect((await bob.call('settings/get', {})).sendReceipts).toBe(true);
    expect(await bob.call('settings/set', { sendReceipts: false })).toMatchObject({ sendReceipts: false });
    // Changing another setting leaves it off.
    expect(await bob.call('settings/set', { pollIntervalMs: 1000 })).toMatchObject({ sendReceipts: false, pollIntervalMs: 1000 });

    const receiveAndOwe = async (localId: string) => {
      const sent = await alice.call('messages/send', { identityId: aliceId.id, localId, recipient: { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls }, text: localId });
      const { batchId, m } = await waitFor(
        () => bob.of('inbox/batch').flatMap((b) => b.messages.map((m) => ({ batchId: b.batchId, m }))).find(({ m }) => m.acknowledgeId === sent.acknowledgeIds[0]),
        `bob receives ${localId}`,
      );
      await bob.call('inbox/ack', { batchId, receipts: [{ dedupeKey: m.dedupeKey, dropUrls: aliceId.dropUrls }] });
      return sent.acknowledgeIds[0]!;
    };
    await receiveAndOwe('quiet');
    await bob.call('receipts/send', { identityId: bobId.id, recipient: { publicKey: aliceId.publicKey, dropUrls: aliceId.dropUrls }, acknowledgeIds: ['held-1'] });
    await bob.engine.settled();
    expect(await count(aliceId.dropUrls[0]!)).toBe(0);

    await bob.call('settings/set', { sendReceipts: true });
    const answered = await receiveAndOwe('answered');
    await waitFor(async () => (await count(aliceId.dropUrls[0]!)) === 1 || null, 'one receipt at alice');
    await alice.call('poller/pollNow', {});
    const receipts = await waitFor(() => {
      const got = [...new Set(alice.of('inbox/batch').flatMap((b) => b.receipts.map((r) => r.acknowledgeId)))];
      return got.length > 0 ? got : null;
    }, 'alice reads the receipt');
    expect(receipts).toEqual([answered]);
  });
});
