import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from 'undici';
import { DropClient } from '../../electron/core/net/dropClient.js';
import { generateNativeKeyPair } from '../../electron/core/state/nativeKeyPair.js';
import { craftPdu } from './helpers/craft.js';
import { type ServerProcess, startServerProcess } from './helpers/serverProcess.js';
import { type TestEngine, removeDir, startTestEngine } from './helpers/testEngine.js';
import { waitFor } from './helpers/waitFor.js';

const FOREIGN = 2000;

/** Every message of a drop, following the server's pages. */
async function fetchAll(client: DropClient, dropUrl: string): Promise<Uint8Array[]> {
  const bodies: Uint8Array[] = [];
  let since: string | null = null;
  for (let page = 0; page < 10; page++) {
    const result = await client.fetch(dropUrl, since);
    if (result.status !== 'messages') break;
    bodies.push(...result.items.map((item) => item.body));
    since = result.latest;
  }
  return bodies;
}
const OURS = 20;

describe('a shared drop full of messages for others', () => {
  let server: ServerProcess;
  let bob: TestEngine;
  const dispatcher = new Agent({ connections: 8 });

  beforeAll(async () => {
    server = await startServerProcess();
  });
  afterAll(async () => {
    await bob?.close();
    await server?.stop();
    await dispatcher.close();
    if (bob) removeDir(bob.dataDir);
  });

  it(`delivers exactly our ${OURS} of ${FOREIGN + OURS} messages, in order`, { timeout: 120_000 }, async () => {
    bob = await startTestEngine({ workers: 2, autoPoll: false });
    // A reduced drop ID range is how strangers end up sharing one drop.
    const bobId = await bob.call('identities/create', { alias: 'bob', serverUrl: server.url, dropBits: 4 });
    const client = new DropClient({ dispatcher, timeoutMs: 10_000 });
    const sender = generateNativeKeyPair();
    const strangers = Array.from({ length: 8 }, () => generateNativeKeyPair());
    const ourEvery = (FOREIGN + OURS) / OURS;
    const pdus: Uint8Array[] = [];
    for (let i = 0, ours = 0; i < FOREIGN + OURS; i++) {
      const forUs = i % ourEvery === ourEvery - 1;
      const to = forUs ? bobId.publicKey : Buffer.from(strangers[i % strangers.length]!.publicKey).toString('hex');
      pdus.push(await craftPdu({ from: sender, to, text: forUs ? `ours ${ours++}` : `theirs ${i}` }));
    }
    for (let start = 0; start < pdus.length; start += 50) {
      await Promise.all(pdus.slice(start, start + 50).map((pdu) => client.post(bobId.dropUrls[0]!, pdu)));
    }
    // Posted concurrently in groups: the server's order within a group may differ from ours.
    const stored = await fetchAll(client, bobId.dropUrls[0]!);
    expect(stored).toHaveLength(FOREIGN + OURS);

    await bob.engine.fetchOnce();
    const batch = await waitFor(() => bob.of('inbox/batch')[0], 'the batch');
    const serverOrder = stored.map((body) => Buffer.from(body).toString('base64'));
    const expected = pdus
      .map((pdu, i) => ({ text: i % ourEvery === ourEvery - 1 ? `ours ${Math.floor(i / ourEvery)}` : null, at: serverOrder.indexOf(Buffer.from(pdu).toString('base64')) }))
      .filter((entry) => entry.text !== null)
      .sort((a, b) => a.at - b.at)
      .map((entry) => entry.text);
    expect(batch.messages.map((m) => m.text)).toEqual(expected);
    expect(new Set(batch.messages.map((m) => m.text)).size).toBe(OURS);
  });
});
