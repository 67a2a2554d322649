/**
 * A thief's device list must not cut the honest devices off (issue 17, PROTOCOL-V1.md 5c). Bob knows
 * no list of Alice's yet (she is on one device and never changed it), but holds a session with her
 * device, whose Init named it. The thief, holding Alice's stolen identity key, announces a list naming
 * only its own device. Bob's next message must still reach Alice's device, in their session: a device
 * we hold a session with stays a target until a tombstone removes it. Before, Bob took the thief's list
 * as Alice's whole list and wrote to the thief's device alone: Alice never read it, nor saw the echo
 * that raises her alarm.
 */
import { describe, expect, it } from 'vitest';
import { newQrPrekey } from '../../electron/core/v1/session.js';
import { engineKit } from './helpers/engineKit.js';
import { FAST_TIMING } from './helpers/testEngine.js';
import { announceStolenList, stolenKeyPair } from './helpers/thief.js';

const kit = engineKit({
  engine: { protocolV1: true, timing: { ...FAST_TIMING, pingDelayMs: { min: 200, max: 400 } } },
  readBeforeSend: true,
  untilTimeoutMs: 30_000,
});
const { engine, send, receive, messagesOf, textAt, dispatcher } = kit;

describe('a thief’s list naming only its own device', { timeout: 120_000 }, () => {
  it('does not take Bob’s messages away from the Alice device he holds a session with', async () => {
    const [d1, b1] = [await engine(), await engine()];
    const alice = await d1.call('identities/create', { alias: 'alice', serverUrl: kit.server().url });
    const bob = await b1.call('identities/create', { alias: 'bob', serverUrl: kit.server().url });
    await send(d1, alice, bob, 'hello');
    await receive(b1, alice, 'hello');
    await send(b1, bob, alice, 'hi');
    await receive(d1, bob, 'hi');
    await send(d1, alice, bob, 'in the session');
    expect((await receive(b1, alice, 'in the session')).protocol).toBe(1);
    await send(b1, bob, alice, 'before the theft');
    expect((await receive(d1, bob, 'before the theft')).protocol).toBe(1);

    // The thief: Alice's key, a device of its own with a prekey of its own, announced to Bob alone.
    const pair = await stolenKeyPair(d1, alice.id);
    const thiefDevice = 'ab'.repeat(8);
    const thiefPrekey = newQrPrekey(Date.now() + 30 * 86_400_000);
    const devices = [{ deviceId: thiefDevice, prekey: Buffer.from(thiefPrekey.public, 'base64url').toString('hex'), addedDay: 20_000, name: 'Laptop' }];
    await announceStolenList(dispatcher, pair, alice, bob, thiefDevice, { epoch: 1, devices });
    // Bob takes the thief's list: his echo of Alice's list changes.
    const before = messagesOf(d1).find((m) => m.text === 'before the theft')!.devlistEcho;
    await kit.until([b1], async () => {
      await send(b1, bob, alice, 'probe');
      return true;
    }, 'Bob reads the announcement and writes', { senders: [alice] });

    // Alice's device reads what Bob writes now, in version 1, and the echo names a list she never had.
    await send(b1, bob, alice, 'after the theft');
    const got = await kit.until([d1], () => textAt(d1, 'after the theft'), 'Alice’s device reads Bob after the theft', { senders: [bob] });
    expect(got.protocol).toBe(1);
    expect(got.devlistEcho).toBeDefined();
    expect(got.devlistEcho).not.toBe(before);
  });
});
