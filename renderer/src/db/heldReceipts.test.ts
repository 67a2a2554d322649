import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Channel, EventMap, IncomingMessage, RequestOf } from '../../../shared/ipc/contract.js';
import { type Result, fail, ok } from '../../../shared/ipc/result.js';
import type { EngineBridge } from '../bridge/transport.js';
import type { DeaddropDatabase } from './database.js';
import { answerHeldReceipts } from './heldReceipts.js';
import { writeInboxBatch } from './inboxWriter.js';
import type { ContactStatus } from './records.js';
import { deleteTestDatabases, openTestDatabase } from './testDatabase.js';

const SAM = '5'.repeat(64);
const ACCEPTED_DROP = 'http://127.0.0.1:1/sam-accepted';

function incoming(dedupeKey: string, sentAt: number, acknowledgeId = `ack-${dedupeKey}`): IncomingMessage {
  return {
    dedupeKey, identityId: 'me', senderKey: SAM, type: 'box_message', payload: '{}', content: { type: 'box_message', msg: dedupeKey, part: null }, text: dedupeKey, share: null, part: null, acknowledgeId,
    meta: { alias: 'Sam', dropUrl: 'https://claimed.example/drop' }, sentAt, receivedAt: 1e12, dropUrl: 'http://127.0.0.1:1/mine',
  };
}

const batch = (messages: IncomingMessage[]): EventMap['inbox/batch'] => ({ batchId: 'b', messages, receipts: [] });

function recordingEngine(answer: Result<unknown> = ok(null)) {
  const sent: Array<RequestOf<'receipts/send'>> = [];
  const bridge = {
    kind: 'websocket',
    async invoke(channel: Channel, request: unknown) {
      if (channel === 'receipts/send') sent.push(request as RequestOf<'receipts/send'>);
      return answer;
    },
    on: () => () => undefined,
    connectionState: () => 'open',
    onConnectionChange: () => () => undefined,
  } as unknown as EngineBridge;
  return { bridge, sent };
}

let db: DeaddropDatabase;
beforeEach(async () => {
  db = await openTestDatabase('held');
});
afterEach(deleteTestDatabases);

async function setStatus(status: ContactStatus, dropUrls = [ACCEPTED_DROP]): Promise<void> {
  await db.contacts.update(['me', SAM], { status, dropUrls });
}

const held = async () => (await db.messages.toArray()).flatMap((m) => m.heldAckIds ?? []);

describe('receipts held for a request', () => {
  it('are answered when the user accepts, at the accepted drop URL, newest first, and then cleared', async () => {
    await writeInboxBatch(db, batch([incoming('m1', 1), incoming('m2', 2), incoming('m3', 3, '0')]));
    expect(await held()).toHaveLength(2);
    await setStatus('accepted');
    const engine = recordingEngine();
    await answerHeldReceipts(db, engine.bridge, 'me', SAM);
    expect(engine.sent).toEqual([{ identityId: 'me', recipient: { publicKey: SAM, dropUrls: [ACCEPTED_DROP] }, acknowledgeIds: ['ack-m2', 'ack-m1'] }]);
    expect(await held()).toEqual([]);
    // Nothing is answered twice.
    await answerHeldReceipts(db, engine.bridge, 'me', SAM);
    expect(engine.sent).toHaveLength(1);
  });

  it('stay held while the sender is a request, ignored or blocked, or accepted without an address', async () => {
    await writeInboxBatch(db, batch([incoming('m1', 1)]));
    const engine = recordingEngine();
    for (const [status, urls] of [['unknown', [ACCEPTED_DROP]], ['ignored', [ACCEPTED_DROP]], ['blocked', [ACCEPTED_DROP]], ['accepted', []]] as const) {
      await setStatus(status, [...urls]);
      await answerHeldReceipts(db, engine.bridge, 'me', SAM);
    }
    await answerHeldReceipts(db, engine.bridge, 'me', 'f'.repeat(64));
    expect(engine.sent).toEqual([]);
    expect(await held()).toEqual(['ack-m1']);
  });

  it('stay held when there is no engine or it refuses, for the next acceptance', async () => {
    await writeInboxBatch(db, batch([incoming('m1', 1)]));
    await setStatus('verified');
    await answerHeldReceipts(db, null, 'me', SAM);
    const refusing = recordingEngine(fail('unavailable', 'Lost the connection to the engine.'));
    await answerHeldReceipts(db, refusing.bridge, 'me', SAM);
    expect(refusing.sent).toHaveLength(1);
    expect(await held()).toEqual(['ack-m1']);
    const engine = recordingEngine();
    await answerHeldReceipts(db, engine.bridge, 'me', SAM);
    expect(engine.sent[0]!.acknowledgeIds).toEqual(['ack-m1']);
    expect(await held()).toEqual([]);
  });

  it('answer at most the newest 64 at once; older ones are dropped unanswered', async () => {
    await writeInboxBatch(db, batch(Array.from({ length: 50 }, (_, i) => incoming(`m${i}`, i))));
    // A request keeps at most 50 messages: more held receipts come from ones held on the same message.
    await db.messages.toCollection().modify((m) => {
      m.heldAckIds = [...(m.heldAckIds ?? []), `${m.text}-again`];
    });
    await setStatus('accepted');
    const engine = recordingEngine();
    await answerHeldReceipts(db, engine.bridge, 'me', SAM);
    const answered = engine.sent[0]!.acknowledgeIds;
    expect(answered).toHaveLength(64);
    expect(answered.slice(0, 4)).toEqual(['m49-again', 'ack-m49', 'm48-again', 'ack-m48']);
    expect(await held()).toEqual([]);
  });
});
