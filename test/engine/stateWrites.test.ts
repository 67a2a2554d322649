/**
 * Batched state-file writes: changes that may lag (cursors, dedupe keys, outbox progress, receipts
 * taken off the queue) share one write within the delay; changes that must be durable (identities,
 * settings, a new outbox record, a queued receipt) are on disk when their call resolves.
 */
import { readFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { argon2id } from '../../shared/protocol/argon2id.js';
import { TEST_PASSPHRASE_LIMITS } from '../../shared/protocol/passphraseSeal.js';
import { writeFileAtomic } from '../../electron/core/state/atomicFile.js';
import { StateStore } from '../../electron/core/state/stateStore.js';
import { passphraseKeyWrap } from '../../electron/core/state/passphraseKeyWrap.js';
import { type EngineState, type OutboxRecord, STATE_FILE_NAME } from '../../electron/core/state/stateSchema.js';
import { type TestEngine, removeDir, startTestEngine, tempDir } from './helpers/testEngine.js';
import { waitFor } from './helpers/waitFor.js';

const dirs: string[] = [];
const engines: TestEngine[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const engine of engines.splice(0)) await engine.close();
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
  for (const dir of dirs.splice(0)) removeDir(dir);
});

const DROP = 'http://127.0.0.1:9/drops/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
const onDisk = (dataDir: string) => JSON.parse(readFileSync(join(dataDir, STATE_FILE_NAME), 'utf8')) as EngineState;

/** An unlocked state store in a fresh folder whose writes are recorded; `failNext` makes the next write fail. */
async function stateStoreWith(writeDelayMs: number) {
  const dataDir = tempDir('deaddrop-state-');
  dirs.push(dataDir);
  const writes: EngineState[] = [];
  let failNext = false;
  const stateStore = await StateStore.load(dataDir, passphraseKeyWrap(TEST_PASSPHRASE_LIMITS, argon2id), {
    writeDelayMs,
    writeFile: async (path, contents) => {
      if (failNext) {
        failNext = false;
        throw new Error('disk full');
      }
      await writeFileAtomic(path, contents);
      writes.push(JSON.parse(contents) as EngineState);
    },
  });
  await stateStore.unlock('secret');
  return { stateStore, dataDir, writes, failNextWrite: () => void (failNext = true) };
}

const record = (pending: number): OutboxRecord => ({
  status: 'sending',
  identityId: 'i',
  acknowledgeIds: [],
  parts: 2,
  postedParts: 2 - pending,
  pendingPdus: Array.from({ length: pending }, () => 'AAAA'),
  dropUrls: [DROP],
  updatedAt: 1,
});

describe('batched state writes', () => {
  it('writes a thousand acknowledgements as one, and only cursors the consumer acknowledged', async () => {
    const { stateStore, dataDir, writes } = await stateStoreWith(60_000);
    expect(writes).toHaveLength(1); // the new state file itself is durable at once
    for (let i = 0; i < 1000; i++) await stateStore.acknowledge(DROP, `cursor-${i}`, [`key-${i}`]);
    expect(writes).toHaveLength(1);
    expect(onDisk(dataDir).cursors).toEqual({});
    await stateStore.flush();
    expect(writes).toHaveLength(2);
    expect(onDisk(dataDir).cursors).toEqual({ [DROP]: 'cursor-999' });
    expect(onDisk(dataDir).seen).toHaveLength(1000);
  });

  it('writes a lagging change within the delay without being asked again', async () => {
    const { stateStore, dataDir } = await stateStoreWith(50);
    await stateStore.acknowledge(DROP, 'later', []);
    await waitFor(() => onDisk(dataDir).cursors[DROP] === 'later', 'the cursor on disk');
  });

  it('has a new outbox record, a queued receipt and settings on disk when the call resolves, lagging changes with them', async () => {
    const { stateStore, dataDir, writes } = await stateStoreWith(60_000);
    await stateStore.acknowledge(DROP, 'lagging', []);
    await stateStore.putOutboxRecord('new', record(2));
    expect(onDisk(dataDir).outbox['new']!.pendingPdus).toHaveLength(2);
    expect(onDisk(dataDir).cursors[DROP]).toBe('lagging');
    // Progress of a record already on disk may lag: a part posted again carries the same bytes.
    await stateStore.putOutboxRecord('new', record(1));
    expect(onDisk(dataDir).outbox['new']!.pendingPdus).toHaveLength(2);
    const receipt = { identityId: 'i', recipientKey: 'a'.repeat(64), dropUrls: [DROP], acknowledgeId: 'ack', queuedAt: 1 };
    await stateStore.queueReceipt(receipt);
    expect(onDisk(dataDir).receipts).toEqual([receipt]);
    expect(onDisk(dataDir).outbox['new']!.pendingPdus).toHaveLength(1);
    await stateStore.removeReceipt(receipt);
    expect(onDisk(dataDir).receipts).toHaveLength(1);
    await stateStore.setSettings({ ...stateStore.settings(), pollIntervalMs: 5000 });
    expect(onDisk(dataDir)).toMatchObject({ receipts: [], settings: { pollIntervalMs: 5000 } });
    expect(writes).toHaveLength(4);
  });

  it('keeps changes whose write failed pending, and writes them with the next one', async () => {
    const { stateStore, dataDir, failNextWrite } = await stateStoreWith(60_000);
    await stateStore.acknowledge(DROP, 'kept', []);
    failNextWrite();
    await expect(stateStore.flush()).rejects.toThrow('disk full');
    await stateStore.flush();
    expect(onDisk(dataDir).cursors[DROP]).toBe('kept');
  });

  it('writes every change before its call resolves with a delay of 0 (the unbatched behaviour)', async () => {
    const { stateStore, writes } = await stateStoreWith(0);
    for (let i = 0; i < 5; i++) await stateStore.acknowledge(DROP, `cursor-${i}`, []);
    expect(writes.map((state) => state.cursors[DROP])).toEqual([undefined, 'cursor-0', 'cursor-1', 'cursor-2', 'cursor-3', 'cursor-4']);
  });

  it('has an outbox record on disk before the first POST of its message', async () => {
    const engine = await startTestEngine({ autoPoll: false });
    engines.push(engine);
    const seenAtPost: (number | null)[] = [];
    const server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        if (request.method === 'POST') seenAtPost.push(onDisk(engine.dataDir).outbox['first-post']?.pieces.length ?? null);
        response.writeHead(200).end();
      });
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // An own drop on this server makes it a server the engine may contact on this computer.
    const me = await engine.call('identities/create', { alias: 'me', serverUrl, dropBits: 256 });
    await engine.call('messages/send', {
      identityId: me.id,
      localId: 'first-post',
      recipient: { publicKey: me.publicKey, dropUrls: me.dropUrls },
      text: 'x'.repeat(5000), // several parts
    });
    await waitFor(() => engine.of('outbox/status').find((s) => s.localId === 'first-post' && s.status === 'posted'), 'posted');
    expect(seenAtPost.length).toBeGreaterThan(1);
    expect(seenAtPost[0]).toBe(seenAtPost.length);
  });
});
