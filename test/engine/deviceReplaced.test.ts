/**
 * A contact replaces the device our session began with (issue 17): Bob links a new laptop and removes
 * the old desktop from it, so his list holds one device again, the new one. Alice is on one device.
 * Her session with Bob began on the desktop, before his list named devices; were she to go back to
 * that session now that Bob is "on one device", only the removed desktop could open what she writes.
 * She writes to the laptop in its own session instead, and the laptop reads every message.
 */
import { describe, expect, it } from 'vitest';
import { engineKit } from './helpers/engineKit.js';
import { FAST_TIMING } from './helpers/testEngine.js';
import { link } from './helpers/linkDevices.js';

const kit = engineKit({
  engine: { protocolV1: true, timing: { ...FAST_TIMING, pingDelayMs: { min: 200, max: 400 } } },
  readBeforeSend: true,
  untilTimeoutMs: 30_000,
});
const { engine, send, receive, textAt } = kit;

describe('a contact who replaced the first device', { timeout: 180_000 }, () => {
  it('is written to on the remaining device, in a session of its own, not in the old one', async () => {
    const [d1, desktop, laptop] = [await engine(), await engine(), await engine()];
    const alice = await d1.call('identities/create', { alias: 'alice', serverUrl: kit.server().url });
    const bob = await desktop.call('identities/create', { alias: 'bob', serverUrl: kit.server().url });
    await send(d1, alice, bob, 'hello');
    await receive(desktop, alice, 'hello');
    await send(desktop, bob, alice, 'hi (Init)');
    await receive(d1, bob, 'hi (Init)');
    await link(desktop, bob, laptop);
    // Until Alice writes to both of Bob's devices in version 1 (she knows his list).
    let round = 0;
    await kit.until(
      [d1, desktop, laptop],
      async () => {
        round++;
        await send(laptop, bob, alice, `laptop ${round}`);
        await receive(d1, bob, `laptop ${round}`);
        await send(d1, alice, bob, `round ${round}`);
        const got = await Promise.all([desktop, laptop].map((b) => receive(b, alice, `round ${round}`)));
        return got.every((m) => m.protocol === 1) ? true : null;
      },
      'both of Bob’s devices read Alice in version 1',
      { senders: [alice, bob], timeoutMs: 90_000 },
    );

    const desktopId = (await desktop.call('devices/list', { identityId: bob.id })).devices.find((d) => d.self)!.deviceId;
    await laptop.call('devices/remove', { identityId: bob.id, deviceId: desktopId });
    const listAfter = (await laptop.call('devices/list', { identityId: bob.id })).hash;
    // The laptop reads every message Alice writes, until one echoes the list without the desktop.
    let probes = 0;
    const merged = await kit.until(
      [laptop],
      async () => {
        const probe = `after the removal ${++probes}`;
        await send(d1, alice, bob, probe);
        const got = await kit.until([laptop], () => textAt(laptop, probe), `the laptop reads "${probe}"`, { senders: [alice] });
        return got.devlistEcho === listAfter ? got : null;
      },
      'Alice echoes Bob’s list without the desktop',
      { senders: [alice] },
    );
    expect(merged.protocol).toBe(1);
    // From then on too: the laptop reads what she writes, in version 1.
    for (const text of ['now to the laptop', 'and once more']) {
      await send(d1, alice, bob, text);
      expect((await kit.until([laptop], () => textAt(laptop, text), `the laptop reads "${text}"`, { senders: [alice] })).protocol).toBe(1);
    }
  });
});
