/**
 * Revocation against a drop server whose policy is newer than this device knew
 * (electron/core/spam/revocation.ts, server/http/policyHandler.ts): the answer to a strike the server
 * took was lost, or a sibling device of the identity used the next seq. The server's 409 names its
 * seq, and the device strikes above it instead of sending the same stale update with every message.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { argon2id } from '../../shared/protocol/argon2id.js';
import { TEST_PASSPHRASE_LIMITS } from '../../shared/protocol/passphraseSeal.js';
import { passphraseKeyWrap } from '../../electron/core/state/passphraseKeyWrap.js';
import { StateStore } from '../../electron/core/state/stateStore.js';
import { generateKeyPair } from '../../electron/core/v1/primitives.js';
import { spamSecretOf } from '../../electron/core/spam/closedDrops.js';
import { buildPolicy, claimDrop, sendPolicy, type PolicyPost } from '../../electron/core/spam/dropClaim.js';
import { flushRevocations, markRevoked } from '../../electron/core/spam/revocation.js';
import { batchTickets, newBatch } from '../../electron/core/spam/ticketBatches.js';
import { newDropId } from '../server/dropClient.js';
import { startTestServer } from '../server/inProcessServer.js';
import { fetchPolicyPost, pdu, postTicketed } from '../server/spamSupport.js';
import { removeDir, tempDir } from './helpers/testEngine.js';

const CONTACT = 'c'.repeat(64);
const NOW = Date.now();

let server: Awaited<ReturnType<typeof startTestServer>>;
const dirs: string[] = [];

beforeAll(async () => {
  server = await startTestServer({ powBits: 8 });
});
afterAll(async () => {
  await server?.stop();
  for (const dir of dirs) removeDir(dir);
});

/** A device of an identity owning a freshly claimed closed drop that handed CONTACT one batch. */
async function ownerDevice() {
  const dataDir = tempDir('deaddrop-revocation-');
  dirs.push(dataDir);
  const stateStore = await StateStore.load(dataDir, passphraseKeyWrap(TEST_PASSPHRASE_LIMITS, argon2id), { writeDelayMs: 0 });
  await stateStore.unlock('secret');
  const pair = generateKeyPair();
  const dropUrl = `${server.url}/${newDropId()}`;
  await stateStore.addIdentity({ id: 'me', alias: 'me', publicKey: Buffer.from(pair.publicKey).toString('hex'), dropUrls: [dropUrl], dropBits: 256, createdAt: 1 }, pair.privateKey);
  const secret = spamSecretOf(pair.privateKey);
  const claim = await claimDrop(fetchPolicyPost, { secret, dropUrl, keyIds: [0], introPerDay: 5 });
  if (!claim.ok) throw new Error(`claim refused: ${claim.status}`);
  const batch = newBatch(CONTACT, 0, NOW);
  await stateStore.setClosedDrop('me', { url: dropUrl, seq: 1, keyIds: [0], introPerDay: claim.introPerDay, given: [CONTACT], batches: [batch] });
  const tickets = batchTickets(secret, dropUrl.slice(dropUrl.lastIndexOf('/') + 1), batch);
  return { stateStore, dropUrl, secret, tickets };
}

/** Counts the policy POSTs; `loseNextAnswer` makes the next one reach the server and its answer vanish. */
function countingPost() {
  let loseNext = false;
  const sent: number[] = [];
  const post: PolicyPost = async (url, body) => {
    sent.push((JSON.parse(body) as { seq: number }).seq);
    const answer = await fetchPolicyPost(url, body);
    if (loseNext) {
      loseNext = false;
      throw new Error('socket hang up');
    }
    return answer;
  };
  return { post, sent, loseNextAnswer: () => void (loseNext = true) };
}

const claimOf = (stateStore: StateStore, dropUrl: string) => stateStore.closedDrops('me').find((c) => c.url === dropUrl)!;

describe('revocation above a newer policy', () => {
  it('after a lost answer: the 409 names the seq the server took, and the next flush strikes above it', async () => {
    const { stateStore, dropUrl, tickets } = await ownerDevice();
    expect((await postTicketed(dropUrl, pdu('before'), tickets[0]!)).status).toBe(200);
    const { post, sent, loseNextAnswer } = countingPost();
    await markRevoked(stateStore, 'me', CONTACT);
    loseNextAnswer();
    expect(await flushRevocations(stateStore, post, 'me', NOW)).toEqual({ struck: 0, pending: 1 });
    expect(sent).toEqual([2]);

    expect(await flushRevocations(stateStore, post, 'me', NOW)).toEqual({ struck: 1, pending: 0 });
    // seq 2 again (refused, naming 2), then 3.
    expect(sent).toEqual([2, 2, 3]);
    expect(claimOf(stateStore, dropUrl)).toMatchObject({ seq: 3, revoking: [], batches: [] });
    expect(await postTicketed(dropUrl, pdu('after'), tickets[1]!)).toMatchObject({ status: 409, error: 'Ticket spent' });
    // Nothing left pending: the next message's flush sends nothing.
    expect(await flushRevocations(stateStore, post, 'me', NOW)).toEqual({ struck: 0, pending: 0 });
    expect(sent).toHaveLength(3);
  });

  it('after a sibling device used the next seq: this one learns it from the 409 and strikes above it', async () => {
    const { stateStore, dropUrl, secret, tickets } = await ownerDevice();
    // The sibling (same identity, so the same keys) took seq 2 and 3 for updates of its own.
    for (const seq of [2, 3]) expect(await sendPolicy(fetchPolicyPost, dropUrl, buildPolicy({ secret, dropUrl, seq, keyIds: [0], introPerDay: 5 }))).toMatchObject({ ok: true, seq });
    const { post, sent } = countingPost();
    await markRevoked(stateStore, 'me', CONTACT);
    expect(await flushRevocations(stateStore, post, 'me', NOW)).toEqual({ struck: 1, pending: 0 });
    expect(sent).toEqual([2, 4]);
    expect(claimOf(stateStore, dropUrl).seq).toBe(4);
    expect(await postTicketed(dropUrl, pdu('after'), tickets[0]!)).toMatchObject({ status: 409, error: 'Ticket spent' });
  });

  it('the server names its seq only to the drop owner; a 409 without one leaves the strike pending, sent once', async () => {
    const { stateStore, dropUrl, secret } = await ownerDevice();
    const stale = await fetchPolicyPost(`${dropUrl}/policy`, JSON.stringify(buildPolicy({ secret, dropUrl, seq: 1, keyIds: [0], introPerDay: 5 })));
    expect(stale.status).toBe(409);
    expect(JSON.parse(stale.body)).toEqual({ error: 'Policy is out of date', seq: 1 });
    const stranger = await fetchPolicyPost(`${dropUrl}/policy`, JSON.stringify(buildPolicy({ secret: new Uint8Array(32).fill(9), dropUrl, seq: 1, keyIds: [0], introPerDay: 5 })));
    expect(stranger.status).toBe(403);
    expect(JSON.parse(stranger.body)).toEqual({ error: 'Drop is claimed' });

    // A server that names no seq (one before this change): nothing to learn, the strike waits.
    const sent: number[] = [];
    const oldServer: PolicyPost = async (_url, body) => {
      sent.push((JSON.parse(body) as { seq: number }).seq);
      return { status: 409, body: JSON.stringify({ error: 'Policy is out of date' }) };
    };
    await markRevoked(stateStore, 'me', CONTACT);
    expect(await flushRevocations(stateStore, oldServer, 'me', NOW)).toEqual({ struck: 0, pending: 1 });
    expect(sent).toEqual([2]);
    expect(claimOf(stateStore, dropUrl)).toMatchObject({ seq: 1, revoking: [CONTACT] });
  });
});
