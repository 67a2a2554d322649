/**
 * A contact that merged a list adding a device of ours tells its view back unasked
 * (electron/core/devices/deviceNews.ts `fromContact`), so our devices raise the injection alarm before
 * the contact writes anything: no round trip (our ask, its answer when it next runs). Real engines and
 * a real drop server: Alice on two linked devices, Bob, and a thief who announces a device of its own to
 * Bob with Alice's stolen key. Bob only reads; he never writes to Alice after the theft.
 */
import { describe, expect, it } from 'vitest';
import { engineKit } from './helpers/engineKit.js';
import { link } from './helpers/linkDevices.js';
import { announceStolenList, stolenKeyPair } from './helpers/thief.js';

const { server, engine, send, until, messagesOf, textAt, dispatcher } = engineKit({ engine: { protocolV1: true } });

describe('a contact’s view told unasked', () => {
  it('Bob merges a thief’s device into Alice’s list: both of her devices raise the alarm though Bob writes nothing after it', async () => {
    const [d1, d2, bobEngine] = [await engine(), await engine(), await engine()];
    const alice = await d1.call('identities/create', { alias: 'alice', serverUrl: server().url });
    const bob = await bobEngine.call('identities/create', { alias: 'bob', serverUrl: server().url });
    await send(d1, alice, bob, 'hello');
    await until([bobEngine], () => textAt(bobEngine, 'hello'), 'hello at Bob');
    await send(bobEngine, bob, alice, 'hi');
    await until([d1], () => textAt(d1, 'hi'), 'hi at Alice');
    await link(d1, alice, d2);
    // The laptop writes to Bob once (the UI gives it his drops), and Bob learns Alice's two devices.
    await send(d2, alice, bob, 'from the laptop');
    const list = await d1.call('devices/list', { identityId: alice.id });
    let probes = 0;
    await until([bobEngine], async () => {
      const text = `before the theft ${++probes}`;
      await send(bobEngine, bob, alice, text);
      const got = await until([d1, d2], () => textAt(d1, text), text);
      return got.devlistEcho === list.hash ? got : null;
    }, 'Bob echoes Alice’s two devices');
    await until([d1, d2], async () => (await d2.call('devices/list', { identityId: alice.id })).hash === list.hash, 'the laptop holds the list');
    for (const device of [d1, d2]) expect((await device.call('devices/list', { identityId: alice.id })).alarms).toEqual([]);
    const textsBefore = messagesOf(d1).length + messagesOf(d2).length;

    // The thief tells Bob a list of Alice's holding a device of its own, sealed with her stolen key.
    const pair = await stolenKeyPair(d1, alice.id);
    const thiefDevice = 'cd'.repeat(8);
    await announceStolenList(dispatcher, pair, alice, bob, thiefDevice, { epoch: list.epoch, devices: [{ deviceId: thiefDevice, prekey: '11'.repeat(32), addedDay: 20_000, name: 'Laptop' }] });

    // Bob reads (he writes nothing); Alice's devices read what he tells them.
    for (const device of [d1, d2]) {
      const alarms = await until([bobEngine, d1, d2], async () => {
        const status = await device.call('devices/list', { identityId: alice.id });
        return status.alarms.length > 0 ? status.alarms : null;
      }, 'the alarm');
      expect(alarms).toEqual([{ contact: bob.publicKey, unknownDevices: [thiefDevice], at: expect.any(Number) as number }]);
    }
    // No text came from Bob meanwhile: the alarm came from his view alone.
    expect(messagesOf(d1).length + messagesOf(d2).length - textsBefore).toBe(0);
  });
});
