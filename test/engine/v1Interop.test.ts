/**
 * Version 1 next to version 0, between real engines over a real drop server:
 * - interop both ways with a version-0-only engine (`protocolV1: false` stands in for an old client):
 *   both read each other, the v1 engine never sends it a session PDU, receipts work both ways;
 * - a lossy run (fast-check, fixed seed, bounded): two v1 engines behind a proxy that duplicates,
 *   reorders, loses and resets POSTs; every message shown at most once and equal to what was sent.
 * Crafted original-client boxes and the original implementation's vectors are in protocolV1.test.ts and
 * test/v1/interop.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { IdentitySummary } from '../../shared/ipc/contract.js';
import { FaultProxy } from '../faults/faultProxy.js';
import { seeded } from '../faults/random.js';
import { engineKit } from './helpers/engineKit.js';
import type { TestEngine } from './helpers/testEngine.js';
import { receiveAndAck } from './helpers/receive.js';
import { waitFor } from './helpers/waitFor.js';

const kit = engineKit();
const { server } = kit;

interface User {
  engine: TestEngine;
  identity: IdentitySummary;
}

async function user(alias: string, protocolV1: boolean, serverUrl = server().url): Promise<User> {
  const engine = await kit.engine({ protocolV1 });
  return { engine, identity: await engine.call('identities/create', { alias, serverUrl }) };
}

let sends = 0;
async function send(from: User, to: IdentitySummary, text: string, wait = true): Promise<string> {
  const localId = `i-${++sends}`;
  const accepted = await from.engine.call('messages/send', { identityId: from.identity.id, localId, recipient: { publicKey: to.publicKey, dropUrls: to.dropUrls }, text });
  if (wait) await waitFor(() => from.engine.of('outbox/status').find((s) => s.localId === localId && s.status === 'posted'), `${localId} posted`);
  return accepted.acknowledgeIds[0]!;
}

const shown = (engine: TestEngine) => [...new Map(engine.of('inbox/batch').flatMap((b) => b.messages).map((m) => [m.dedupeKey, m])).values()];

/** One poll through the proxy (push does not pass it) and the UI storing what came. */
async function pump(to: User, from: User): Promise<void> {
  await to.engine.engine.fetchOnce().catch(() => undefined);
  await receiveAndAck(to.engine, 0, 'batches', from.identity);
}

async function receive(to: User, from: IdentitySummary, text: string) {
  return waitFor(async () => {
    await receiveAndAck(to.engine, 0, 'batches', from);
    return shown(to.engine).find((m) => m.text === text && m.senderKey === from.publicKey);
  }, `"${text}" received`);
}

describe('version 1 next to version 0', () => {
  it('a v1 engine and a v0-only engine read each other both ways, with receipts, and the v1 engine stays on v0 for it', async () => {
    const amy = await user('amy', true);
    const bo = await user('bo', false);
    for (let round = 0; round < 2; round++) {
      const toBo = await send(amy, bo.identity, `amy ${round}`);
      expect(await receive(bo, amy.identity, `amy ${round}`)).toMatchObject({ protocol: 0, senderProtocol: 1 });
      await waitFor(async () => {
        await receiveAndAck(amy.engine, 0, 'batches', bo.identity);
        return amy.engine.of('inbox/batch').flatMap((b) => b.receipts).find((r) => r.acknowledgeId === toBo);
      }, 'receipt at amy');
      const toAmy = await send(bo, amy.identity, `bo ${round}`);
      expect(await receive(amy, bo.identity, `bo ${round}`)).toMatchObject({ protocol: 0, senderProtocol: 0 });
      await waitFor(async () => {
        await receiveAndAck(bo.engine, 0, 'batches', amy.identity);
        return bo.engine.of('inbox/batch').flatMap((b) => b.receipts).find((r) => r.acknowledgeId === toAmy);
      }, 'receipt at bo');
    }
    // Amy's engine knows Bo never said it speaks v1: no session, version 0 forever.
    expect((await amy.engine.call('sessions/status', { identityId: amy.identity.id })).contacts[bo.identity.publicKey]).toBeUndefined();
    expect(shown(bo.engine).every((m) => m.protocol === 0)).toBe(true);
    // Bo's engine (sending off) still reads version 1: it says it does not send it.
    expect((await bo.engine.call('sessions/status', { identityId: bo.identity.id })).sending).toBe(false);
  });

  it('fast-check, lossy drop: two v1 engines behind a proxy that duplicates, reorders, loses and resets POSTs; every message shown at most once and as sent', async () => {
    const random = seeded(20261130);
    const proxy = await new FaultProxy({ target: server().url, random, now: () => Date.now() }).start();
    proxy.mode = { duplicateP: 0.2, reorderP: 0.2, reorderMaxMs: 300, lossyP: 0.1, resetP: 0.1 };
    try {
      const cat = await user('cat', true, proxy.url);
      const dan = await user('dan', true, proxy.url);
      const texts = new Map<string, string>(); // text -> sender key
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(fc.boolean(), fc.string({ minLength: 1, maxLength: 40 })), { minLength: 3, maxLength: 8 }), async (plan) => {
          for (const [fromCat, body] of plan) {
            const [from, to] = fromCat ? [cat, dan] : [dan, cat];
            const text = `${from.identity.alias} ${texts.size}: ${body}`;
            texts.set(text, from.identity.publicKey);
            await send(from, to.identity, text, false);
            // The UI stores and acknowledges as batches come (answering receipts).
            await pump(to, from);
          }
          await pump(cat, dan);
          await pump(dan, cat);
          for (const party of [cat, dan]) {
            const messages = shown(party.engine).filter((m) => m.text !== null);
            // At most once: one key per text; and each is a text its sender sent.
            const byText = new Map<string, number>();
            for (const m of messages) byText.set(m.text!, (byText.get(m.text!) ?? 0) + 1);
            for (const [text, count] of byText) {
              expect(count, `"${text}" shown ${count} times`).toBe(1);
              expect(texts.get(text), `"${text}" was never sent`).toBeDefined();
            }
            for (const m of messages) expect(m.senderKey).toBe(texts.get(m.text!));
          }
        }),
        { numRuns: 12, seed: 1130, endOnFailure: true },
      );
      // Something got through the faults, in version 1.
      await waitFor(async () => {
        await pump(cat, dan);
        await pump(dan, cat);
        return [...shown(cat.engine), ...shown(dan.engine)].some((m) => m.protocol === 1) || null;
      }, 'a version-1 message through the faults');
      expect(proxy.stats.faults.duplicate + proxy.stats.faults.reorder + proxy.stats.faults.lossy + proxy.stats.faults.reset).toBeGreaterThan(0);
      const delivered = [...shown(cat.engine), ...shown(dan.engine)].filter((m) => texts.has(m.text ?? ''));
      console.log(`lossy run: ${texts.size} messages sent, ${delivered.length} shown (${delivered.filter((m) => m.protocol === 1).length} in v1), faults ${JSON.stringify(proxy.stats.faults)}`);
    } finally {
      await proxy.close();
    }
  }, 60_000);
});
