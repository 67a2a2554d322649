/**
 * Settings sync (PROTOCOL-V1.md 5c SYNC subtype SETTINGS, shared/modules/sync.ts `settings`): two
 * linked engines of one identity and a real drop server. A device linked into a fresh profile starts
 * with the offering device's settings; a change saved on one device travels as a `settings` item from
 * the identity to itself and, applied by the merge rule the UI uses (`winningSettings`, then
 * `settings/set`, renderer/src/devices/syncSettings.ts), is the other device's setting too; an older
 * write arriving later changes nothing, and a value of the wrong form never reaches the UI.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { EngineSettings, IdentitySummary, IncomingMessage } from '../../shared/ipc/contract.js';
import { BOX_SYNC, ENGINE_SYNCED_SETTINGS, type SyncContent, type SyncSettingsItem, type SyncStamp, type SyncedSettingKey, winningSettings } from '../../shared/modules/sync.js';
import { engineKit } from './helpers/engineKit.js';
import type { TestEngine } from './helpers/testEngine.js';
import { waitFor } from './helpers/waitFor.js';
import { link } from './helpers/linkDevices.js';

const { server, engine } = engineKit({ engine: { protocolV1: true } });

const settingsSyncs = (e: TestEngine): (IncomingMessage & { content: SyncContent })[] =>
  e.of('inbox/batch').flatMap((b) => b.messages.filter((m): m is IncomingMessage & { content: SyncContent } => m.content.type === BOX_SYNC && m.content.items.some((i) => i.kind === 'settings')));

/**
 * What a device's UI does with the `settings` it reads (syncApply.ts → syncSettings.ts): per key the
 * highest (clock, device) over the stamps it keeps; the engine's keys go to `settings/set`.
 */
function uiOf(e: TestEngine, selfId: string) {
  const stamps: Partial<Record<SyncedSettingKey, SyncStamp>> = {};
  const done = new Set<string>();
  return {
    stamps,
    async apply(): Promise<Partial<EngineSettings>> {
      const patch: Partial<EngineSettings> = {};
      for (const message of settingsSyncs(e)) {
        if (done.has(message.dedupeKey) || message.content.device === selfId) continue;
        done.add(message.dedupeKey);
        for (const item of message.content.items) {
          if (item.kind !== 'settings') continue;
          for (const won of winningSettings(stamps, item, message.content.device)) {
            stamps[won.key] = won.stamp;
            if ((ENGINE_SYNCED_SETTINGS as readonly string[]).includes(won.key)) Object.assign(patch, { [won.key]: won.value });
          }
        }
      }
      if (Object.keys(patch).length > 0) await e.call('settings/set', patch);
      return patch;
    },
  };
}

describe('settings sync between two devices of one identity', () => {
  let d1: TestEngine;
  let d2: TestEngine;
  let alice: IdentitySummary;
  let d1Id: string;
  let d2Id: string;

  beforeAll(async () => {
    [d1, d2] = [await engine(), await engine()];
    alice = await d1.call('identities/create', { alias: 'alice', serverUrl: server().url });
    // Chosen before the link: a fresh profile takes them with it.
    await d1.call('settings/set', { copies: 1, autoLockMinutes: 15 });
    await link(d1, alice, d2);
    const self = async (e: TestEngine) => (await e.call('devices/list', { identityId: alice.id })).devices.find((d) => d.self)!.deviceId;
    [d1Id, d2Id] = [await self(d1), await self(d2)];
  });

  it('a device linked into a fresh profile starts with the other device’s settings', async () => {
    expect(await d2.call('settings/get', {})).toMatchObject({ copies: 1, autoLockMinutes: 15 });
  });

  it('a change on one device reaches the other; an older write arriving after it changes nothing', async () => {
    const d2Ui = uiOf(d2, d2Id);
    expect((await d2.call('settings/get', {})).sendReceipts).toBe(true);
    // The user turns receipts off and closed drops on on the desktop (a traffic budget would hold the
    // sync until its next slot: the browser test covers that key).
    const saved = await d1.call('settings/set', { sendReceipts: false, closedDrops: true });
    const item: SyncSettingsItem = {
      kind: 'settings',
      entries: [
        { key: 'sendReceipts', clock: 2, value: saved.sendReceipts },
        { key: 'closedDrops', clock: 2, value: saved.closedDrops },
      ],
    };
    expect(await d1.call('devices/sync', { identityId: alice.id, items: [item] })).toEqual({ messages: 1 });
    await waitFor(async () => {
      await d2.engine.fetchOnce();
      return settingsSyncs(d2).length > 0;
    }, 'the settings on the laptop');
    const arrived = settingsSyncs(d2)[0]!;
    expect(arrived.senderKey).toBe(alice.publicKey);
    expect(arrived.content.device).toBe(d1Id);
    expect(await d2Ui.apply()).toEqual({ sendReceipts: false, closedDrops: true });
    expect(await d2.call('settings/get', {})).toMatchObject({ sendReceipts: false, closedDrops: true, copies: 1 });

    // A write from before (clock 1) that arrives late: kept out by the stamp.
    await d1.call('devices/sync', { identityId: alice.id, items: [{ kind: 'settings', entries: [{ key: 'sendReceipts', clock: 1, value: true }] }] });
    await waitFor(async () => {
      await d2.engine.fetchOnce();
      return settingsSyncs(d2).length > 1;
    }, 'the late write on the laptop');
    expect(await d2Ui.apply()).toEqual({});
    expect((await d2.call('settings/get', {})).sendReceipts).toBe(false);
  });

  it('a settings value of the wrong form is refused by the engine before it leaves', async () => {
    await expect(d1.call('devices/sync', { identityId: alice.id, items: [{ kind: 'settings', entries: [{ key: 'copies', clock: 3, value: 99 }] }] } as never)).rejects.toThrow();
    await expect(d1.call('devices/sync', { identityId: alice.id, items: [{ kind: 'settings', entries: [{ key: 'proxy', clock: 3, value: { kind: 'none' } }] }] } as never)).rejects.toThrow();
  });
});
