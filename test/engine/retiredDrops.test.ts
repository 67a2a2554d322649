/**
 * A drop the user removes is still read for RETIRED_DROP_READ_MS: a contact who posts there before
 * hearing of the change loses nothing; afterwards the drop is left alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentitySummary } from '../../shared/ipc/contract.js';
import { RETIRED_DROP_READ_MS } from '../../electron/core/state/stateStore.js';
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
