/**
 * Init PDUs introduce their sender (issue 14 "First message from a QR code alone"): a first message
 * written from a DEADDROP1 card reaches a receiver who knows nothing of the sender as a named request
 * with an address to answer, as a v0 first message with `meta_data` does; the intro is checked with
 * the bounds of v0 meta, and the UI cleans its alias the same way.
 */
import { describe, expect, it } from 'vitest';
import type { IncomingMessage } from '../../shared/ipc/contract.js';
import { parseContactStringV1 } from '../../shared/protocol/contacts.js';
import { DropClient } from '../../electron/core/net/dropClient.js';
import { withIntro } from '../../electron/core/sessions/content.js';
import { bodyCapacity } from '../../electron/core/v1/body.js';
import { generateKeyPair } from '../../electron/core/v1/primitives.js';
import { INIT_BODY_LENGTH, initiate, seal } from '../../electron/core/v1/session.js';
import { cleanAlias } from '../../renderer/src/db/incomingMessage.js';
import { craftPdu } from './helpers/craft.js';
import { engineKit } from './helpers/engineKit.js';
import type { TestEngine } from './helpers/testEngine.js';
import { receiveAndAck } from './helpers/receive.js';
import { waitFor } from './helpers/waitFor.js';
import { sealed, text } from '../v1/helpers.js';

const { user, dispatcher } = engineKit({ engine: { protocolV1: true } });
const client = new DropClient({ dispatcher, timeoutMs: 5000 });

const delivered = (engine: TestEngine, senderKey: string, body: string): IncomingMessage | undefined =>
  engine
    .of('inbox/batch')
    .flatMap((b) => b.messages)
    .find((m) => m.text === body && m.senderKey === senderKey);

describe('Init PDUs introduce their sender', () => {
  it('a first message from a card shows alias and drop URL, and the reply to that drop arrives in the session', async () => {
    const dana = await user('Dana');
    const eli = await user('Eli');
    const card = parseContactStringV1((await eli.engine.call('identities/contactCard', { identityId: eli.identity.id })).v1ContactString);
    const v1 = { qrPrekey: card.v1!.qrPrekey, qrPrekeyExpiresDay: card.v1!.qrPrekeyExpiresDay };
    // Dana knows Eli from the card alone; Eli knows nothing of Dana.
    await dana.engine.call('messages/send', {
      identityId: dana.identity.id,
      localId: 'first',
      recipient: { publicKey: eli.identity.publicKey, dropUrls: eli.identity.dropUrls, v1 },
      text: 'hello from your card',
    });
    const first = await waitFor(async () => {
      await receiveAndAck(eli.engine, 0, 'batches');
      return delivered(eli.engine, dana.identity.publicKey, 'hello from your card');
    }, 'first message');
    expect(first).toMatchObject({ protocol: 1, meta: { alias: 'Dana', dropUrl: dana.identity.dropUrls[0], publicKey: dana.identity.publicKey } });

    // Eli answers at the drop the Init named (all Eli knows of Dana).
    await eli.engine.call('messages/send', {
      identityId: eli.identity.id,
      localId: 'reply',
      recipient: { publicKey: first.meta!.publicKey!, dropUrls: [first.meta!.dropUrl!] },
      text: 'hello Dana',
    });
    const reply = await waitFor(async () => {
      await receiveAndAck(dana.engine, 0, 'batches');
      return delivered(dana.engine, eli.identity.publicKey, 'hello Dana');
    }, 'reply');
    expect(reply.protocol).toBe(1);

    // A session already knows its peer: Session PDUs carry no introduction.
    await dana.engine.call('messages/send', {
      identityId: dana.identity.id,
      localId: 'second',
      recipient: { publicKey: eli.identity.publicKey, dropUrls: eli.identity.dropUrls, v1 },
      text: 'second, in the session',
    });
    const second = await waitFor(async () => {
      await receiveAndAck(eli.engine, 0, 'batches');
      return delivered(eli.engine, dana.identity.publicKey, 'second, in the session');
    }, 'second message');
    expect(second).toMatchObject({ protocol: 1, meta: null });
  });

  it('a long first message from a card still splits into pieces that travel as Init PDUs with the intro', async () => {
    const gil = await user('Gil');
    const hana = await user('Hana');
    const card = parseContactStringV1((await hana.engine.call('identities/contactCard', { identityId: hana.identity.id })).v1ContactString);
    const long = Array.from({ length: 900 }, (_, i) => `word${i}`).join(' ');
    const accepted = await gil.engine.call('messages/send', {
      identityId: gil.identity.id,
      localId: 'long',
      recipient: { publicKey: hana.identity.publicKey, dropUrls: hana.identity.dropUrls, v1: { qrPrekey: card.v1!.qrPrekey, qrPrekeyExpiresDay: card.v1!.qrPrekeyExpiresDay } },
      text: long,
    });
    expect(accepted.parts).toBeGreaterThan(1);
    const pieces = await waitFor(async () => {
      const got = (await receiveAndAck(hana.engine, 0, 'batches')).filter((m) => m.part);
      return got.length >= accepted.parts ? got : null;
    }, 'pieces');
    expect(pieces.every((m) => m.protocol === 1 && m.meta?.alias === 'Gil' && m.meta.dropUrl === gil.identity.dropUrls[0])).toBe(true);
    expect(pieces.sort((a, b) => a.part!.index - b.part!.index).map((m) => m.text).join('')).toBe(long);
  });

  it('a hostile alias in an Init is bounded and cleaned as in v0 meta', async () => {
    const fay = await user('Fay');
    const capacity = bodyCapacity(INIT_BODY_LENGTH);
    const strangerInit = (alias: string, body: string): Uint8Array => {
      const stranger = generateKeyPair();
      const now = Date.now();
      const state = initiate({ ourIdentity: stranger, theirIdentityPublic: Buffer.from(fay.identity.publicKey, 'hex') }, now);
      return sealed(seal(state, withIntro(text(body), { alias, dropUrl: 'https://example.invalid/drop/x' }, capacity)!, {}, now)).pdu;
    };
    const controls = '\u202eDa\u0000na\u0007\n\u200f';
    const tooLong = 'x'.repeat(1500); // over v0 meta's 1,024 characters (10,000 do not fit an Init body at all)
    expect(withIntro(text('x'), { alias: 'x'.repeat(10_000) }, capacity)).toBeNull();
    const drop = fay.identity.dropUrls[0]!;
    await client.post(drop, strangerInit(controls, 'v1 controls'));
    await client.post(drop, strangerInit(tooLong, 'v1 too long'));
    // The same aliases as v0 meta_data, for comparison.
    const old = generateKeyPair();
    await client.post(drop, await craftPdu({ from: old, to: fay.identity.publicKey, text: 'v0 controls', alias: controls }));
    await client.post(drop, await craftPdu({ from: old, to: fay.identity.publicKey, text: 'v0 too long', alias: tooLong }));

    const messages = await receiveAndAck(fay.engine, 2, 'both controls messages');
    const v1 = messages.find((m) => m.text === 'v1 controls')!;
    const v0 = messages.find((m) => m.text === 'v0 controls')!;
    expect(v1.protocol).toBe(1);
    expect(v1.meta?.alias).toBe(v0.meta?.alias);
    expect(cleanAlias(v1.meta?.alias)).toBe('Dana');
    // Too long: dropped unread and counted, in both versions.
    expect(messages.map((m) => m.text).sort()).toEqual(['v0 controls', 'v1 controls']);
    const status = await waitFor(async () => {
      const servers = await fay.engine.call('servers/status', {});
      const total = servers.reduce((sum, s) => sum + s.malformedMessages, 0);
      return total >= 2 ? total : null;
    }, 'two malformed');
    expect(status).toBe(2);
  });
});
