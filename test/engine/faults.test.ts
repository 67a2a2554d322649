import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Agent } from 'undici';
import type { IdentitySummary } from '../../shared/ipc/contract.js';
import { DropClient } from '../../electron/core/net/dropClient.js';
import { generateNativeKeyPair } from '../../electron/core/state/nativeKeyPair.js';
import { craftPdu, randomPdu } from './helpers/craft.js';
import { type ServerProcess, startServerProcess } from './helpers/serverProcess.js';
import { type TestEngine, removeDir, startTestEngine, tempDir } from './helpers/testEngine.js';
import { waitFor } from './helpers/waitFor.js';

const dispatcher = new Agent();
const raw = new DropClient({ dispatcher, timeoutMs: 5000 });
afterAll(() => dispatcher.close());

async function rawCount(dropUrl: string): Promise<number> {
  const result = await raw.fetch(dropUrl, null);
  return result.status === 'messages' ? result.items.length : 0;
}

const texts = (engine: TestEngine) => engine.of('inbox/batch').flatMap((b) => b.messages.map((m) => m.text));

describe('faults: server down and restarted', () => {
  let dbDir: string;
  let server: ServerProcess;
  let alice: TestEngine;
  let bob: TestEngine;
  let bobId: IdentitySummary;
  let aliceId: IdentitySummary;

  beforeAll(async () => {
    dbDir = tempDir('deaddrop-db-');
    server = await startServerProcess(`sqlite:${join(dbDir, 'drops.db')}`);
    alice = await startTestEngine();
    bob = await startTestEngine();
    aliceId = await alice.call('identities/create', { alias: 'alice', serverUrl: server.url });
    bobId = await bob.call('identities/create', { alias: 'bob', serverUrl: server.url });
    await bob.call('settings/set', { pollIntervalMs: 1000 });
  });
  afterAll(async () => {
    await alice?.close();
    await bob?.close();
    await server?.stop();
    for (const dir of [dbDir, alice?.dataDir, bob?.dataDir]) if (dir) removeDir(dir);
  });

  it('retries a send while the server is down and posts it exactly once when it is back', async () => {
    await server.stop();
    await alice.call('messages/send', {
      identityId: aliceId.id,
      localId: 'while-down',
      recipient: { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls },
      text: 'sent while the server was down',
    });
    await waitFor(() => alice.of('outbox/status').find((s) => s.localId === 'while-down' && (s.attempt ?? 0) >= 3), 'three attempts');
    expect(alice.of('outbox/status').some((s) => s.localId === 'while-down' && s.status === 'posted')).toBe(false);
    await server.restart();
    await waitFor(() => alice.of('outbox/status').find((s) => s.localId === 'while-down' && s.status === 'posted'), 'posted', 20_000);
    // Re-submitting the same localId does not post again.
    await alice.call('messages/send', {
      identityId: aliceId.id,
      localId: 'while-down',
      recipient: { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls },
      text: 'sent while the server was down',
    });
    expect(await rawCount(bobId.dropUrls[0]!)).toBe(1);
  });

  it('keeps polling across a server restart and delivers what arrives afterwards', async () => {
    await waitFor(() => texts(bob).includes('sent while the server was down'), 'first message at bob', 20_000);
    await server.stop();
    await waitFor(() => bob.of('servers/status').some((list) => list.some((s) => s.reachable === false)), 'bob sees the server down');
    await server.restart();
    await alice.call('messages/send', {
      identityId: aliceId.id,
      localId: 'after-restart',
      recipient: { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls },
      text: 'after the restart',
    });
    await waitFor(() => texts(bob).includes('after the restart'), 'message after restart', 20_000);
  });
});

describe('faults: at-least-once delivery, duplicates and hostile PDUs', () => {
  let server: ServerProcess;
  let bob: TestEngine;
  let bobId: IdentitySummary;
  const stranger = generateNativeKeyPair();

  beforeAll(async () => {
    server = await startServerProcess();
    bob = await startTestEngine();
    bobId = await bob.call('identities/create', { alias: 'bob', serverUrl: server.url });
  });
  afterAll(async () => {
    await bob?.close();
    await server?.stop();
    if (bob) removeDir(bob.dataDir);
  });

  const settle = async () => {
    await bob.call('poller/pollNow', {});
    await bob.engine.settled();
  };

  it('redelivers a batch the consumer never acknowledged, and stops after the acknowledgement', async () => {
    await raw.post(bobId.dropUrls[0]!, await craftPdu({ from: stranger, to: bobId.publicKey, text: 'unacked', acknowledgeId: 'ack-unacked' }));
    await waitFor(() => bob.of('inbox/batch').length >= 1, 'first delivery');
    await settle();
    const batches = bob.of('inbox/batch').filter((b) => b.messages.some((m) => m.text === 'unacked'));
    expect(batches.length).toBeGreaterThanOrEqual(2);
    await bob.call('inbox/ack', { batchId: batches.at(-1)!.batchId });
    const before = bob.of('inbox/batch').length;
    await settle();
    expect(bob.of('inbox/batch').length).toBe(before);
  });

  it('never surfaces a duplicate twice, before or after the acknowledgement', async () => {
    const pdu = await craftPdu({ from: stranger, to: bobId.publicKey, text: 'once only' });
    await raw.post(bobId.dropUrls[0]!, pdu);
    await raw.post(bobId.dropUrls[0]!, pdu);
    const batch = await waitFor(() => bob.of('inbox/batch').find((b) => b.messages.some((m) => m.text === 'once only')), 'duplicate batch');
    expect(batch.messages.filter((m) => m.text === 'once only')).toHaveLength(1);
    await bob.call('inbox/ack', { batchId: batch.batchId });
    await raw.post(bobId.dropUrls[0]!, pdu);
    const before = bob.of('inbox/batch').length;
    await settle();
    expect(bob.of('inbox/batch').length).toBe(before);
  });

  it('skips truncated, oversized, wrong-version, malformed and forged PDUs and keeps polling', async () => {
    const dropUrl = bobId.dropUrls[0]!;
    const valid = await craftPdu({ from: stranger, to: bobId.publicKey, text: 'valid after garbage' });
    const garbage = [
      valid.subarray(0, 1000),
      randomPdu(2573),
      Uint8Array.from(valid, (byte, i) => (i === 0 ? 1 : byte)),
      randomPdu(2149),
      await craftPdu({ from: stranger, to: bobId.publicKey, text: 'version two', version: 2 }),
      await craftPdu({ from: stranger, to: bobId.publicKey, text: 'forged', claimedSender: 'ab'.repeat(32) }),
    ];
    for (const pdu of garbage) await raw.post(dropUrl, pdu);
    await raw.post(dropUrl, valid);
    const batch = await waitFor(() => bob.of('inbox/batch').find((b) => b.messages.some((m) => m.text === 'valid after garbage')), 'valid message');
    expect(batch.messages.map((m) => m.text)).toEqual(['valid after garbage']);
    await bob.call('inbox/ack', { batchId: batch.batchId });
    await raw.post(dropUrl, await craftPdu({ from: stranger, to: bobId.publicKey, text: 'still polling' }));
    await waitFor(() => texts(bob).includes('still polling'), 'poller alive');
  });
});
