import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EngineSettings, EventMap, IncomingMessage } from '../../../shared/ipc/contract.js';
import { DEFAULT_TRAFFIC_BUDGET } from '../../../shared/budget/setting.js';
import { type SyncItem, syncItemSchema } from '../../../shared/modules/sync.js';
import type { DeaddropDatabase } from '../db/database.js';
import { deleteTestDatabases, openTestDatabase } from '../db/testDatabase.js';
import { loadFileSettings } from '../files/fileSettings.js';
import { loadUiSettings } from '../settings/uiSettings.js';
import { type SyncIdentity, takeSiblingSync } from './syncApply.js';
import { applyHostSettings, settingsItem, settingsStampKey, syncedSettingsOf, tellSettings } from './syncSettings.js';
import type { EngineBridge } from '../bridge/transport.js';
import type { Channel } from '../../../shared/ipc/contract.js';
import { useSession } from '../stores/sessionStore.js';
import { useSavedSettings } from '../settings/savedSettings.js';

const ME = 'e'.repeat(64);
const OWN_DROP = 'http://127.0.0.1:1/mine';
const HERE = '5555555555555555';
const LOW = '1111111111111111';
const HIGH = '9999999999999999';
const identities = new Map<string, SyncIdentity>([['me', { publicKey: ME, dropUrls: [OWN_DROP], selfDevice: HERE }]]);
const engine: EngineSettings = { pollIntervalMs: 30_000, push: true, proxy: { kind: 'none' }, allowLocalNetwork: false, autoLockMinutes: 0, sendReceipts: true };

let counter = 0;
function sync(items: SyncItem[], device: string, overrides: Partial<IncomingMessage> = {}): IncomingMessage {
  const n = ++counter;
  return {
    dedupeKey: `${ME}:sync-${n}`, identityId: 'me', senderKey: ME, type: 'box_sync', payload: '', content: { type: 'box_sync', device, items }, text: null, share: null, part: null,
    acknowledgeId: `sync-ack-${n}`, meta: null, sentAt: 1000, receivedAt: 2000, dropUrl: OWN_DROP, ...overrides,
  };
}
const batch = (messages: IncomingMessage[]): EventMap['inbox/batch'] => ({ batchId: `b${++counter}`, messages, receipts: [] });
/** A `settings` item as the schema takes it off the wire (each value checked against its key). */
const settings = (entries: { key: string; clock: number; value: unknown }[]): SyncItem => syncItemSchema.parse({ kind: 'settings', entries });

let db: DeaddropDatabase;
beforeEach(async () => {
  db = await openTestDatabase('sync-settings');
});
afterEach(deleteTestDatabases);

describe('settings sync between the devices of an identity', () => {
  it('applies a sibling’s settings: the UI’s are written, the engine’s handed back for settings/set, the stamps kept', async () => {
    const item = settings([
      { key: 'notificationPrivacy', clock: 3, value: 'nothing' },
      { key: 'autoDownloadImagesMb', clock: 3, value: 0 },
      { key: 'sendReceipts', clock: 3, value: false },
      { key: 'trafficBudget', clock: 3, value: { ...DEFAULT_TRAFFIC_BUDGET, preset: 'high' } },
    ]);
    const taken = await takeSiblingSync(db, batch([sync([item], LOW)]), identities);
    expect(taken.applied).toBe(1);
    expect((await loadUiSettings(db)).notificationPrivacy).toBe('nothing');
    expect((await loadFileSettings(db)).autoDownloadImagesMb).toBe(0);
    expect(taken.hostSettings).toEqual({ engine: { sendReceipts: false, trafficBudget: { ...DEFAULT_TRAFFIC_BUDGET, preset: 'high' } }, notificationPreview: 'nothing' });
    // Never a chat row; the sibling is owed its receipt.
    expect(taken.batch.messages).toHaveLength(0);
    expect(taken.owedReceipts).toHaveLength(1);
    const stamps = (await db.settings.get(settingsStampKey('me')))?.value as Record<string, { clock: number; device: string }>;
    expect(stamps.sendReceipts).toMatchObject({ clock: 3, device: LOW });
  });

  it('keeps per key the highest (clock, device): an older write, a replay or a tie lost to a lower device id changes nothing', async () => {
    await takeSiblingSync(db, batch([sync([settings([{ key: 'notificationPrivacy', clock: 5, value: 'nameAndText' }])], LOW)]), identities);
    // Older clock from the higher device: loses.
    let taken = await takeSiblingSync(db, batch([sync([settings([{ key: 'notificationPrivacy', clock: 4, value: 'nothing' }])], HIGH)]), identities);
    expect((await loadUiSettings(db)).notificationPrivacy).toBe('nameAndText');
    expect(taken.hostSettings.notificationPreview).toBeUndefined();
    // Same clock, higher device id: wins; then the same clock from the lower one loses.
    await takeSiblingSync(db, batch([sync([settings([{ key: 'notificationPrivacy', clock: 5, value: 'nothing' }])], HIGH)]), identities);
    expect((await loadUiSettings(db)).notificationPrivacy).toBe('nothing');
    taken = await takeSiblingSync(db, batch([sync([settings([{ key: 'notificationPrivacy', clock: 5, value: 'nameOnly' }])], LOW)]), identities);
    expect((await loadUiSettings(db)).notificationPrivacy).toBe('nothing');
    // Per key: a stale key beside a fresh one takes only the fresh one.
    taken = await takeSiblingSync(
      db,
      batch([sync([settings([{ key: 'notificationPrivacy', clock: 2, value: 'nameOnly' }, { key: 'copies', clock: 2, value: 3 }])], LOW)]),
      identities,
    );
    expect(taken.hostSettings).toEqual({ engine: { copies: 3 } });
    expect((await loadUiSettings(db)).notificationPrivacy).toBe('nothing');
    // A replayed message (same dedupe key) is applied once.
    const message = sync([settings([{ key: 'closedDrops', clock: 9, value: true }])], LOW);
    expect((await takeSiblingSync(db, batch([message]), identities)).hostSettings.engine).toEqual({ closedDrops: true });
    expect((await takeSiblingSync(db, batch([message]), identities)).hostSettings.engine).toEqual({});
  });

  it('a change here takes the next tick past every clock seen, sends only what changed, and then beats the sibling’s older write', async () => {
    await takeSiblingSync(db, batch([sync([settings([{ key: 'sendReceipts', clock: 7, value: false }])], HIGH)]), identities);
    const values = await syncedSettingsOf(db, { ...engine, sendReceipts: false });
    // First save here: every key this identity never wrote goes (sendReceipts is the sibling's value already).
    const first = await settingsItem(db, 'me', HERE, values);
    expect(first?.entries.map((e) => e.key).sort()).toEqual(['autoDownloadImagesMb', 'autoLockMinutes', 'closedDrops', 'copies', 'notificationPrivacy', 'trafficBudget']);
    expect(first?.entries.every((e) => e.clock === 8)).toBe(true);
    // Nothing changed: nothing to send. One change: that key alone, at the next tick.
    expect(await settingsItem(db, 'me', HERE, values)).toBeNull();
    const second = await settingsItem(db, 'me', HERE, { ...values, sendReceipts: true });
    expect(second).toEqual({ kind: 'settings', entries: [{ key: 'sendReceipts', clock: 9, value: true }] });
    // The sibling's write from before it heard ours (clock 8) loses to ours (9).
    const taken = await takeSiblingSync(db, batch([sync([settings([{ key: 'sendReceipts', clock: 8, value: false }])], HIGH)]), identities);
    expect(taken.hostSettings.engine).toEqual({});
    // Everything again (a device was linked): every key, one tick later.
    const all = await settingsItem(db, 'me', HERE, { ...values, sendReceipts: true }, true);
    expect(all?.entries).toHaveLength(7);
    expect(all?.entries[0]?.clock).toBe(10);
  });

  it('skips its own device’s settings and any not sealed by the identity; refuses values of the wrong form', async () => {
    const item = settings([{ key: 'notificationPrivacy', clock: 50, value: 'nothing' }]);
    let taken = await takeSiblingSync(db, batch([sync([item], HERE)]), identities);
    expect(taken.applied).toBe(0);
    taken = await takeSiblingSync(db, batch([sync([item], LOW, { senderKey: 'f'.repeat(64) })]), identities);
    expect(taken.applied).toBe(0);
    expect((await loadUiSettings(db)).notificationPrivacy).toBe('nameOnly');
    for (const entry of [
      { key: 'copies', clock: 1, value: 9 },
      { key: 'notificationPrivacy', clock: 1, value: 'everything' },
      { key: 'theme', clock: 1, value: 'dark' },
      { key: 'proxy', clock: 1, value: { kind: 'none' } },
      { key: 'autoDownloadImagesMb', clock: 0, value: 1 },
    ]) {
      expect(syncItemSchema.safeParse({ kind: 'settings', entries: [entry] }).success, JSON.stringify(entry)).toBe(false);
    }
  });

  it('tellSettings sends each identity the keys that changed; applyHostSettings hands the engine’s to settings/set and the preview to the desktop shell', async () => {
    let saved: EngineSettings = { ...engine, sendReceipts: false };
    const calls: { channel: Channel; request: Record<string, unknown> }[] = [];
    const bridge = {
      async invoke(channel: Channel, request: Record<string, unknown>) {
        calls.push({ channel, request });
        if (channel === 'devices/list') return { ok: true, value: { devices: [{ deviceId: request.identityId === 'me' ? HERE : LOW, self: true }] } };
        if (channel === 'settings/get') return { ok: true, value: saved };
        if (channel === 'settings/set') return { ok: true, value: (saved = { ...saved, ...request }) };
        if (channel === 'desktop/getSettings') return { ok: true, value: { notificationPreview: 'nothing' } };
        return { ok: true, value: { messages: 1 } };
      },
    } as unknown as EngineBridge;
    useSession.setState({ identities: [{ id: 'me' }, { id: 'other' }] } as never);
    await tellSettings(db, undefined, {}, bridge);
    const sent = calls.filter((c) => c.channel === 'devices/sync');
    expect(sent.map((c) => c.request.identityId)).toEqual(['me', 'other']);
    expect((sent[0]!.request.items as SyncItem[])[0]).toMatchObject({ kind: 'settings' });
    // Saved again with one change: only that key goes, to both identities.
    calls.length = 0;
    saved = { ...saved, copies: 3 };
    await tellSettings(db, saved, {}, bridge);
    expect(calls.filter((c) => c.channel === 'devices/sync').map((c) => c.request.items)).toEqual([
      [{ kind: 'settings', entries: [{ key: 'copies', clock: 2, value: 3 }] }],
      [{ kind: 'settings', entries: [{ key: 'copies', clock: 2, value: 3 }] }],
    ]);

    calls.length = 0;
    await applyHostSettings(bridge, { engine: { closedDrops: true }, notificationPreview: 'nameAndText' });
    expect(calls.map((c) => c.channel)).toEqual(['settings/set']);
    expect(useSavedSettings.getState().settings?.closedDrops).toBe(true);
    // In the desktop app the preview is the shell's setting.
    useSession.setState({ appInfo: { capabilities: { desktopSettings: true } } } as never);
    calls.length = 0;
    await applyHostSettings(bridge, { engine: {}, notificationPreview: 'nameAndText' });
    expect(calls).toEqual([{ channel: 'desktop/setSettings', request: { notificationPreview: 'nameAndText' } }]);
    useSession.setState(useSession.getInitialState(), true);
  });
});
