/**
 * The receipt attacks of the security review, against real local servers: strangers whose messages
 * claim a drop URL on this computer (a recording server standing in for an admin page, and a tarpit
 * that accepts connections and never answers), in every spelling of the address, many messages each
 * asking for a receipt. The engine contacts none of them, even when its consumer names those URLs, and
 * a conversation between two identities through a real drop server goes on throughout. When the user
 * did agree to such a server (an accepted contact whose drop is a tarpit, local networks allowed),
 * the connection pool, the retry budget and the circuit breaker bound what the tarpit can hold.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { type Server as TcpServer, type Socket, createServer as createTcpServer } from 'node:net';
import { Agent } from 'undici';
import type { IdentitySummary, IncomingMessage } from '../../shared/ipc/contract.js';
import { generateDropId } from '../../shared/protocol/dropId.js';
import { DropClient } from '../../electron/core/net/dropClient.js';
import { generateNativeKeyPair } from '../../electron/core/state/nativeKeyPair.js';
import { craftPdu } from './helpers/craft.js';
import { type ServerProcess, startServerProcess } from './helpers/serverProcess.js';
import { FAST_TIMING, type TestEngine, removeDir, startTestEngine } from './helpers/testEngine.js';
import { waitFor } from './helpers/waitFor.js';

const dispatcher = new Agent();
const raw = new DropClient({ dispatcher, timeoutMs: 5000 });
const TIMING = { ...FAST_TIMING, requestTimeoutMs: 1000 };

let server: ServerProcess;
let recorder: Server;
let tarpit: TcpServer;
let recorderPort: number;
let tarpitPort: number;
const recorded: string[] = [];
const tarpitSockets = new Set<Socket>();
let tarpitConnections = 0;
let tarpitMostAtOnce = 0;
let alice: TestEngine;
let bob: TestEngine;
let aliceId: IdentitySummary;
let bobId: IdentitySummary;

const consumers = new Map<TestEngine, () => void>();

/**
 * Acknowledges every batch (replacing the engine's previous consumer) as a UI would that keeps
 * `accepted` as contacts (sender key to drop URLs), answering their receipts there; for anyone else it
 * names `strangerUrl(message)` when given: a careless or compromised UI that hands the engine the URL
 * a message claims.
 */
function consume(engine: TestEngine, accepted: Map<string, string[]>, strangerUrl?: (m: IncomingMessage) => string | undefined): void {
  consumers.get(engine)?.();
  consumers.set(engine, engine.engine.subscribe(({ event, payload: batch }) => {
    if (event !== 'inbox/batch') return;
    const receipts = batch.messages.flatMap((m) => {
      const urls = accepted.get(m.senderKey) ?? [strangerUrl?.(m)].filter((u): u is string => u !== undefined);
      return urls.length > 0 ? [{ dedupeKey: m.dedupeKey, dropUrls: urls }] : [];
    });
    void engine.call('inbox/ack', { batchId: batch.batchId, receipts });
  }));
}

const texts = (engine: TestEngine) => engine.of('inbox/batch').flatMap((b) => b.messages.map((m) => m.text));
const receiptIds = (engine: TestEngine) => engine.of('inbox/batch').flatMap((b) => b.receipts.map((r) => r.acknowledgeId));
const openFiles = () => (existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : 0);

async function say(from: TestEngine, fromId: IdentitySummary, to: IdentitySummary, localId: string, text: string): Promise<string> {
  const sent = await from.call('messages/send', { identityId: fromId.id, localId, recipient: { publicKey: to.publicKey, dropUrls: to.dropUrls }, text });
  return sent.acknowledgeIds[0]!;
}

beforeAll(async () => {
  server = await startServerProcess();
  recorder = createServer((req, res) => {
    recorded.push(`${req.method} ${req.url}`);
    res.writeHead(200).end();
  });
  recorder.on('upgrade', (req, socket) => {
    recorded.push(`UPGRADE ${req.url}`);
    socket.destroy();
  });
  recorder.on('connection', () => recorded.push('CONNECT'));
  tarpit = createTcpServer((socket) => {
    tarpitConnections++;
    tarpitSockets.add(socket);
    tarpitMostAtOnce = Math.max(tarpitMostAtOnce, tarpitSockets.size);
    socket.on('error', () => undefined);
    // Reads and ignores what comes, so it notices when the client gives up; never answers.
    socket.resume();
    socket.on('close', () => tarpitSockets.delete(socket));
  });
  await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => tarpit.listen(0, '127.0.0.1', resolve));
  recorderPort = (recorder.address() as { port: number }).port;
  tarpitPort = (tarpit.address() as { port: number }).port;

  alice = await startTestEngine({ timing: TIMING });
  bob = await startTestEngine({ timing: TIMING });
  aliceId = await alice.call('identities/create', { alias: 'alice', serverUrl: server.url });
  bobId = await bob.call('identities/create', { alias: 'bob', serverUrl: server.url });
  await alice.call('settings/set', { pollIntervalMs: 1000 });
  await bob.call('settings/set', { pollIntervalMs: 1000 });
  consume(alice, new Map([[bobId.publicKey, bobId.dropUrls]]));
});

afterAll(async () => {
  await alice?.close();
  await bob?.close();
  await server?.stop();
  for (const socket of tarpitSockets) socket.destroy();
  await new Promise<void>((resolve) => recorder?.close(() => resolve()));
  await new Promise<void>((resolve) => tarpit?.close(() => resolve()));
  await dispatcher.close();
  for (const e of [alice, bob]) if (e) removeDir(e.dataDir);
});

describe('receipt attacks', { timeout: 120_000 }, () => {
  it('contacts no address a stranger claims, in any spelling, however many messages; the conversation goes on', async () => {
    const hosts = ['127.0.0.1', '127.1', '2130706433', '0x7f.1', '0177.0.0.1', '[::ffff:7f00:1]', '[::ffff:127.0.0.1]', 'localhost', '[::1]', '0.0.0.0'];
    const claimed = [
      ...hosts.map((host) => `http://${host}:${recorderPort}/cgi-bin/admin/${generateDropId()}`),
      `http://127.0.0.1:${tarpitPort}/${generateDropId()}`,
      `http://[::ffff:127.0.0.1]:${tarpitPort}/${generateDropId()}`,
    ];
    // Bob's UI names the claimed URLs as receipt addresses: the engine must still refuse them.
    consume(bob, new Map([[aliceId.publicKey, aliceId.dropUrls]]), (m) => m.meta?.dropUrl);
    const filesBefore = openFiles();

    const strangers = claimed.map(() => generateNativeKeyPair());
    for (const [i, url] of claimed.entries()) {
      for (let n = 0; n < 3; n++) {
        const pdu = await craftPdu({ from: strangers[i]!, to: bobId.publicKey, text: `stranger ${i}.${n}`, acknowledgeId: `s-${i}-${n}`, alias: 'admin', dropUrl: url });
        await raw.post(bobId.dropUrls[0]!, pdu);
      }
    }
    const ackId = await say(alice, aliceId, bobId, 'during-attack', 'hello bob, during the attack');
    await waitFor(() => texts(bob).filter((t) => t?.startsWith('stranger ')).length >= claimed.length * 3, 'every stranger message at bob', 30_000);
    await waitFor(() => texts(bob).includes('hello bob, during the attack'), 'alice’s message at bob', 30_000);
    await waitFor(() => receiptIds(alice).includes(ackId), 'bob’s receipt at alice', 30_000);

    // Replies still go out, and the next poll still delivers.
    await say(bob, bobId, aliceId, 'reply', 'hi alice, all fine here');
    await waitFor(() => texts(alice).includes('hi alice, all fine here'), 'bob’s reply at alice', 30_000);
    await bob.engine.settled();
    // Refusals are final, not retried: nothing turns up later either.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(recorded).toEqual([]);
    expect(tarpitConnections).toBe(0);
    if (filesBefore > 0) expect(openFiles() - filesBefore).toBeLessThan(50);
    expect((await bob.call('servers/status', {})).every((s) => s.reachable === true)).toBe(true);
  });

  it('with the user’s agreement to a contact whose drop is a tarpit: a few connections at most, and the rest goes on', async () => {
    // Bob allows local-network servers and accepts a contact whose drop is the tarpit.
    await bob.call('settings/set', { allowLocalNetwork: true });
    const contact = generateNativeKeyPair();
    const contactKey = Buffer.from(contact.publicKey).toString('hex');
    const tarpitDrop = `http://127.0.0.1:${tarpitPort}/${generateDropId()}`;
    consume(bob, new Map([[aliceId.publicKey, aliceId.dropUrls], [contactKey, [tarpitDrop]]]));
    const filesBefore = openFiles();
    const connectionsBefore = tarpitConnections;

    for (let n = 0; n < 40; n++) {
      await raw.post(bobId.dropUrls[0]!, await craftPdu({ from: contact, to: bobId.publicKey, text: `from the tarpit ${n}`, acknowledgeId: `t-${n}` }));
    }
    await waitFor(() => texts(bob).filter((t) => t?.startsWith('from the tarpit')).length >= 40, 'the contact’s messages at bob', 30_000);
    // Receipts pile up against the tarpit: 40 of them, each allowed many attempts.
    await waitFor(() => tarpitConnections - connectionsBefore >= 3, 'the tarpit drawing connections', 30_000);
    for (let n = 0; n < 3; n++) {
      const ackId = await say(alice, aliceId, bobId, `while-stalled-${n}`, `still talking ${n}`);
      await waitFor(() => texts(bob).includes(`still talking ${n}`), `message ${n} at bob while the tarpit holds connections`, 30_000);
      await waitFor(() => receiptIds(alice).includes(ackId), `receipt ${n} at alice`, 30_000);
      await say(bob, bobId, aliceId, `answer-${n}`, `answer ${n}`);
      await waitFor(() => texts(alice).includes(`answer ${n}`), `answer ${n} at alice`, 30_000);
    }
    await new Promise((resolve) => setTimeout(resolve, 3000));
    // At most one pool's share of the tarpit at once, and the breaker keeps it from drawing more.
    expect(tarpitMostAtOnce).toBeLessThanOrEqual(4);
    expect(tarpitConnections - connectionsBefore).toBeLessThanOrEqual(12);
    if (filesBefore > 0) expect(openFiles() - filesBefore).toBeLessThan(50);
    expect(recorded).toEqual([]);
  });
});
