/**
 * The command-line client and the app, as real processes and a real engine against a real drop server.
 * The CLI keeps no state between runs, so it must look like a version-0 client everywhere: its cards
 * carry no prekey, its messages offer no version 1, so the app writes to it in version 0 and every
 * message reaches `deaddrop fetch`, whichever side wrote first.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentitySummary, IncomingMessage, Recipient } from '../../shared/ipc/contract.js';
import { parseContactInput } from '../../shared/protocol/contacts.js';
import { deaddrop, lines } from './helpers/cliRun.js';
import { type ServerProcess, startServerProcess } from './helpers/serverProcess.js';
import { type TestEngine, removeDir, startTestEngine, tempDir } from './helpers/testEngine.js';
import { waitFor } from './helpers/waitFor.js';

interface FetchedLine {
  kind: string;
  senderKey: string;
  text?: string | null;
  type?: string;
}

async function fetchJson(idFile: string, since?: string): Promise<{ items: FetchedLine[]; cursor: string }> {
  const run = await deaddrop(['fetch', '--id', idFile, '--json', ...(since ? ['--since', since] : [])]);
  expect(run.code, run.stderr).toBe(0);
  const out = lines(run);
  return { items: out.slice(0, -1).map((line) => JSON.parse(line) as FetchedLine), cursor: out.at(-1)!.split(' ')[1]! };
}

describe('command-line client and app', { timeout: 180_000 }, () => {
  let server: ServerProcess;
  let dir: string;
  let app: TestEngine;
  let alice: IdentitySummary;
  const file = (name: string) => join(dir, name);
  const acked = new Set<string>();

  /** Sends from the app and waits until the drop took it, so the next `deaddrop fetch` finds it. */
  async function appSends(recipient: Recipient, text: string): Promise<void> {
    const localId = crypto.randomUUID();
    await app.call('messages/send', { identityId: alice.id, localId, recipient, text, wantReceipt: true });
    await waitFor(() => app.of('outbox/status').find((s) => s.localId === localId && s.status === 'posted'), `the app posting "${text}"`, 30_000);
  }

  /** The messages from `senderKey` the app received, once there are `count`; every batch is acknowledged as the UI does. */
  function appReceives(senderKey: string, count: number): Promise<IncomingMessage[]> {
    return waitFor(async () => {
      for (const batch of app.of('inbox/batch')) {
        if (acked.has(batch.batchId)) continue;
        acked.add(batch.batchId);
        await app.call('inbox/ack', { batchId: batch.batchId, receipts: [] });
      }
      const unique = new Map(app.of('inbox/batch').flatMap((b) => b.messages).filter((m) => m.senderKey === senderKey).map((m) => [m.dedupeKey, m]));
      return unique.size >= count ? [...unique.values()] : null;
    }, `${count} messages from ${senderKey.slice(0, 8)} at the app`, 30_000);
  }

  beforeAll(async () => {
    server = await startServerProcess();
    dir = tempDir('deaddrop-cli-app-');
    app = await startTestEngine();
    alice = await app.call('identities/create', { alias: 'Alice', serverUrl: server.url, dropBits: 256 });
  });
  afterAll(async () => {
    await app?.close();
    if (app) removeDir(app.dataDir);
    await server?.stop();
    if (dir) removeDir(dir);
  });

  it("CLI card: no prekey anywhere, the app writes in version 0 and deaddrop fetch shows every message", async () => {
    const created = await deaddrop(['id', 'new', '--alias', 'bob', '--server', server.url, '--out', file('bob.qid')]);
    expect(created.code, created.stderr).toBe(0);
    const card = await deaddrop(['id', 'card', '--id', file('bob.qid'), '--qco', file('bob.qco')]);
    expect(card.code, card.stderr).toBe(0);
    expect(lines(card)[0]).toBe('QABELCONTACT');
    const qco = readFileSync(file('bob.qco'), 'utf8');
    expect(qco).not.toContain('deaddrop');
    const [bob] = parseContactInput(qco);
    expect(bob!.v1).toBeUndefined();
    expect(parseContactInput(created.stdout)[0]!.v1).toBeUndefined();

    const recipient = { publicKey: bob!.publicKey, dropUrls: bob!.dropUrls };
    await appSends(recipient, 'first from the app');
    const first = await fetchJson(file('bob.qid'));
    expect(first.items.filter((m) => m.kind === 'message').map((m) => [m.senderKey, m.text])).toEqual([[alice.publicKey, 'first from the app']]);

    // Bob answers; its message must not tell the app to upgrade, so the app's next message is version 0 again.
    const aliceCard = (await app.call('identities/contactCard', { identityId: alice.id })).contactString;
    const reply = await deaddrop(['send', '--id', file('bob.qid'), '--to', aliceCard, '--text', 'reply from the CLI']);
    expect(reply.code, reply.stderr).toBe(0);
    const atApp = await appReceives(bob!.publicKey, 1);
    expect(atApp.map((m) => m.text)).toEqual(['reply from the CLI']);
    const status = await app.call('sessions/status', { identityId: alice.id });
    expect(status.sending).toBe(true);
    expect(status.contacts[bob!.publicKey]?.protocol ?? 0).toBe(0);

    for (const text of ['second from the app', 'third from the app']) {
      await appSends(recipient, text);
    }
    const next = await fetchJson(file('bob.qid'), first.cursor);
    expect(next.items.filter((m) => m.kind === 'message').map((m) => m.text)).toEqual(['second from the app', 'third from the app']);
    expect((await app.call('sessions/status', { identityId: alice.id })).contacts[bob!.publicKey]?.protocol ?? 0).toBe(0);
  });

  it("CLI writes first to the app's DEADDROP1 code and .qco: no session from the app's prekey, and the CLI reads the answer", async () => {
    const created = await deaddrop(['id', 'new', '--alias', 'carol', '--server', server.url, '--out', file('carol.qid')]);
    expect(created.code, created.stderr).toBe(0);
    const carol = parseContactInput(created.stdout)[0]!;
    const aliceCard = await app.call('identities/contactCard', { identityId: alice.id });
    expect(aliceCard.v1ContactString.startsWith('DEADDROP1')).toBe(true);
    const qcoPath = file('alice.qco');
    writeFileSync(qcoPath, aliceCard.qco);

    const viaCode = await deaddrop(['send', '--id', file('carol.qid'), '--to', aliceCard.v1ContactString, '--text', 'hello via DEADDROP1']);
    expect(viaCode.code, viaCode.stderr).toBe(0);
    const viaQco = await deaddrop(['send', '--id', file('carol.qid'), '--to', qcoPath, '--text', 'hello via .qco']);
    expect(viaQco.code, viaQco.stderr).toBe(0);
    const received = await appReceives(carol.publicKey, 2);
    expect(received.map((m) => m.text).sort()).toEqual(['hello via .qco', 'hello via DEADDROP1']);
    // Had the CLI used the app's prekey, the app would now believe in a forward-secret session with carol.
    expect((await app.call('sessions/status', { identityId: alice.id })).contacts[carol.publicKey]?.protocol ?? 0).toBe(0);

    await appSends({ publicKey: carol.publicKey, dropUrls: carol.dropUrls }, 'answer from the app');
    const atCarol = await fetchJson(file('carol.qid'));
    expect(atCarol.items.filter((m) => m.kind === 'message').map((m) => [m.senderKey, m.text])).toEqual([[alice.publicKey, 'answer from the app']]);
  });

  it('a forward-secret message the CLI can open (a session keyed with its identity key) is shown, and stderr says the rest of that session cannot be', async () => {
    const created = await deaddrop(['id', 'new', '--alias', 'dave', '--server', server.url, '--out', file('dave.qid')]);
    expect(created.code, created.stderr).toBe(0);
    const dave = parseContactInput(created.stdout)[0]!;
    // The same identity in an app that speaks version 1 tells Alice's app so (`dd` in its message).
    const daveApp = await startTestEngine();
    try {
      const imported = await daveApp.call('identities/import', { backup: readFileSync(file('dave.qid'), 'utf8'), passphrase: 'cli test passphrase' });
      const localId = crypto.randomUUID();
      await daveApp.call('messages/send', { identityId: imported.id, localId, recipient: { publicKey: alice.publicKey, dropUrls: alice.dropUrls }, text: 'from the app of dave', wantReceipt: false });
      await waitFor(() => daveApp.of('outbox/status').find((s) => s.localId === localId && s.status === 'posted'), "dave's app posting", 30_000);
    } finally {
      await daveApp.close();
      removeDir(daveApp.dataDir);
    }
    await appReceives(dave.publicKey, 1);
    await appSends({ publicKey: dave.publicKey, dropUrls: dave.dropUrls }, 'in a session');

    const run = await deaddrop(['fetch', '--id', file('dave.qid'), '--json']);
    expect(run.code, run.stderr).toBe(0);
    const shown = lines(run).slice(0, -1).map((line) => JSON.parse(line) as FetchedLine);
    expect(shown.filter((m) => m.kind === 'message').map((m) => m.text)).toEqual(['in a session']);
    expect(run.stderr).toMatch(/^deaddrop: Alice \([0-9a-f]{16}\.\.\.\) wrote in a forward-secret session, which the command-line client cannot keep between runs: their next messages in it will not arrive here\./m);
  });
});
