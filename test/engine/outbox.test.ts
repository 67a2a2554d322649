import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { STATE_FILE_NAME } from '../../electron/core/state/stateSchema.js';
import { Agent } from 'undici';
import type { IdentitySummary } from '../../shared/ipc/contract.js';
import { DropClient } from '../../electron/core/net/dropClient.js';
import { type ServerProcess, startServerProcess } from './helpers/serverProcess.js';
import { type TestEngine, removeDir, startTestEngine, tempDir } from './helpers/testEngine.js';
import { waitFor } from './helpers/waitFor.js';

const dispatcher = new Agent();
const raw = new DropClient({ dispatcher, timeoutMs: 5000 });
afterAll(() => dispatcher.close());

describe('outbox idempotency, restarts and cancellation', () => {
  let dbDir: string;
  let dataDir: string;
  let server: ServerProcess;
  let alice: TestEngine;
  let aliceId: IdentitySummary;
  let bobId: IdentitySummary;

  const storedAtBob = async () => {
    const result = await raw.fetch(bobId.dropUrls[0]!, null);
    return result.status === 'messages' ? result.items.map((item) => Buffer.from(item.body).toString('base64')) : [];
  };
  const send = (localId: string, dropUrls = bobId.dropUrls) =>
    alice.call('messages/send', { identityId: aliceId.id, localId, recipient: { publicKey: bobId.publicKey, dropUrls }, text: `message ${localId}` });
  const statusOf = (localId: string, status: string) => alice.of('outbox/status').find((s) => s.localId === localId && s.status === status);

  beforeAll(async () => {
    dbDir = tempDir('deaddrop-db-');
    dataDir = tempDir();
    server = await startServerProcess(`sqlite:${join(dbDir, 'drops.db')}`);
    alice = await startTestEngine({ dataDir, autoPoll: false });
    aliceId = await alice.call('identities/create', { alias: 'alice', serverUrl: server.url });
    bobId = await alice.call('identities/create', { alias: 'bob', serverUrl: server.url });
  });
  afterAll(async () => {
    await alice?.close();
    await server?.stop();
    for (const dir of [dbDir, dataDir]) if (dir) removeDir(dir);
  });

  it('never posts a message twice when it is re-submitted after a restart', async () => {
    const first = await send('once');
    await waitFor(() => statusOf('once', 'posted'), 'posted');
    await alice.close();
    alice = await startTestEngine({ dataDir, autoPoll: false });
    expect(await send('once')).toEqual(first);
    await waitFor(() => statusOf('once', 'posted'), 'posted again reported');
    expect(await storedAtBob()).toHaveLength(1);
  });

  it('resumes an unfinished send after a restart with the very same bytes', async () => {
    await server.stop();
    const accepted = await send('resumed');
    await waitFor(() => alice.of('outbox/status').find((s) => s.localId === 'resumed' && (s.attempt ?? 0) >= 2), 'retrying');
    await alice.close();
    const state = JSON.parse(readFileSync(join(dataDir, STATE_FILE_NAME), 'utf8')) as { outbox: Record<string, { pieces: { sealed: string[] }[] }> };
    // Bob has one server: one box (one copy), sealed before the first attempt.
    const [pending] = state.outbox['resumed']!.pieces[0]!.sealed;
    await server.restart();
    alice = await startTestEngine({ dataDir, autoPoll: false });
    expect(await send('resumed')).toEqual(accepted);
    await waitFor(() => statusOf('resumed', 'posted'), 'posted after restart');
    const stored = await storedAtBob();
    expect(stored).toHaveLength(2);
    expect(stored[1]).toBe(pending);
  });

  it('cancels a pending message, which then never goes out', async () => {
    await server.stop();
    await send('cancel-me');
    await waitFor(() => statusOf('cancel-me', 'sending'), 'sending');
    expect(await alice.call('messages/cancel', { localId: 'cancel-me' })).toEqual({ cancelled: true });
    expect(statusOf('cancel-me', 'cancelled')).toBeTruthy();
    expect(await alice.call('messages/cancel', { localId: 'cancel-me' })).toEqual({ cancelled: false });
    await server.restart();
    await send('cancel-me');
    await send('after-cancel');
    await waitFor(() => statusOf('after-cancel', 'posted'), 'next message posted');
    expect(await storedAtBob()).toHaveLength(3);
    expect(statusOf('cancel-me', 'posted')).toBeUndefined();
  });

  it('reports failed when every drop URL refuses the message for good', async () => {
    await send('refused', [`${server.url}/not-a-drop-id`]);
    const failed = await waitFor(() => statusOf('refused', 'failed'), 'failed');
    expect(failed.error).toMatch(/HTTP 400/);
  });

  it('tries the next drop URL when the first one does not answer', async () => {
    await send('fallback', ['http://127.0.0.1:9/' + bobId.dropUrls[0]!.split('/').at(-1), bobId.dropUrls[0]!]);
    await waitFor(() => statusOf('fallback', 'posted'), 'posted via the second URL');
    expect(await storedAtBob()).toHaveLength(4);
  });
});

describe('outbox under concurrent submissions', () => {
  it('posts once when the same localId is submitted twice at the same time', async () => {
    const server = await startServerProcess();
    const engine = await startTestEngine({ autoPoll: false });
    try {
      const me = await engine.call('identities/create', { alias: 'me', serverUrl: server.url });
      const request = { identityId: me.id, localId: 'twice', recipient: { publicKey: me.publicKey, dropUrls: me.dropUrls }, text: 'twice' };
      const [a, b] = await Promise.all([engine.call('messages/send', request), engine.call('messages/send', request)]);
      expect(a).toEqual(b);
      await waitFor(() => engine.of('outbox/status').find((s) => s.localId === 'twice' && s.status === 'posted'), 'posted');
      const stored = await raw.fetch(me.dropUrls[0]!, null);
      expect(stored.status === 'messages' && stored.items.length).toBe(1);
    } finally {
      await engine.close();
      await server.stop();
      removeDir(engine.dataDir);
    }
  });
});
