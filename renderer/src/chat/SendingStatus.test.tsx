/**
 * A sending message's status line in real Chromium, against a bridge that sends the engine's events:
 * while the engine computes a proof-of-work stamp it says so with the share done (never 100 % before
 * the end), Cancel stays on the bubble, and the next status of the message takes the progress away.
 */
import { createElement } from 'react';
import { flushSync } from 'react-dom';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Channel, EventMap, EventName } from '../../../shared/ipc/contract.js';
import type { EngineBridge } from '../bridge/transport.js';
import { database } from '../db/database.js';
import type { MessageRecord } from '../db/records.js';
import { setDatabaseKey } from '../db/sealing.js';
import { useSession } from '../stores/sessionStore.js';
import { reactView, until } from '../test/reactView.js';
import { MessageBubble } from './MessageBubble.js';
import { useStampProgress } from './stampProgress.js';
import { useSavedSettings } from '../settings/savedSettings.js';

const TEST_KEY = btoa(String.fromCharCode(...new Uint8Array(32).fill(12)));
const CONTACT = 'c'.repeat(64);

/** A bridge whose events the test sends; it records what the UI invoked. */
function fakeEngine(answers: Partial<Record<Channel, unknown>> = {}) {
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  const calls: Array<[Channel, unknown]> = [];
  const bridge = {
    kind: 'websocket',
    async invoke(channel: Channel, request: unknown) {
      calls.push([channel, request]);
      return { ok: true, value: answers[channel] ?? null };
    },
    on(name: string, listener: (payload: unknown) => void) {
      const set = listeners.get(name) ?? new Set();
      set.add(listener);
      listeners.set(name, set);
      return () => set.delete(listener);
    },
    connectionState: () => 'open',
    onConnectionChange: () => () => undefined,
  } as unknown as EngineBridge;
  const emit = <N extends EventName>(name: N, payload: EventMap[N]) => flushSync(() => listeners.get(name)?.forEach((l) => l(payload)));
  const listening = (name: string) => listeners.get(name)?.size ?? 0;
  return { bridge, emit, calls, listening };
}

function sending(localId: string): MessageRecord {
  return {
    id: `m-${localId}`,
    localId,
    identityId: 'me',
    contactKey: CONTACT,
    direction: 'out',
    kind: 'text',
    text: 'hello',
    status: 'sending',
    sortAt: Date.now(),
  } as unknown as MessageRecord;
}

const view = reactView();

beforeEach(async () => {
  await setDatabaseKey(TEST_KEY);
  await database().contacts.clear();
  await database().messages.clear();
  await database().contacts.put({
    identityId: 'me',
    publicKey: CONTACT,
    alias: 'Bob',
    aliasLower: 'bob',
    dropUrls: ['https://drop.example:8443/x', 'https://drop.example:8443/y'],
    offeredDropUrls: [],
    status: 'accepted',
    createdAt: 1,
  } as never);
  useSession.setState(useSession.getInitialState(), true);
  useStampProgress.setState(useStampProgress.getInitialState(), true);
  useSavedSettings.setState({ settings: null });
  view.attach();
});
afterEach(async () => {
  view.detach();
  await database().contacts.clear();
  await database().messages.clear();
});

function render(engine: ReturnType<typeof fakeEngine>, message: MessageRecord) {
  flushSync(() => useSession.getState().setBridge(engine.bridge));
  view.mount(createElement(MessageBubble, { message }));
}

const progressText = () => view.host.querySelector('[data-testid=stamp-progress]')?.textContent ?? null;

describe('SendingStatus: proof of work', () => {
  it('shows the stamp’s progress for the contact’s server, at most 99 %, with Cancel at hand', async () => {
    const engine = fakeEngine();
    const message = sending('L1');
    await database().messages.put(message);
    render(engine, message);
    await until(() => engine.listening('outbox/stampProgress') === 1);
    expect(progressText()).toBeNull();

    engine.emit('outbox/status', { localId: 'L1', status: 'sending', reason: { kind: 'rateLimited', detail: 'pow', retryAt: null } });
    engine.emit('outbox/stampProgress', { localId: 'L1', hashes: 0, expected: 4096 });
    await until(() => progressText() === 'Proving work for drop.example:8443… 0 %');
    engine.emit('outbox/stampProgress', { localId: 'L1', hashes: 1720, expected: 4096 });
    await until(() => progressText() === 'Proving work for drop.example:8443… 41 %');
    expect((view.host.querySelector('progress') as HTMLProgressElement).value).toBe(41);
    // An unlucky search goes past the average: still under way, so never 100 %.
    engine.emit('outbox/stampProgress', { localId: 'L1', hashes: 9000, expected: 4096 });
    await until(() => progressText() === 'Proving work for drop.example:8443… 99 %');

    // Another message's progress is not this one's.
    engine.emit('outbox/stampProgress', { localId: 'L2', hashes: 4000, expected: 4096 });
    expect(progressText()).toContain('99 %');

    const cancel = [...view.host.querySelectorAll('button')].find((b) => b.textContent === 'Cancel sending')!;
    cancel.click();
    await until(() => engine.calls.some(([channel]) => channel === 'messages/cancel'));
    expect(engine.calls.find(([channel]) => channel === 'messages/cancel')![1]).toEqual({ localId: 'L1' });
  });

  it('takes the progress away when the message’s status changes, and keeps nothing in IndexedDB', async () => {
    const engine = fakeEngine();
    const stored = sending('L1');
    await database().messages.put(stored);
    render(engine, stored);
    await until(() => engine.listening('outbox/stampProgress') === 1);
    engine.emit('outbox/stampProgress', { localId: 'L1', hashes: 2048, expected: 4096 });
    await until(() => progressText() !== null);
    // Copies going out are still this send: the progress stays.
    engine.emit('outbox/status', { localId: 'L1', status: 'sending', copies: { posted: 0, wanted: 2 } });
    expect(progressText()).toContain('50 %');

    // The server still refused: the next try is scheduled and the line says why instead.
    engine.emit('outbox/status', { localId: 'L1', status: 'sending', reason: { kind: 'rateLimited', detail: 'x', retryAt: Date.now() + 60_000 } });
    await until(() => progressText() === null);
    expect(view.host.querySelector('[data-testid=sending-status]')!.textContent).toContain('asked to slow down');

    engine.emit('outbox/stampProgress', { localId: 'L1', hashes: 100, expected: 4096 });
    await until(() => progressText() !== null);
    engine.emit('outbox/status', { localId: 'L1', status: 'posted' });
    await until(() => progressText() === null);
    expect(useStampProgress.getState().byLocalId).toEqual({});
    // Nothing of the stamp went to IndexedDB: the stored message is the one put there.
    expect(await database().messages.get('m-L1')).toEqual(stored);
  });

  it('says “the recipient’s drop server” when the contact’s drops are on several servers', async () => {
    await database().contacts.update(['me', CONTACT], { dropUrls: ['https://a.example/x', 'https://b.example/y'] });
    const engine = fakeEngine();
    render(engine, sending('L1'));
    await until(() => engine.listening('outbox/stampProgress') === 1);
    engine.emit('outbox/stampProgress', { localId: 'L1', hashes: 1, expected: 4096 });
    await until(() => progressText() === 'Proving work for the recipient’s drop server… 0 %');
  });

  it('follows the events once however many messages show, and stops when none does', async () => {
    const engine = fakeEngine();
    flushSync(() => useSession.getState().setBridge(engine.bridge));
    view.mount([createElement(MessageBubble, { key: 1, message: sending('L1') }), createElement(MessageBubble, { key: 2, message: sending('L2') })]);
    await until(() => engine.listening('outbox/stampProgress') === 1);
    view.render(null);
    expect(engine.listening('outbox/stampProgress')).toBe(0);
  });
});

describe('SendingStatus: traffic budget', () => {
  const settings = (preset: 'off' | 'low' | 'high') => ({
    pollIntervalMs: 30_000, push: true, proxy: { kind: 'none' }, allowLocalNetwork: false, autoLockMinutes: 0, sendReceipts: true,
    trafficBudget: { preset, custom: { slotSeconds: 600, postsPerSlot: 1, page: 2 } },
  });
  const slotText = () => view.host.querySelector('[data-testid=slot-wait]')?.textContent ?? null;

  it('a message waiting for a slot says so, with the longest wait left (Low: slots about 15 min apart)', async () => {
    const engine = fakeEngine({ 'settings/get': settings('low') });
    // Queued five minutes ago: at most 1.25 × 15 − 5 = 13.75 min to go.
    render(engine, { ...sending('L1'), sortAt: Date.now() - 5 * 60_000 });
    await until(() => slotText() !== null);
    expect(slotText()).toBe('Waiting for the next send slot, within about 14 min.');
    expect(engine.calls.filter(([channel]) => channel === 'settings/get')).toHaveLength(1);

    // A reason from the engine (the server is down) is the wait that counts.
    engine.emit('outbox/status', { localId: 'L1', status: 'sending', reason: { kind: 'serverError', detail: 'x', retryAt: Date.now() + 60_000 } });
    await until(() => slotText() === null);
    expect(view.host.querySelector('[data-testid=sending-status]')!.textContent).toContain('has trouble');
  });

  it('High, long overdue: within a minute; Off: no slot line', async () => {
    render(fakeEngine({ 'settings/get': settings('high') }), { ...sending('L1'), sortAt: Date.now() - 10 * 60_000 });
    await until(() => slotText() !== null);
    expect(slotText()).toBe('Waiting for the next send slot, within a minute.');
    view.unmount();
    useSavedSettings.setState({ settings: null });
    const off = fakeEngine({ 'settings/get': settings('off') });
    flushSync(() => useSession.getState().setBridge(off.bridge));
    view.mount(createElement(MessageBubble, { message: sending('L2') }));
    await until(() => useSavedSettings.getState().settings !== null);
    expect(slotText()).toBeNull();
  });
});
