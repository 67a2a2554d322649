/**
 * Settings → Devices, replacing the identity key (RotateIdentityKey.tsx) in real Chromium with the real
 * database: only after a confirmation that says what it does (the thief caveat included), naming the
 * accepted and verified contacts to the engine, never requests, blocked ones or contacts without an address.
 */
import { createElement } from 'react';
import { flushSync } from 'react-dom';
import { type Root, createRoot } from 'react-dom/client';
import { userEvent } from 'vitest/browser';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Channel, DeviceListStatus, IdentitySummary } from '../../../shared/ipc/contract.js';
import type { EngineBridge } from '../bridge/transport.js';
import { database } from '../db/database.js';
import type { ContactRecord, ContactStatus } from '../db/records.js';
import { deleteTestDatabases, openTestDatabase } from '../db/testDatabase.js';
import { useSession } from '../stores/sessionStore.js';
import { ROTATE_EXPLAINED, RotateIdentityKey } from './RotateIdentityKey.js';
import { ownRotationLine } from './keyRotation.js';

const me: IdentitySummary = { id: 'rotate-me', alias: 'Alice', publicKey: 'a1'.repeat(32), dropUrls: ['https://drop.example/a'], dropBits: 256, createdAt: 1 };
const list = (over: Partial<DeviceListStatus> = {}): DeviceListStatus => ({
  epoch: 4,
  hash: '0a0b0c0d',
  devices: [{ deviceId: '1111111111111111', name: 'Desktop', addedDay: 20_000, self: true, lastSeen: null }],
  removed: ['9999999999999999'],
  alarms: [],
  removedAt: null,
  ...over,
});

function contact(publicKey: string, status: ContactStatus, dropUrls = ['https://drop.example/c']): ContactRecord {
  return { identityId: me.id, publicKey, alias: publicKey.slice(0, 4), aliasLower: '', dropUrls, offeredDropUrls: [], status, createdAt: 1 };
}

let host: HTMLDivElement;
let root: Root | null = null;
const calls: { channel: Channel; request: Record<string, unknown> }[] = [];
const bridge = {
  kind: 'websocket',
  async invoke(channel: Channel, request: Record<string, unknown>) {
    calls.push({ channel, request });
    if (channel === 'devices/rotateKey') return { ok: true, value: { publicKey: 'c3'.repeat(32), contacts: (request.contacts as unknown[]).length, siblings: 0 } };
    return { ok: true, value: null };
  },
  on: () => () => undefined,
  connectionState: () => 'open',
  onConnectionChange: () => () => undefined,
} as unknown as EngineBridge;

beforeEach(async () => {
  await openTestDatabase('rotate-panel');
  calls.length = 0;
  useSession.setState(useSession.getInitialState(), true);
  flushSync(() => {
    useSession.getState().setBridge(bridge);
    useSession.getState().setIdentities([me]);
  });
  host = document.createElement('div');
  document.body.append(host);
});
afterEach(async () => {
  root?.unmount();
  root = null;
  host.remove();
  await database().contacts.where('identityId').equals(me.id).delete();
  await database().messages.where('[identityId+contactKey+sortAt]').between([me.id, '', -Infinity], [me.id, '\uffff', Infinity]).delete();
  await database().conversations.where('[identityId+lastMessageAt]').between([me.id, -Infinity], [me.id, Infinity]).delete();
  await deleteTestDatabases();
});

const button = (text: string) => [...host.querySelectorAll('button')].find((b) => b.textContent === text) as HTMLButtonElement | undefined;

describe('replacing the identity key', () => {
  it('asks first, then names accepted and verified contacts with an address to the engine', async () => {
    await database().contacts.bulkPut([
      contact('b0'.repeat(32), 'accepted'),
      contact('b1'.repeat(32), 'verified'),
      contact('b2'.repeat(32), 'unknown'),
      contact('b3'.repeat(32), 'blocked'),
      contact('b4'.repeat(32), 'accepted', []),
    ]);
    root = createRoot(host);
    flushSync(() => root!.render(createElement(RotateIdentityKey, { identity: me, list: list() })));
    // A device was removed: the panel urges the replacement.
    expect(host.textContent).toContain('still holds the key of Alice');
    await userEvent.click(button('Replace the identity key…')!);
    expect(host.textContent).toContain(ROTATE_EXPLAINED);
    expect(ROTATE_EXPLAINED).toContain('Whoever holds the old key');
    expect(calls.some((c) => c.channel === 'devices/rotateKey')).toBe(false);
    await userEvent.click(button('Replace the key now')!);
    await vi.waitFor(() => expect(host.querySelector('[data-testid=rotate-outcome]')?.textContent).toContain('2 contact(s)'));
    const sent = calls.find((c) => c.channel === 'devices/rotateKey')!.request as { identityId: string; contacts: { publicKey: string }[] };
    expect(sent.identityId).toBe(me.id);
    expect(sent.contacts.map((c) => c.publicKey).sort()).toEqual(['b0'.repeat(32), 'b1'.repeat(32)]);
    // Each told contact's conversation says it.
    const lines = await database().messages.where('[identityId+contactKey+sortAt]').between([me.id, 'b0'.repeat(32), -Infinity], [me.id, 'b0'.repeat(32), Infinity]).toArray();
    expect(lines.map((m) => m.text)).toEqual([ownRotationLine('c3'.repeat(8))]);
    expect(await database().conversations.get([me.id, 'b1'.repeat(32)])).toMatchObject({ messageCount: 1, lastMessageDirection: 'out' });
  });

  it('is not offered on a device another one removed', () => {
    root = createRoot(host);
    flushSync(() => root!.render(createElement(RotateIdentityKey, { identity: me, list: list({ removedAt: 5 }) })));
    expect(host.querySelector('[data-testid=rotate-key]')).toBeNull();
  });
});
