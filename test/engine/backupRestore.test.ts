/**
 * A restored identity resumes polling from the backup's cursors: the engine itself delivers none of
 * the messages read before the backup again (the UI's duplicate check is not what hides them), and
 * delivers what arrived after it. Through the engine's `backup/*` channels against a real server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentitySummary } from '../../shared/ipc/contract.js';
import { type SpawnedDropServer, spawnDropServer } from '../../server/index.js';
import { repoRoot } from './helpers/serverProcess.js';
import { type TestEngine, removeDir, startTestEngine } from './helpers/testEngine.js';
import { receiveAndAck } from './helpers/receive.js';
import { waitFor } from './helpers/waitFor.js';

const BACKUP_PASSPHRASE = 'backup passphrase 1';
const EMPTY_UI = { contacts: [], conversations: [], messages: [], textParts: [], seen: [] };

let server: SpawnedDropServer;
const engines: TestEngine[] = [];
async function engine(): Promise<TestEngine> {
  const started = await startTestEngine();
  engines.push(started);
  return started;
}

beforeAll(async () => {
  server = await spawnDropServer({
    command: process.execPath,
    args: ['--import', 'tsx', 'server/cli.ts', '--port', '0', '--db', 'sqlite::memory:', '--log-level', 'error'],
    cwd: repoRoot,
    startTimeoutMs: 20_000,
  });
});
afterAll(async () => {
  for (const e of engines) {
    await e.close();
    removeDir(e.dataDir);
  }
  await server?.stop();
});

/** Texts delivered, each batch acknowledged as the UI does once it stored it. */
async function receivedTexts(e: TestEngine, count: number, what: string): Promise<string[]> {
  return (await receiveAndAck(e, count, what)).map((m) => m.text ?? '');
}

async function send(from: TestEngine, fromId: IdentitySummary, to: IdentitySummary, localId: string, text: string): Promise<void> {
  await from.call('messages/send', { identityId: fromId.id, localId, recipient: { publicKey: to.publicKey, dropUrls: to.dropUrls }, text });
  await waitFor(() => from.of('outbox/status').find((s) => s.localId === localId && s.status === 'posted'), `${localId} posted`);
}

async function exportBackup(e: TestEngine, identityId: string): Promise<Buffer> {
  const { transferId } = await e.call('backup/exportBegin', { identityId, includeHistory: false });
  await e.call('backup/upload', { transferId, offset: 0, data: Buffer.from(JSON.stringify(EMPTY_UI)).toString('base64url') });
  const { size } = await e.call('backup/exportSeal', { transferId, passphrase: BACKUP_PASSPHRASE });
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < size; ) {
    const { data } = await e.call('backup/download', { transferId, offset });
    const chunk = Buffer.from(data, 'base64url');
    chunks.push(chunk);
    offset += chunk.length;
  }
  await e.call('backup/discard', { transferId });
  return Buffer.concat(chunks);
}

async function restoreBackup(e: TestEngine, file: Buffer): Promise<IdentitySummary> {
  const { transferId } = await e.call('backup/importBegin', {});
  for (let offset = 0; offset < file.length; offset += 256 * 1024) {
    await e.call('backup/upload', { transferId, offset, data: file.subarray(offset, offset + 256 * 1024).toString('base64url') });
  }
  await e.call('backup/importOpen', { transferId, passphrase: BACKUP_PASSPHRASE });
  return e.call('backup/importCommit', { transferId });
}

describe('a restored identity resumes from its cursors', () => {
  it('on a fresh engine, polls deliver only what arrived after the backup', async () => {
    const [alice, bob] = [await engine(), await engine()];
    const aliceId = await alice.call('identities/create', { alias: 'alice', serverUrl: server.url });
    const bobId = await bob.call('identities/create', { alias: 'bob', serverUrl: server.url });
    for (const n of [1, 2, 3]) await send(bob, bobId, aliceId, `before-${n}`, `before ${n}`);
    expect((await receivedTexts(alice, 3, 'alice reads the first three')).sort()).toEqual(['before 1', 'before 2', 'before 3']);
    await alice.engine.settled();

    const file = await exportBackup(alice, aliceId.id);
    await alice.call('identities/delete', { identityId: aliceId.id });
    await alice.close();

    const restoredEngine = await engine();
    const restored = await restoreBackup(restoredEngine, file);
    expect(restored).toMatchObject({ publicKey: aliceId.publicKey, dropUrls: aliceId.dropUrls });
    await send(bob, bobId, aliceId, 'after-1', 'after the backup');
    expect(await receivedTexts(restoredEngine, 1, 'the restored engine reads the new message')).toContain('after the backup');
    // Polls after that find nothing old either.
    await restoredEngine.call('poller/pollNow', {});
    await restoredEngine.engine.settled();
    const texts = new Set(restoredEngine.of('inbox/batch').flatMap((b) => b.messages.map((m) => m.text)));
    expect(texts).toEqual(new Set(['after the backup']));
  });
});
