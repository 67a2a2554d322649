/**
 * Ticket top-up (electron/core/spam/ticketBatches.ts) between two real engines through a real drop
 * server: Bob's drop is closed and takes one introduction a day, Alice writes him 100 messages after
 * her introduction, and Bob answers every tenth. Bob hands Alice 60 tickets with his first answer and
 * a fresh batch with a later one once the messages that came from her leave a third or fewer; so her
 * wallet never runs dry: none of her 100 messages, nor of her engine's automatic PINGs, needs a stamp
 * or an introduction, and no POST of hers is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentitySummary } from '../../shared/ipc/contract.js';
import { makeDataDir, removeDataDir, startServerProcess, type ServerProcess } from '../server/serverProcess.js';
import { metricsText, TEST_METRICS_TOKEN } from '../server/inProcessServer.js';
import { FAST_TIMING, type TestEngine, removeDir, startTestEngine } from './helpers/testEngine.js';
import { receiveAndAck } from './helpers/receive.js';
import { waitFor } from './helpers/waitFor.js';

const BITS = 10;
const MESSAGES = 100;
const ANSWER_EVERY = 10;

let dataDir: string;
let server: ServerProcess;
let alice: TestEngine;
let bob: TestEngine;

async function metric(name: string, labels: string): Promise<number> {
  const line = (await metricsText(server.url)).split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

beforeAll(async () => {
  dataDir = makeDataDir();
  server = await startServerProcess(dataDir, ['--pow-bits', String(BITS), '--intro-per-day', '1', '--metrics-token', TEST_METRICS_TOKEN, '--log-level', 'warn']);
  // Alice's engine PINGs a second after a message of Bob's she has not answered (after the tickets
  // that came with it): those go to his closed drop too.
  alice = await startTestEngine({ timing: { ...FAST_TIMING, pingDelayMs: { min: 1000, max: 1500 } } });
  bob = await startTestEngine();
});

afterAll(async () => {
  await alice?.close();
  await bob?.close();
  await server?.stop();
  for (const e of [alice, bob]) if (e) removeDir(e.dataDir);
  if (dataDir) removeDataDir(dataDir);
});

async function send(from: TestEngine, identity: IdentitySummary, to: IdentitySummary, localId: string): Promise<void> {
  await from.call('messages/send', { identityId: identity.id, localId, recipient: { publicKey: to.publicKey, dropUrls: to.dropUrls }, text: localId, wantReceipt: false });
  await waitFor(() => from.of('outbox/status').find((s) => s.localId === localId && s.status === 'posted'), `${localId} posted`);
}

describe('ticket top-up', () => {
  it('a contact writing 100 messages is handed fresh tickets before its wallet is empty', async () => {
    await bob.call('settings/set', { closedDrops: true });
    const bobId = await bob.call('identities/create', { alias: 'bob', serverUrl: server.url, dropBits: 256 });
    const aliceId = await alice.call('identities/create', { alias: 'alice', serverUrl: server.url, dropBits: 256 });
    const handOuts = () => new Set(bob.of('outbox/status').filter((s) => s.localId.startsWith('tickets-') && s.status === 'posted').map((s) => s.localId)).size;

    await send(alice, aliceId, bobId, 'a-0');
    await receiveAndAck(bob, 1, 'bob has the introduction');
    let answers = 0;
    const answer = async () => {
      await send(bob, bobId, aliceId, `b-${answers}`);
      answers++;
      // Tickets due go out beside the answer, as messages of their own: let them be posted.
      await new Promise((resolve) => setTimeout(resolve, 200));
      await waitFor(() => {
        const ticketJobs = new Set(bob.of('outbox/status').filter((s) => s.localId.startsWith('tickets-')).map((s) => s.localId));
        const posted = new Set(bob.of('outbox/status').filter((s) => s.localId.startsWith('tickets-') && s.status === 'posted').map((s) => s.localId));
        return ticketJobs.size === posted.size || null;
      }, 'tickets handed out');
      await receiveAndAck(alice, answers, `alice has answer ${answers}`);
      // The wallet fills in the background after the batch that brought the tickets.
      await alice.engine.fetchOnce();
      await new Promise((resolve) => setTimeout(resolve, 300));
    };
    await answer();
    expect(handOuts()).toBe(1);

    for (let i = 1; i <= MESSAGES; i++) {
      await send(alice, aliceId, bobId, `a-${i}`);
      if (i % ANSWER_EVERY === 0) {
        await receiveAndAck(bob, i + 1, `bob has ${i + 1} messages`);
        await answer();
      }
    }

    // Alice leaves Bob's last answer unanswered: her engine PINGs him, with a ticket.
    await waitFor(async () => ((await metric('deaddrop_posts_admitted_total', '{via="ticket"}')) > MESSAGES ? true : null), 'a PING posted with a ticket');

    // More than the first 60 tickets were needed, and none of Alice's POSTs after her introduction
    // went without one: the only refusal is her introduction's first try (401, then stamped).
    expect(handOuts()).toBeGreaterThanOrEqual(2);
    expect(alice.of('outbox/stampProgress').filter((p) => p.localId !== 'a-0')).toEqual([]);
    expect(await metric('deaddrop_posts_admitted_total', '{via="intro"}')).toBe(1);
    expect(await metric('deaddrop_posts_refused_spam_total', '{reason="ticket_required"}')).toBe(1);
    for (const reason of ['ticket_spent', 'pow_required', 'intro_quota']) {
      expect(await metric('deaddrop_posts_refused_spam_total', `{reason="${reason}"}`), reason).toBe(0);
    }
  }, 300_000);
});
