/**
 * A drop the user removes is still read for RETIRED_DROP_READ_MS: a contact who posts there before
 * hearing of the change loses nothing; afterwards the drop is left alone. A backup made during a move's
 * overlap keeps the drop being moved away from: the restored identity reads it (from the backup's
 * cursor) until the end of the overlap.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentitySummary } from '../../shared/ipc/contract.js';
import { RETIRED_DROP_READ_MS } from '../../electron/core/state/identityDrops.js';
import { type ServerProcess, startServerProcess } from './helpers/serverProcess.js';
import { type TestEngine, removeDir, startTestEngine } from './helpers/testEngine.js';
import { receiveAndAck } from './helpers/receive.js';
import { waitFor } from './helpers/waitFor.js';

let server: ServerProcess;
let other: ServerProcess;
let alice: TestEngine;
let bob: TestEngine;
let aliceId: IdentitySummary;
let bobId: IdentitySummary;
let time = Date.now();

beforeAll(async () => {
  [server, other] = await Promise.all([startServerProcess(), startServerProcess()]);
  alice = await startTestEngine();
  bob = await startTestEngine({ clock: { now: () => time } });
  aliceId = await alice.call('identities/create', { alias: 'alice', serverUrl: server.url });
  bobId = await bob.call('identities/create', { alias: 'bob', serverUrl: server.url });
});

afterAll(async () => {
  await alice?.close();
  await bob?.close();
  await server?.stop();
  await other?.stop();
  for (const e of [alice, bob]) if (e) removeDir(e.dataDir);
});

describe('a removed drop', () => {
  it('is read on until its time is up, then left alone', async () => {
    const oldDrop = bobId.dropUrls[0]!;
    const moved = await bob.call('identities/addDrop', { identityId: bobId.id, serverUrl: other.url });
    const after = await bob.call('identities/removeDrop', { identityId: bobId.id, dropUrl: oldDrop });
    expect(after.dropUrls).toEqual([moved.dropUrls[1]]);

    // Alice has not heard of the move: she writes to the old drop, and Bob still gets it.
    await alice.call('messages/send', { identityId: aliceId.id, localId: 'late', recipient: { publicKey: bobId.publicKey, dropUrls: [oldDrop] }, text: 'to the old drop' });
    const [late] = await receiveAndAck(bob, 1, 'the message at the old drop');
    expect(late).toMatchObject({ text: 'to the old drop', dropUrl: oldDrop });
    expect((await bob.call('servers/status', {})).map((s) => s.serverUrl).sort()).toEqual([server.url, other.url].sort());

    // Once the time is up (and the poller looks again), the old drop is no longer read.
    time += RETIRED_DROP_READ_MS + 1;
    await bob.call('identities/rename', { identityId: bobId.id, alias: 'bob' });
    await bob.call('identities/addDrop', { identityId: bobId.id, serverUrl: other.url });
    await waitFor(async () => ((await bob.call('servers/status', {})).every((s) => s.serverUrl === other.url) ? true : null), 'old server dropped');
    await alice.call('messages/send', { identityId: aliceId.id, localId: 'too-late', recipient: { publicKey: bobId.publicKey, dropUrls: [oldDrop] }, text: 'too late' });
    await waitFor(() => alice.of('outbox/status').find((s) => s.localId === 'too-late' && s.status === 'posted'), 'posted');
    await bob.call('poller/pollNow', {});
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(bob.of('inbox/batch').flatMap((b) => b.messages).some((m) => m.text === 'too late')).toBe(false);
  });
});

const BACKUP_PASSPHRASE = 'backup passphrase 1';
const EMPTY_UI = { contacts: [], conversations: [], messages: [], textParts: [], seen: [] };

async function exportBackup(e: TestEngine, identityId: string): Promise<Buffer> {
  const { transferId } = await e.call('backup/exportBegin', { identityId, includeHistory: false });
  await e.call('backup/upload', { transferId, offset: 0, data: Buffer.from(JSON.stringify(EMPTY_UI)).toString('base64url') });
  const { size } = await e.call('backup/exportSeal', { transferId, passphrase: BACKUP_PASSPHRASE });
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < size; ) {
    const chunk = Buffer.from((await e.call('backup/download', { transferId, offset })).data, 'base64url');
    chunks.push(chunk);
    offset += chunk.length;
  }
  await e.call('backup/discard', { transferId });
  return Buffer.concat(chunks);
}

async function restoreBackup(e: TestEngine, file: Buffer): Promise<IdentitySummary> {
  const { transferId } = await e.call('backup/importBegin', {});
  await e.call('backup/upload', { transferId, offset: 0, data: file.toString('base64url') });
  await e.call('backup/importOpen', { transferId, passphrase: BACKUP_PASSPHRASE });
  return e.call('backup/importCommit', { transferId });
}

describe('a backup made during a move', () => {
  it('keeps the drop being moved away from: the restored identity reads it from the backup cursor until the overlap ends', async () => {
    const carol = await startTestEngine({ protocolV1: false });
    const restoredHere = await startTestEngine({ protocolV1: false });
    try {
      const carolId = await carol.call('identities/create', { alias: 'carol', serverUrl: server.url });
      const oldDrop = carolId.dropUrls[0]!;
      await alice.call('messages/send', { identityId: aliceId.id, localId: 'before-backup', recipient: { publicKey: carolId.publicKey, dropUrls: [oldDrop] }, text: 'before the backup' });
      expect((await receiveAndAck(carol, 1, 'before the backup')).map((m) => m.text)).toEqual(['before the backup']);
      const moved = await carol.call('identities/moveDrop', { identityId: carolId.id, fromDropUrl: oldDrop, serverUrl: other.url });
      const file = await exportBackup(carol, carolId.id);

      const restored = await restoreBackup(restoredHere, file);
      expect(restored.dropUrls).toEqual(moved.dropUrls);
      expect(restored.retiringDrops).toEqual(moved.retiringDrops);
      expect((await restoredHere.call('servers/status', {})).map((s) => s.serverUrl).sort()).toEqual([server.url, other.url].sort());

      // A contact who missed the move writes to the old drop: the restored device gets it, and not what
      // the backup's cursor had already passed.
      await alice.call('messages/send', { identityId: aliceId.id, localId: 'after-restore', recipient: { publicKey: carolId.publicKey, dropUrls: [oldDrop] }, text: 'to the old drop after the restore' });
      const [late] = await receiveAndAck(restoredHere, 1, 'the old drop read after the restore');
      expect(late).toMatchObject({ text: 'to the old drop after the restore', dropUrl: oldDrop });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(restoredHere.of('inbox/batch').flatMap((b) => b.messages).map((m) => m.text)).toEqual(['to the old drop after the restore']);
    } finally {
      for (const e of [carol, restoredHere]) {
        await e.close();
        removeDir(e.dataDir);
      }
    }
  });
});

