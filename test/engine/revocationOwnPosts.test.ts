/**
 * The PDUs the engine posts by itself (version-1 PINGs, DROPS_REQ, device news, answers to stale
 * prekeys: `Sender.postOwn`) take a ticket only from the wallet of the identity they come from, for the
 * contact they go to. Two of our identities that both hold tickets for one contact's closed drop must
 * never spend each other's: the contact, whose server sees which of its tickets were spent, would learn
 * that the two are one.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { argon2id } from '../../shared/protocol/argon2id.js';
import { TEST_PASSPHRASE_LIMITS } from '../../shared/protocol/passphraseSeal.js';
import { createLogger } from '../../shared/log.js';
import { formatTicketHeader } from '../../shared/spam/ticket.js';
import { TICKET_HEADER } from '../../shared/spam/wire.js';
import type { CryptoPool } from '../../electron/core/crypto/cryptoPool.js';
import type { DropClient } from '../../electron/core/net/dropClient.js';
import { RetryBudget } from '../../electron/core/net/retryBudget.js';
import { Sender } from '../../electron/core/outbox/sender.js';
import { passphraseKeyWrap } from '../../electron/core/state/passphraseKeyWrap.js';
import { StateStore } from '../../electron/core/state/stateStore.js';
import { mintTickets } from '../../electron/core/spam/tickets.js';
import type { Stamper } from '../../electron/core/spam/stamper.js';
import { generateKeyPair } from '../../electron/core/v1/primitives.js';
import { newDropId } from '../server/dropClient.js';
import { removeDir, tempDir } from './helpers/testEngine.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) removeDir(dir);
});

const CONTACT = 'c'.repeat(64);
const CONTACT_DROP_ID = newDropId();
const CONTACT_DROP = `http://127.0.0.1:9/${CONTACT_DROP_ID}`;

async function twoIdentities(): Promise<StateStore> {
  const dataDir = tempDir('deaddrop-own-posts-');
  dirs.push(dataDir);
  const stateStore = await StateStore.load(dataDir, passphraseKeyWrap(TEST_PASSPHRASE_LIMITS, argon2id), { writeDelayMs: 0 });
  await stateStore.unlock('secret');
  for (const id of ['one', 'two']) {
    const pair = generateKeyPair();
    await stateStore.addIdentity({ id, alias: id, publicKey: Buffer.from(pair.publicKey).toString('hex'), dropUrls: [`http://127.0.0.1:9/${newDropId()}`], dropBits: 256, createdAt: 1 }, pair.privateKey);
  }
  return stateStore;
}

/** A sender whose drop client takes every POST and records its ticket header. */
function senderOver(stateStore: StateStore) {
  const tickets: (string | null)[] = [];
  const client = {
    post: async (_url: string, _pdu: Uint8Array, headers: Record<string, string> = {}) => void tickets.push(headers[TICKET_HEADER] ?? null),
  } as unknown as DropClient;
  const stamper: Stamper = { stampFor: () => Promise.reject(new Error('no stamp asked for here')), close: () => Promise.resolve() };
  const sender = new Sender({
    stateStore,
    pool: {} as CryptoPool,
    client: () => client,
    emit: () => undefined,
    retry: { baseMs: 1, maxMs: 1, maxAttempts: 1 },
    receiptRetry: { baseMs: 1, maxMs: 1, maxAttempts: 1 },
    retryBudget: new RetryBudget(),
    now: Date.now,
    logger: createLogger('test'),
    stamper,
  });
  return { sender, tickets };
}

describe('postOwn spends only the sending identity’s tickets', () => {
  it('a PDU from identity two to the contact carries a ticket the contact handed two, never one’s', async () => {
    const stateStore = await twoIdentities();
    // The contact handed each of our identities tickets for its closed drop (minted with its own secret).
    const secret = new Uint8Array(32).fill(7);
    const [forOne, forTwo] = [mintTickets({ secret, dropId: CONTACT_DROP_ID, keyId: 0, count: 1 })[0]!, mintTickets({ secret, dropId: CONTACT_DROP_ID, keyId: 0, count: 1 })[0]!];
    await stateStore.setWalletTickets('one', CONTACT, CONTACT_DROP, [forOne]);
    await stateStore.setWalletTickets('two', CONTACT, CONTACT_DROP, [forTwo]);
    const { sender, tickets } = senderOver(stateStore);

    await sender.postOwn([CONTACT_DROP], new Uint8Array(16), { identityId: 'two', contactKey: CONTACT });
    expect(tickets).toEqual([formatTicketHeader(forTwo)]);
    expect(stateStore.walletTickets('one', CONTACT, CONTACT_DROP)).toHaveLength(1);
    expect(stateStore.walletTickets('two', CONTACT, CONTACT_DROP)).toHaveLength(0);

    // Two's wallet is empty now: the next goes as a stranger's, one's ticket stays unspent.
    await sender.postOwn([CONTACT_DROP], new Uint8Array(16), { identityId: 'two', contactKey: CONTACT });
    expect(tickets).toEqual([formatTicketHeader(forTwo), null]);
    expect(stateStore.walletTickets('one', CONTACT, CONTACT_DROP)).toHaveLength(1);

    // Named by nobody (a PDU to our own drops): no ticket at all.
    await sender.postOwn([CONTACT_DROP], new Uint8Array(16));
    expect(tickets).toEqual([formatTicketHeader(forTwo), null, null]);
    expect(stateStore.walletTickets('one', CONTACT, CONTACT_DROP)).toHaveLength(1);
    await sender.close();
  });
});
