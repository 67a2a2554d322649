/**
 * Settings → Devices in real Chromium against an engine that answers `devices/*` like ours: last seen
 * per device, names editable, removal only after a confirmation, the alarm (a contact sends to a device
 * nobody here added) with the contact's name and what to do, and this device told it was removed.
 */
import { createElement } from 'react';
import { flushSync } from 'react-dom';
import { type Root, createRoot } from 'react-dom/client';
import { userEvent } from 'vitest/browser';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Channel, DeviceListStatus, EventMap, IdentitySummary } from '../../../shared/ipc/contract.js';
import type { EngineBridge } from '../bridge/transport.js';
import { database } from '../db/database.js';
import type { ContactRecord } from '../db/records.js';
import { deleteTestDatabases, openTestDatabase } from '../db/testDatabase.js';
import { useSession } from '../stores/sessionStore.js';
import { DevicesPanel } from './DevicesPanel.js';
import { DeviceAlarmBanner } from './DevicesPanelAlarm.js';
import { notifyJoined } from './joinNotice.js';

const SELF = '1111111111111111';
const LAPTOP = '2222222222222222';
const THIEF = '9999999999999999';
const BOB = 'b0'.repeat(32);

function identity(): IdentitySummary {
  return { id: `devices-${crypto.randomUUID()}`, alias: 'Alice', publicKey: 'a1'.repeat(32), dropUrls: ['https://drop.example/a'], dropBits: 256, createdAt: 1 };
}

/** Keeps a device list and answers as the engine's device handlers do (removal adds a tombstone). */
function fakeEngine(initial: DeviceListStatus) {
  let list = initial;
  const calls: { channel: Channel; request: Record<string, unknown> }[] = [];
  const listeners = new Map<string, ((payload: unknown) => void)[]>();
  const bridge = {
    kind: 'websocket',
    async invoke(channel: Channel, request: Record<string, unknown>) {
      calls.push({ channel, request });
      if (channel === 'devices/list') return { ok: true, value: list };
      if (channel === 'devices/remove') {
        const deviceId = request.deviceId as string;
        list = { ...list, epoch: list.epoch + 1, devices: list.devices.filter((d) => d.deviceId !== deviceId), removed: [...list.removed, deviceId] };
        return { ok: true, value: list };
      }
      if (channel === 'devices/rename') {
        list = { ...list, epoch: list.epoch + 1, devices: list.devices.map((d) => (d.deviceId === request.deviceId ? { ...d, name: request.name as string } : d)) };
        return { ok: true, value: list };
      }
      if (channel === 'devices/confirmJoined') {
        const rest = (list.joined ?? []).filter((notice) => notice.deviceId !== request.deviceId);
        list = { ...list, ...(rest.length > 0 ? { joined: rest } : { joined: undefined }) };
        return { ok: true, value: list };
      }
      if (channel === 'notifications/show') return { ok: true, value: null };
      if (channel === 'devices/clearAlarms') {
        list = { ...list, alarms: [] };
        return { ok: true, value: list };
      }
      return { ok: true, value: null };
    },
    on(event: string, listener: (payload: unknown) => void) {
      listeners.set(event, [...(listeners.get(event) ?? []), listener]);
      return () => listeners.set(event, (listeners.get(event) ?? []).filter((l) => l !== listener));
    },
    connectionState: () => 'open',
    onConnectionChange: () => () => undefined,
  } as unknown as EngineBridge;
  return {
    bridge,
    calls,
    /** The engine's list changes by itself (a sibling's news), then it says so. */
    change(next: Partial<DeviceListStatus>, event: EventMap['devices/changed']) {
      list = { ...list, ...next };
      for (const listener of listeners.get('devices/changed') ?? []) listener(event);
    },
  };
}

const baseList = (): DeviceListStatus => ({
  epoch: 3,
  hash: '0a0b0c0d',
  devices: [
    { deviceId: SELF, name: 'Desktop', addedDay: 20_000, self: true, lastSeen: null },
    { deviceId: LAPTOP, name: 'Laptop', addedDay: 20_001, self: false, lastSeen: Date.UTC(2026, 10, 29, 9, 30) },
  ],
  removed: [],
  alarms: [],
  removedAt: null,
});

let host: HTMLDivElement;
let root: Root | null = null;
let me: IdentitySummary;

beforeEach(async () => {
  await openTestDatabase('devices-panel'); // sets the sealing key the shared database uses
  useSession.setState(useSession.getInitialState(), true);
  me = identity();
  host = document.createElement('div');
  document.body.append(host);
});
afterEach(async () => {
  root?.unmount();
  root = null;
  host.remove();
  await database().contacts.where('identityId').equals(me.id).delete();
  await deleteTestDatabases();
});

function render(engine: ReturnType<typeof fakeEngine>, component: () => ReturnType<typeof createElement> = () => createElement(DevicesPanel)) {
  flushSync(() => {
    useSession.getState().setBridge(engine.bridge);
    useSession.getState().setIdentities([me]);
  });
  root = createRoot(host);
  flushSync(() => root!.render(component()));
}

async function until(condition: () => boolean): Promise<void> {
  await vi.waitFor(() => expect(condition()).toBe(true), { timeout: 10_000, interval: 10 });
}

const rows = () => [...host.querySelectorAll('[data-testid=device-row]')];
const button = (text: string, within: ParentNode = host) => [...within.querySelectorAll('button')].find((b) => b.textContent === text) as HTMLButtonElement | undefined;

describe('Settings → Devices', () => {
  it('shows when the other device was last seen, and removes it only after the confirmation', async () => {
    const engine = fakeEngine(baseList());
    render(engine);
    await until(() => rows().length === 2);
    expect(rows()[0]!.textContent).toContain('This device');
    expect(rows()[1]!.textContent).toMatch(/last seen Nov 29, 2026/);
    // Names are editable for every device, not only this one.
    expect(rows()[1]!.querySelector('form[aria-label="Name of Laptop"]')).not.toBeNull();
    // This device has no Remove button.
    expect(button('Remove', rows()[0]!)).toBeUndefined();

    await userEvent.click(button('Remove', rows()[1]!)!);
    const dialog = host.querySelector('[data-testid=remove-device-confirm]')!;
    expect(dialog.getAttribute('role')).toBe('alertdialog');
    expect(dialog.textContent).toContain('Remove Laptop from Alice?');
    await userEvent.click(button('Keep it', dialog)!);
    expect(engine.calls.some((c) => c.channel === 'devices/remove')).toBe(false);
    expect(rows()).toHaveLength(2);

    await userEvent.click(button('Remove', rows()[1]!)!);
    await userEvent.click(button('Remove it')!);
    await until(() => rows().length === 1);
    expect(engine.calls.filter((c) => c.channel === 'devices/remove').map((c) => c.request)).toEqual([{ identityId: me.id, deviceId: LAPTOP }]);
  });

  it('renames another device', async () => {
    const engine = fakeEngine(baseList());
    render(engine);
    await until(() => rows().length === 2);
    const input = rows()[1]!.querySelector('input')!;
    await userEvent.clear(input);
    await userEvent.type(input, 'Old laptop');
    await userEvent.click(button('Rename', rows()[1]!)!);
    await until(() => rows()[1]!.querySelector('strong')!.textContent === 'Old laptop');
    expect(engine.calls.find((c) => c.channel === 'devices/rename')!.request).toEqual({ identityId: me.id, deviceId: LAPTOP, name: 'Old laptop' });
  });

  it('an alarm names the contact, says what to do, removes the unknown device and can be dismissed; the banner shows it everywhere', async () => {
    await database().contacts.put({ identityId: me.id, publicKey: BOB, alias: 'Bob\u202e', dropUrls: [], offeredDropUrls: [], status: 'accepted' } as unknown as ContactRecord);
    const engine = fakeEngine({ ...baseList(), alarms: [{ contact: BOB, unknownDevices: [THIEF], at: 1 }] });
    render(engine, () => createElement('div', null, createElement(DeviceAlarmBanner), createElement(DevicesPanel)));
    await until(() => host.querySelector('[data-testid=device-alarm]')?.textContent?.includes('Bob is sending to a device you did not add') === true);
    const banner = host.querySelector('[data-testid=device-alarm-banner]')!;
    expect(banner.getAttribute('role')).toBe('alert');
    expect(banner.textContent).toContain('the key of Alice may be stolen');
    const alarm = host.querySelector('[data-testid=device-alarm]')!;
    expect(alarm.textContent).toContain('make a new identity');

    await userEvent.click(button('Remove', alarm)!);
    await userEvent.click(button('Remove it', alarm)!);
    await until(() => engine.calls.some((c) => c.channel === 'devices/remove'));
    expect(engine.calls.find((c) => c.channel === 'devices/remove')!.request).toEqual({ identityId: me.id, deviceId: THIEF });
    // Removed: no Remove button for it any more, the explanation stays until dismissed.
    await until(() => button('Remove', host.querySelector('[data-testid=device-alarm]')!) === undefined);

    await userEvent.click(button('Dismiss the alarm')!);
    await until(() => host.querySelector('[data-testid=device-alarm]') === null);
    expect(engine.calls.some((c) => c.channel === 'devices/clearAlarms')).toBe(true);
  });

  it('a device another one removed says so when the engine tells it, and offers no removal', async () => {
    const engine = fakeEngine(baseList());
    render(engine, () => createElement('div', null, createElement(DeviceAlarmBanner), createElement(DevicesPanel)));
    await until(() => rows().length === 2);
    engine.change({ removedAt: Date.UTC(2026, 10, 30), devices: [baseList().devices[1]!] }, { identityId: me.id, alarm: false });
    await until(() => host.querySelector('[data-testid=device-removed]') !== null);
    expect(host.querySelector('[data-testid=device-removed-banner]')!.textContent).toContain('This device was removed from Alice');
    expect(button('Remove')).toBeUndefined();
    // Another identity's news changes nothing here.
    const listed = engine.calls.filter((c) => c.channel === 'devices/list').length;
    engine.change({}, { identityId: 'someone else', alarm: true });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(engine.calls.filter((c) => c.channel === 'devices/list').length).toBe(listed);
  });

  it('a device that joined through another one: the notice and the banner say who added it and what to do, it is marked new until “It was me”', async () => {
    const engine = fakeEngine(baseList());
    render(engine, () => createElement('div', null, createElement(DeviceAlarmBanner), createElement(DevicesPanel)));
    await until(() => rows().length === 2);
    const tablet = { deviceId: THIEF, name: 'Tablet\u202e', addedDay: 20_002, self: false, lastSeen: null };
    engine.change(
      { devices: [...baseList().devices, tablet], joined: [{ deviceId: THIEF, name: 'Tablet\u202e', addedBy: 'Laptop', at: 5 }] },
      { identityId: me.id, alarm: false, joined: [{ deviceId: THIEF, name: 'Tablet', addedBy: 'Laptop' }] },
    );
    const sentence = 'A new device, Tablet, was linked to Alice (added by Laptop). If you did not do this, remove it and replace your identity key.';
    await until(() => host.querySelector('[data-testid=device-joined]')?.textContent?.includes(sentence) === true);
    const banner = host.querySelector('[data-testid=device-joined-banner]')!;
    expect(banner.getAttribute('role')).toBe('alert');
    expect(banner.textContent).toContain(sentence);
    expect(rows()[2]!.querySelector('[data-testid=device-new]')?.textContent).toBe('New');
    expect(rows()[1]!.querySelector('[data-testid=device-new]')).toBeNull();

    await userEvent.click(button('It was me')!);
    await until(() => host.querySelector('[data-testid=device-joined]') === null);
    expect(engine.calls.find((c) => c.channel === 'devices/confirmJoined')!.request).toEqual({ identityId: me.id, deviceId: THIEF });
    expect(rows()[2]!.querySelector('[data-testid=device-new]')).toBeNull();
    // The banner follows the next devices/changed (any news of the identity).
    engine.change({}, { identityId: me.id, alarm: false });
    await until(() => host.querySelector('[data-testid=device-joined-banner]') === null);
  });

  it('a join is a system notification in the desktop app (one per device), none elsewhere', async () => {
    const engine = fakeEngine(baseList());
    flushSync(() => {
      useSession.getState().setBridge(engine.bridge);
      useSession.getState().setIdentities([me]);
    });
    const event = { identityId: me.id, alarm: false, joined: [{ deviceId: THIEF, name: 'Tablet', addedBy: null }] };
    expect(await notifyJoined(engine.bridge, event)).toBe(0);
    useSession.setState({ appInfo: { capabilities: { notifications: true } } } as never);
    expect(await notifyJoined(engine.bridge, event)).toBe(1);
    expect(await notifyJoined(engine.bridge, { identityId: me.id, alarm: false })).toBe(0);
    expect(engine.calls.filter((c) => c.channel === 'notifications/show').map((c) => c.request)).toEqual([
      { title: 'New device linked', body: 'A new device, Tablet, was linked to Alice (added by a device this one does not know). If you did not do this, remove it and replace your identity key.' },
    ]);
  });
});
