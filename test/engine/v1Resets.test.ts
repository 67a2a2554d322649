/**
 * Session resets, stale QR prekeys and simultaneous Inits between real engines over a real drop server
 * (PROTOCOL-V1.md 1c "RESET", "Stale QPK", "Rollback detection", "Simultaneous Init";
 * electron/core/sessions/resets.ts). Where a test needs to see which session an engine writes in, it
 * opens the engine's session store from its folder after closing it.
 */
import { describe, expect, it } from 'vitest';
import type { IdentitySummary, IncomingMessage } from '../../shared/ipc/contract.js';
import { argon2id } from '../../shared/protocol/argon2id.js';
import { TEST_PASSPHRASE_LIMITS, decryptIdentityBackup } from '../../shared/protocol/identityBackup.js';
import { parseContactStringV1 } from '../../shared/protocol/contacts.js';
import { DropClient } from '../../electron/core/net/dropClient.js';
import { passphraseKeyWrap } from '../../electron/core/state/passphraseKeyWrap.js';
import { SessionStore } from '../../electron/core/state/sessionStore.js';
import { StateStore } from '../../electron/core/state/stateStore.js';
import { activeSession } from '../../electron/core/sessions/resets.js';
import { keyPairFromPrivate } from '../../electron/core/v1/primitives.js';
import { INIT_FLAG_RESET, type SessionState, initiate, openSession, seal } from '../../electron/core/v1/session.js';
import { engineKit } from './helpers/engineKit.js';
import type { TestEngine } from './helpers/testEngine.js';
import { receiveAndAck } from './helpers/receive.js';
import { waitFor } from './helpers/waitFor.js';
import { sealed, text, textOf } from '../v1/helpers.js';

const { user, dispatcher } = engineKit({ engine: { protocolV1: true } });
const client = new DropClient({ dispatcher, timeoutMs: 5000 });

interface User {
  engine: TestEngine;
  identity: IdentitySummary;
}

type V1Card = { qrPrekey: string; qrPrekeyExpiresDay: number };

async function cardOf(who: User): Promise<V1Card> {
  const card = await who.engine.call('identities/contactCard', { identityId: who.identity.id });
  const contact = parseContactStringV1(card.v1ContactString);
  return { qrPrekey: contact.v1!.qrPrekey, qrPrekeyExpiresDay: contact.v1!.qrPrekeyExpiresDay };
}

let sends = 0;
async function send(from: User, to: IdentitySummary, body: string, v1?: V1Card): Promise<string> {
  const localId = `r-${++sends}`;
  await receiveAndAck(from.engine, 0, 'batches', to);
  const accepted = await from.engine.call('messages/send', {
    identityId: from.identity.id,
    localId,
    recipient: { publicKey: to.publicKey, dropUrls: to.dropUrls, ...(v1 ? { v1 } : {}) },
    text: body,
  });
  await waitFor(() => from.engine.of('outbox/status').find((s) => s.localId === localId && (s.status === 'posted' || s.status === 'sending')), `${localId} accepted`);
  return accepted.acknowledgeIds[0]!;
}

/**
 * The message once a batch holding it was acknowledged: what that batch changed in the sessions (a
 * pending reset, a new session) is committed only then, and the engine's own polling may emit a batch
 * while receiveAndAck awaits an earlier acknowledgement, so a fresh `engine.of` could find the message in
 * a batch nobody acknowledges.
 */
async function receive(engine: TestEngine, sender: IdentitySummary, body: string): Promise<IncomingMessage> {
  return waitFor(async () => (await receiveAndAck(engine, 0, 'batches', sender)).find((m) => m.text === body && m.senderKey === sender.publicKey), `"${body}" received`);
}

/** Opens an engine's sessions from its folder (after it was closed): which session it writes in. */
async function sessionsAt(dataDir: string, identityId: string, peerHex: string): Promise<{ active: string | undefined; all: SessionState[]; retired: string[] }> {
  const stateStore = await StateStore.load(dataDir, passphraseKeyWrap(TEST_PASSPHRASE_LIMITS, argon2id), { writeDelayMs: 0 });
  await stateStore.unlock('test secret');
  const sessions = await SessionStore.load(dataDir, stateStore);
  return { active: activeSession(sessions, identityId, peerHex)?.id, all: sessions.sessions(identityId), retired: Object.keys(sessions.peer(identityId, peerHex).retired ?? {}) };
}

async function restoreFromBackup(who: User): Promise<IdentitySummary> {
  const { engine, identity } = who;
  const { transferId } = await engine.call('backup/exportBegin', { identityId: identity.id, includeHistory: false });
  const emptyUi = { contacts: [], conversations: [], messages: [], textParts: [], seen: [] };
  await engine.call('backup/upload', { transferId, offset: 0, data: Buffer.from(JSON.stringify(emptyUi)).toString('base64url') });
  const { size } = await engine.call('backup/exportSeal', { transferId, passphrase: 'backup passphrase 1' });
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < size; ) {
    const { data } = await engine.call('backup/download', { transferId, offset });
    const chunk = Buffer.from(data, 'base64url');
    chunks.push(chunk);
    offset += chunk.length;
  }
  await engine.call('backup/discard', { transferId });
  await engine.call('identities/delete', { identityId: identity.id });
  const file = Buffer.concat(chunks);
  const started = await engine.call('backup/importBegin', {});
  for (let offset = 0; offset < file.length; offset += 256 * 1024) {
    await engine.call('backup/upload', { transferId: started.transferId, offset, data: file.subarray(offset, offset + 256 * 1024).toString('base64url') });
  }
  await engine.call('backup/importOpen', { transferId: started.transferId, passphrase: 'backup passphrase 1' });
  return engine.call('backup/importCommit', { transferId: started.transferId });
}

/** Two users with a session both have answered in. */
async function established(a: string, b: string): Promise<[User, User]> {
  const first = await user(a);
  const second = await user(b);
  await send(first, second.identity, `${a}: v0 hello`);
  await receive(second.engine, first.identity, `${a}: v0 hello`);
  await send(second, first.identity, `${b}: init`);
  expect(await receive(first.engine, second.identity, `${b}: init`)).toMatchObject({ protocol: 1 });
  await send(first, second.identity, `${a}: session`);
  expect(await receive(second.engine, first.identity, `${a}: session`)).toMatchObject({ protocol: 1 });
  return [first, second];
}

describe('version-1 session resets', () => {
  it('a restored backup: the peer asks its user, resets, and both are forward secret again in a new session', async () => {
    const [ivan, judy] = await established('ivan', 'judy');
    await ivan.engine.engine.settled();
    const restored = await restoreFromBackup(judy);
    // Judy lost her sessions: she writes version 0 (saying she speaks version 1), or, if reading her drop
    // again from the backup's cursors taught her that Ivan speaks version 1, a new Init.
    await send({ engine: judy.engine, identity: restored }, ivan.identity, 'judy after restore');
    expect(await receive(ivan.engine, judy.identity, 'judy after restore')).toMatchObject({ senderProtocol: 1 });
    // Either proves only her identity key: Ivan's user is asked, and says yes.
    await waitFor(async () => (await ivan.engine.call('sessions/status', { identityId: ivan.identity.id })).contacts[judy.identity.publicKey]?.reset?.pending, 'ivan asked');
    expect(ivan.engine.of('sessions/changed').length).toBeGreaterThan(0);
    await ivan.engine.call('sessions/confirmReset', { identityId: ivan.identity.id, contactPublicKey: judy.identity.publicKey, accept: true });
    // His next message goes in a session she holds (his reset Init, which she takes at once having no
    // session with him, or her new one).
    await send(ivan, judy.identity, 'ivan resets');
    expect(await receive(judy.engine, ivan.identity, 'ivan resets')).toMatchObject({ protocol: 1 });
    expect((await ivan.engine.call('sessions/status', { identityId: ivan.identity.id })).contacts[judy.identity.publicKey]).toMatchObject({
      protocol: 1,
      reset: { pending: false, at: expect.any(Number) },
    });
    await send({ engine: judy.engine, identity: restored }, ivan.identity, 'judy in the new session');
    expect(await receive(ivan.engine, judy.identity, 'judy in the new session')).toMatchObject({ protocol: 1 });
    await send(ivan, judy.identity, 'ivan again');
    expect(await receive(judy.engine, ivan.identity, 'ivan again')).toMatchObject({ protocol: 1 });
    // Ivan writes in the new session; the old one is kept only to read late copies.
    await ivan.engine.close();
    const at = await sessionsAt(ivan.engine.dataDir, ivan.identity.id, judy.identity.publicKey);
    expect(at.all.length).toBe(2);
    expect(at.retired).toEqual([at.all.find((s) => s.id !== at.active)!.id]);
  });

  it('an Init with the reset flag from someone holding only the identity key waits for the user; accepting and rejecting both work', async () => {
    const [kim, lee] = await established('kim', 'lee');
    // Someone with Lee's identity key only (a thief, or Lee on a new install): a new session, reset flag.
    const exported = await lee.engine.call('identities/export', { identityId: lee.identity.id, passphrase: 'export passphrase' });
    const backup = await decryptIdentityBackup(exported.content, 'export passphrase');
    const leeKeys = keyPairFromPrivate(Buffer.from(backup.privateKey, 'hex'));
    const impostor = (tag: string) => {
      let state = initiate({ ourIdentity: leeKeys, theirIdentityPublic: Buffer.from(kim.identity.publicKey, 'hex'), flags: INIT_FLAG_RESET }, Date.now());
      const first = sealed(seal(state, { ...text(`${tag}: reset`), wantReceipt: false }, {}, Date.now()));
      state = first.state;
      return { pdu: first.pdu, state: () => state };
    };
    const changedBefore = kim.engine.of('sessions/changed').length;
    const one = impostor('one');
    await client.post(kim.identity.dropUrls[0]!, one.pdu);
    // Looked for only among acknowledged batches, as in `receive`: sessions/changed comes with the commit.
    const flagged = await waitFor(async () => (await receiveAndAck(kim.engine, 0, 'batches')).find((m) => m.text === 'one: reset'), 'the reset Init shown');
    expect(flagged).toMatchObject({ protocol: 1, unconfirmedSession: true, senderKey: lee.identity.publicKey });
    await waitFor(() => kim.engine.of('sessions/changed').length > changedBefore, 'sessions/changed');
    const status = await kim.engine.call('sessions/status', { identityId: kim.identity.id });
    expect(status.contacts[lee.identity.publicKey]?.reset).toEqual({ pending: true, at: expect.any(Number) });
    // Meanwhile Kim still writes in the old session: the real Lee reads it.
    await send(kim, lee.identity, 'kim while pending');
    expect(await receive(lee.engine, kim.identity, 'kim while pending')).toMatchObject({ protocol: 1 });
    // A second reset within the hour is not opened.
    await client.post(kim.identity.dropUrls[0]!, impostor('two').pdu);
    await kim.engine.engine.fetchOnce();
    await receiveAndAck(kim.engine, 0, 'batches');
    expect(kim.engine.of('inbox/batch').flatMap((b) => b.messages).some((m) => m.text === 'two: reset')).toBe(false);

    // Rejected: the pending session is gone, Kim keeps writing in the old one.
    const rejected = await kim.engine.call('sessions/confirmReset', { identityId: kim.identity.id, contactPublicKey: lee.identity.publicKey, accept: false });
    expect(rejected.contacts[lee.identity.publicKey]?.reset).toBeUndefined();
    await send(kim, lee.identity, 'kim after rejecting');
    expect(await receive(lee.engine, kim.identity, 'kim after rejecting')).toMatchObject({ protocol: 1 });
    expect(await openedBy(one.state(), lee.identity, 'kim after rejecting', false)).toBe(false);
  });

  it('accepting a pending reset makes the new session the one we write in', async () => {
    const [mia, ned] = await established('mia', 'ned');
    const exported = await ned.engine.call('identities/export', { identityId: ned.identity.id, passphrase: 'export passphrase' });
    const nedKeys = keyPairFromPrivate(Buffer.from((await decryptIdentityBackup(exported.content, 'export passphrase')).privateKey, 'hex'));
    let state = initiate({ ourIdentity: nedKeys, theirIdentityPublic: Buffer.from(mia.identity.publicKey, 'hex'), flags: INIT_FLAG_RESET }, Date.now());
    const init = sealed(seal(state, { ...text('ned reinstalled'), wantReceipt: false }, {}, Date.now()));
    state = init.state;
    await client.post(mia.identity.dropUrls[0]!, init.pdu);
    await waitFor(async () => {
      await receiveAndAck(mia.engine, 0, 'batches');
      return (await mia.engine.call('sessions/status', { identityId: mia.identity.id })).contacts[ned.identity.publicKey]?.reset?.pending;
    }, 'pending reset');
    const accepted = await mia.engine.call('sessions/confirmReset', { identityId: mia.identity.id, contactPublicKey: ned.identity.publicKey, accept: true });
    expect(accepted.contacts[ned.identity.publicKey]?.reset).toEqual({ pending: false, at: expect.any(Number) });
    await send(mia, ned.identity, 'mia after accepting');
    // The new session's holder reads it; the old Ned's engine does not show it.
    expect(await openedBy(state, ned.identity, 'mia after accepting', true)).toBe(true);
    await ned.engine.engine.fetchOnce();
    await receiveAndAck(ned.engine, 0, 'batches');
    expect(ned.engine.of('inbox/batch').flatMap((b) => b.messages).some((m) => m.text === 'mia after accepting')).toBe(false);
  });

  it('a reset Init read by two polls before its batch is acknowledged: the user’s answer stands when the second batch is acknowledged', async () => {
    for (const accept of [true, false]) {
      const [sam, tess] = await established(`sam ${accept}`, `tess ${accept}`);
      const exported = await tess.engine.call('identities/export', { identityId: tess.identity.id, passphrase: 'export passphrase' });
      const tessKeys = keyPairFromPrivate(Buffer.from((await decryptIdentityBackup(exported.content, 'export passphrase')).privateKey, 'hex'));
      const state = initiate({ ourIdentity: tessKeys, theirIdentityPublic: Buffer.from(sam.identity.publicKey, 'hex'), flags: INIT_FLAG_RESET }, Date.now());
      const body = `tess reinstalled ${accept}`;
      const init = sealed(seal(state, { ...text(body), wantReceipt: false }, {}, Date.now()));
      await receiveAndAck(sam.engine, 0, 'batches');
      await client.post(sam.identity.dropUrls[0]!, init.pdu);
      // Each poll before an acknowledgement opens the Init again in a claim of its own (the engine's own
      // polling may add more): the first acknowledged decides, the user answers, then the others come.
      const holding = () => sam.engine.of('inbox/batch').filter((b) => b.messages.some((m) => m.text === body));
      await waitFor(async () => {
        await sam.engine.engine.fetchOnce();
        return holding().length >= 2;
      }, 'the Init in two batches');
      await sam.engine.call('inbox/ack', { batchId: holding()[0]!.batchId, receipts: [] });
      const status = async () => (await sam.engine.call('sessions/status', { identityId: sam.identity.id })).contacts[tess.identity.publicKey]?.reset;
      expect(await status()).toEqual({ pending: true, at: expect.any(Number) });
      await sam.engine.call('sessions/confirmReset', { identityId: sam.identity.id, contactPublicKey: tess.identity.publicKey, accept });
      await receiveAndAck(sam.engine, 0, 'batches');
      expect(await status()).toEqual(accept ? { pending: false, at: expect.any(Number) } : undefined);
      // Sam writes in the session the answer chose: the new one after yes, the old one (the real Tess) after no.
      await send(sam, tess.identity, `sam after answering ${accept}`);
      if (accept) expect(await openedBy(init.state, tess.identity, `sam after answering ${accept}`, true)).toBe(true);
      else {
        expect(await receive(tess.engine, sam.identity, `sam after answering ${accept}`)).toMatchObject({ protocol: 1 });
        expect(await openedBy(init.state, tess.identity, `sam after answering ${accept}`, false)).toBe(false);
      }
    }
  });

  it('an Init naming a prekey the recipient does not know is answered with qpk_stale, and the first message arrives in the new session', async () => {
    const olga = await user('olga');
    const pete = await user('pete');
    // Pete wrote to Olga once (so his engine knows where she reads), in version 0.
    await send(pete, olga.identity, 'pete v0');
    await receive(olga.engine, pete.identity, 'pete v0');
    // Olga writes from a card whose prekey Pete no longer has (here: never had).
    const card = await cardOf(pete);
    const stale = { ...card, qrPrekey: Buffer.alloc(32, 7).toString('hex') };
    await send(olga, pete.identity, 'olga first, to a stale prekey', stale);
    const got = await receive(pete.engine, olga.identity, 'olga first, to a stale prekey');
    expect(got.protocol).toBe(1);
    // Both now write in the session Pete started.
    await send(pete, olga.identity, 'pete answers');
    expect(await receive(olga.engine, pete.identity, 'pete answers')).toMatchObject({ protocol: 1 });
    await send(olga, pete.identity, 'olga again', stale);
    expect(await receive(pete.engine, olga.identity, 'olga again')).toMatchObject({ protocol: 1 });
    const texts = pete.engine.of('inbox/batch').flatMap((b) => b.messages).filter((m) => m.text === 'olga first, to a stale prekey');
    expect(new Set(texts.map((m) => m.dedupeKey)).size).toBe(1);
  });

  it('a simultaneous Init (both scanned the other’s card) converges to one session both write in', async () => {
    const quinn = await user('quinn');
    const rosa = await user('rosa');
    const [quinnCard, rosaCard] = [await cardOf(quinn), await cardOf(rosa)];
    // Both write first, before either reads.
    await quinn.engine.call('messages/send', { identityId: quinn.identity.id, localId: 'q-1', recipient: { publicKey: rosa.identity.publicKey, dropUrls: rosa.identity.dropUrls, v1: rosaCard }, text: 'quinn first' });
    await rosa.engine.call('messages/send', { identityId: rosa.identity.id, localId: 'r-1', recipient: { publicKey: quinn.identity.publicKey, dropUrls: quinn.identity.dropUrls, v1: quinnCard }, text: 'rosa first' });
    expect(await receive(rosa.engine, quinn.identity, 'quinn first')).toMatchObject({ protocol: 1 });
    expect(await receive(quinn.engine, rosa.identity, 'rosa first')).toMatchObject({ protocol: 1 });
    for (let round = 0; round < 2; round++) {
      await send(quinn, rosa.identity, `quinn ${round}`, rosaCard);
      expect(await receive(rosa.engine, quinn.identity, `quinn ${round}`)).toMatchObject({ protocol: 1 });
      await send(rosa, quinn.identity, `rosa ${round}`, quinnCard);
      expect(await receive(quinn.engine, rosa.identity, `rosa ${round}`)).toMatchObject({ protocol: 1 });
    }
    await quinn.engine.close();
    await rosa.engine.close();
    const atQuinn = await sessionsAt(quinn.engine.dataDir, quinn.identity.id, rosa.identity.publicKey);
    const atRosa = await sessionsAt(rosa.engine.dataDir, rosa.identity.id, quinn.identity.publicKey);
    expect(atQuinn.all).toHaveLength(2);
    expect(atQuinn.active).toBeDefined();
    expect(atQuinn.active).toBe(atRosa.active);
    // The session both write in was answered on both sides (no side still sends Init PDUs in it).
    expect(atQuinn.all.find((s) => s.id === atQuinn.active)!.confirmed).toBe(true);
    expect(atRosa.all.find((s) => s.id === atRosa.active)!.confirmed).toBe(true);
  });
});

/**
 * Whether the holder of `state` (the initiator's side of a test-made session) opens `body` among the
 * PDUs in `to`'s drop. `expected` true waits until it does; false looks once (call it after the message
 * is known to be there).
 */
async function openedBy(state: SessionState, to: IdentitySummary, body: string, expected: boolean): Promise<boolean> {
  const look = async (): Promise<boolean> => {
    const fetched = await client.fetch(to.dropUrls[0]!, null, {});
    if (fetched.status !== 'messages') return false;
    return fetched.items.some((item) => {
      const result = openSession(state, item.body, Date.now());
      return result !== null && 'body' in result && textOf(result.body.content) === body;
    });
  };
  if (!expected) return look();
  return waitFor(async () => ((await look()) ? true : null), `${body} opened with the new session`);
}
