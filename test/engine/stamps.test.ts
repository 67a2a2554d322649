/**
 * The outbox stamps when a server asks (PROTOCOL-V1 section 3c L2): real engines against a real drop
 * server process held under pressure (`--pow-above 0`: once it stores anything, every ticketless
 * POST to an open drop needs a stamp). A message and its receipt arrive, each stamped after the
 * server's 429; the UI hears `outbox/stampProgress`; a cancel during a stamp the server set far too
 * high (30 bits: minutes of work) stops it and nothing is posted. Low bits elsewhere: a stamp's work
 * is a count of hashes, not a time.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentitySummary } from '../../shared/ipc/contract.js';
import { fetchPost } from '../../electron/core/spam/spamPost.js';
import { makeDataDir, removeDataDir, startServerProcess, type ServerProcess } from '../server/serverProcess.js';
import { type TestEngine, removeDir, startTestEngine } from './helpers/testEngine.js';
import { receiveAndAck } from './helpers/receive.js';
import { waitFor } from './helpers/waitFor.js';

const rawPost = fetchPost();
const pdu = (fill: number): Uint8Array => new Uint8Array(2149).fill(fill);
const newDropUrl = (server: ServerProcess): string => `${server.url}/${randomBytes(32).toString('base64url')}`;

let dataDirs: string[] = [];
let servers: ServerProcess[] = [];
let engines: TestEngine[] = [];

/** A server that asks every ticketless POST for a stamp of `bits` once it stores anything (one warm-up POST). */
async function pressedServer(bits: number): Promise<ServerProcess> {
  const dir = makeDataDir();
  dataDirs.push(dir);
  const server = await startServerProcess(dir, ['--pow-above', '0', '--pow-bits', String(bits), '--log-level', 'warn']);
  servers.push(server);
  expect(await rawPost(newDropUrl(server), pdu(1), {})).toMatchObject({ status: 200 });
  expect(await rawPost(newDropUrl(server), pdu(2), {})).toEqual({ status: 429, error: 'Proof of work required', powBits: bits });
  return server;
}

async function engine(options: Parameters<typeof startTestEngine>[0] = {}): Promise<TestEngine> {
  const started = await startTestEngine(options);
  engines.push(started);
  return started;
}

beforeAll(() => {
  dataDirs = [];
  servers = [];
  engines = [];
});

afterAll(async () => {
  for (const e of engines) await e.close();
  for (const s of servers) await s.stop();
  for (const e of engines) removeDir(e.dataDir);
  for (const dir of dataDirs) removeDataDir(dir);
});

describe('stamps when a server asks', () => {
  it('a message to a drop on a server under pressure is stamped after its 429 and arrives; so does the receipt', async () => {
    const server = await pressedServer(8);
    const alice = await engine();
    const bob = await engine();
    const aliceId: IdentitySummary = await alice.call('identities/create', { alias: 'alice', serverUrl: server.url });
    const bobId: IdentitySummary = await bob.call('identities/create', { alias: 'bob', serverUrl: server.url });

    const started = performance.now();
    const sent = await alice.call('messages/send', {
      identityId: aliceId.id,
      localId: 'stamped-1',
      recipient: { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls },
      text: 'through the pressure',
    });
    await waitFor(() => alice.of('outbox/status').find((s) => s.localId === 'stamped-1' && s.status === 'posted'), 'alice posted');
    const elapsedMs = performance.now() - started;
    const progress = alice.of('outbox/stampProgress').filter((p) => p.localId === 'stamped-1');
    expect(progress[0]).toEqual({ localId: 'stamped-1', hashes: 0, expected: 256, dropUrl: bobId.dropUrls[0] });
    // While it was stamped the message said why it takes a while; it never failed.
    const statuses = alice.of('outbox/status').filter((s) => s.localId === 'stamped-1');
    expect(statuses.some((s) => s.status === 'sending' && s.reason?.kind === 'rateLimited' && /proof of work/.test(s.reason.detail))).toBe(true);
    expect(statuses.some((s) => s.status === 'failed')).toBe(false);
    console.info(`stamped message (8 bits) posted ${Math.round(elapsedMs)} ms after messages/send`);

    const [atBob] = await receiveAndAck(bob, 1, 'bob receives', aliceId);
    expect(atBob).toMatchObject({ senderKey: aliceId.publicKey, text: 'through the pressure' });
    // Bob's receipt met the same server and was stamped the same way.
    const receipt = await waitFor(() => alice.of('inbox/batch').flatMap((b) => b.receipts)[0], 'receipt at alice', 30_000);
    expect(receipt).toMatchObject({ acknowledgeId: sent.acknowledgeIds[0] });
    await waitFor(() => alice.of('outbox/delivered').find((d) => d.localId === 'stamped-1'), 'delivered');
  });

  it('a cancel during a stamp stops it: no more progress, the message is cancelled, nothing reaches the drop', async () => {
    const hard = await pressedServer(30);
    const alice = await engine({ network: { allowLocalNetwork: true } });
    const aliceId: IdentitySummary = await alice.call('identities/create', { alias: 'alice', serverUrl: hard.url });
    const recipient = await (await engine()).call('identities/create', { alias: 'carol', serverUrl: hard.url });

    await alice.call('messages/send', {
      identityId: aliceId.id,
      localId: 'hard-1',
      recipient: { publicKey: recipient.publicKey, dropUrls: recipient.dropUrls },
      text: 'never stamped in time',
    });
    const first = await waitFor(() => alice.of('outbox/stampProgress').find((p) => p.localId === 'hard-1'), 'stamping starts');
    expect(first).toEqual({ localId: 'hard-1', hashes: 0, expected: 2 ** 30, dropUrl: recipient.dropUrls[0] });
    await waitFor(() => alice.of('outbox/stampProgress').find((p) => p.localId === 'hard-1' && p.hashes > 0), 'stamp progress');

    const cancelledAt = performance.now();
    expect(await alice.call('messages/cancel', { localId: 'hard-1' })).toEqual({ cancelled: true });
    await waitFor(() => alice.of('outbox/status').find((s) => s.localId === 'hard-1' && s.status === 'cancelled'), 'cancelled');
    const cancelMs = performance.now() - cancelledAt;
    const countAfterCancel = alice.of('outbox/stampProgress').length;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(alice.of('outbox/stampProgress').length).toBe(countAfterCancel);
    expect(alice.of('outbox/status').filter((s) => s.localId === 'hard-1').some((s) => s.status === 'posted' || s.status === 'failed')).toBe(false);
    console.info(`stamp cancelled: status cancelled ${Math.round(cancelMs)} ms after messages/cancel`);

    // Nothing reached the recipient's drop: a GET finds it empty.
    const answer = await fetch(recipient.dropUrls[0]!, { headers: { Authorization: 'Client Qabel' } });
    expect(answer.status).toBe(204);
  });
});
