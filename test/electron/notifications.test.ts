import { describe, expect, it } from 'vitest';
import type { EventMap, IncomingMessage } from '../../shared/ipc/contract.js';
import { NotificationPlanner, type ScreenState } from '../../electron/main/messageNotifications.js';
import { UnreadCounter } from '../../electron/main/unreadCounter.js';
import { presentUnread, trayMenuTemplate, unreadLabel } from '../../electron/main/trayPresenter.js';

const alice = 'a'.repeat(64);
const bob = 'b'.repeat(64);

function message(overrides: Partial<IncomingMessage> = {}): IncomingMessage {
  return {
    dedupeKey: `${alice}:${Math.random()}`,
    identityId: 'me',
    senderKey: alice,
    type: 'box_message',
    payload: '{"msg":"hello there"}',
    text: 'hello there',
    share: null,
    part: null,
    acknowledgeId: '0',
    meta: { alias: 'Alice' },
    sentAt: 1,
    receivedAt: 2,
    dropUrl: 'http://127.0.0.1/x',
    ...overrides,
  };
}
const batch = (...messages: IncomingMessage[]): EventMap['inbox/batch'] => ({ batchId: 'b1', messages, receipts: [] });
const screen = (overrides: Partial<ScreenState> = {}): ScreenState => ({
  conversationOnScreen: null,
  preview: 'nameAndText',
  contactNames: new Map(),
  ...overrides,
});

describe('notification privacy and targeting', () => {
  it('shows name and text, name only, or nothing as the setting says', () => {
    const m = message();
    expect(new NotificationPlanner().plan(batch(m), screen())).toEqual([
      { title: 'Alice (unverified)', body: 'hello there', conversation: { identityId: 'me', contactKey: alice } },
    ]);
    const nameOnly = new NotificationPlanner().plan(batch(m), screen({ preview: 'nameOnly' }));
    expect(nameOnly[0]).toMatchObject({ title: 'Alice (unverified)', body: 'New message' });
    expect(JSON.stringify(nameOnly)).not.toContain('hello');
    const nothing = new NotificationPlanner().plan(batch(m), screen({ preview: 'nothing' }));
    expect(nothing[0]).toMatchObject({ title: 'Deaddrop', body: 'New message' });
    expect(JSON.stringify(nothing)).not.toMatch(/hello|Alice/);
  });
  it('prefers the name the user gave the contact and falls back to a key prefix', () => {
    const names = new Map([[alice, 'Alice from work']]);
    expect(new NotificationPlanner().plan(batch(message()), screen({ contactNames: names }))[0]?.title).toBe('Alice from work');
    expect(new NotificationPlanner().plan(batch(message({ meta: null })), screen())[0]?.title).toBe(`Unknown contact ${alice.slice(0, 8)}`);
  });
  it('stays silent for the conversation on screen but not for others', () => {
    const planned = new NotificationPlanner().plan(
      batch(message(), message({ senderKey: bob, meta: { alias: 'Bob' } })),
      screen({ conversationOnScreen: { identityId: 'me', contactKey: alice } }),
    );
    expect(planned.map((p) => p.conversation.contactKey)).toEqual([bob]);
  });
  it('announces a redelivered batch and a split text once, and never receipts or unknown types', () => {
    const planner = new NotificationPlanner();
    const part = (index: number) => message({ dedupeKey: `${alice}:p${index}`, part: { groupId: 'g', index, count: 2 } });
    const first = batch(message({ dedupeKey: 'k1' }), part(0), part(1), message({ dedupeKey: 'k2', type: 'x_custom', text: null }));
    expect(planner.plan(first, screen())).toHaveLength(2);
    expect(planner.plan(first, screen())).toHaveLength(0);
  });
  it('keeps control and bidi-override characters out of names and text', () => {
    const spoof = message({ meta: { alias: 'Bob\u202e)deifirev(\u202c\nBank' }, text: 'line1\r\nline2\u0007' });
    const [planned] = new NotificationPlanner().plan(batch(spoof), screen());
    expect(planned?.title).toBe('Bob )deifirev( Bank (unverified)');
    expect(planned?.body).toBe('line1 line2');
    const named = new NotificationPlanner().plan(batch(message()), screen({ contactNames: new Map([[alice, '\u2067Eve\u2069']]) }));
    expect(named[0]?.title).toBe('Eve');
  });
  it('describes shared files and shortens long texts', () => {
    const share = message({ type: 'box_share_notification', share: { file: 'photo.jpg', url: 'https://x', size: 3 } });
    expect(new NotificationPlanner().plan(batch(share), screen())[0]?.body).toBe('Shared a file: photo.jpg');
    const long = new NotificationPlanner().plan(batch(message({ text: 'x'.repeat(1000) })), screen())[0]?.body ?? '';
    expect(long.length).toBeLessThanOrEqual(180);
  });
});

describe('unread count and tray', () => {
  it('adds new messages between UI reports and takes the UI count when it comes', () => {
    const counter = new UnreadCounter();
    const m1 = message({ dedupeKey: 'k1' });
    counter.addBatch(batch(m1, message({ dedupeKey: 'k2' })), null);
    counter.addBatch(batch(m1), null);
    expect(counter.count).toBe(2);
    counter.addBatch(batch(message({ dedupeKey: 'k3' })), { identityId: 'me', contactKey: alice });
    expect(counter.count).toBe(2);
    counter.report(7);
    expect(counter.count).toBe(7);
    counter.addBatch(batch(message({ dedupeKey: 'k4' })), null);
    expect(counter.count).toBe(8);
    counter.report(0);
    expect(counter.count).toBe(0);
  });
  it('shows the count as badge and title on macOS and Linux, as overlay on Windows, always in the tooltip', () => {
    const calls: string[] = [];
    const tray = { setToolTip: (t: string) => calls.push(`tooltip ${t}`), setTitle: (t: string) => calls.push(`title ${t}`) };
    const window = { isDestroyed: () => false, setOverlayIcon: (icon: unknown, text: string) => calls.push(`overlay ${icon === null ? 'none' : 'dot'} ${text}`) };
    const targets = (platform: NodeJS.Platform) => ({
      platform,
      tray,
      setBadgeCount: (n: number) => calls.push(`badge ${n}`) > 0,
      window: () => window,
      overlayIcon: {} as never,
    });
    presentUnread(3, targets('linux'));
    expect(calls.splice(0)).toEqual(['tooltip Deaddrop: 3 unread messages', 'badge 3', 'title 3']);
    presentUnread(1, targets('win32'));
    expect(calls.splice(0)).toEqual(['tooltip Deaddrop: 1 unread message', 'overlay dot Deaddrop: 1 unread message']);
    presentUnread(0, targets('win32'));
    expect(calls.splice(0)).toEqual(['tooltip Deaddrop', 'overlay none ']);
    presentUnread(0, targets('darwin'));
    expect(calls.splice(0)).toEqual(['tooltip Deaddrop', 'badge 0', 'title ']);
    expect(unreadLabel(-1)).toBe('Deaddrop');
  });
  it('has Open, Pause polling and Quit in the tray menu', () => {
    const done: string[] = [];
    const menu = trayMenuTemplate(true, { open: () => done.push('open'), setPaused: (p) => done.push(`paused ${p}`), quit: () => done.push('quit') });
    expect(menu.map((item) => item.label ?? item.type)).toEqual(['Open Deaddrop', 'Pause polling', 'separator', 'Quit']);
    expect(menu[1]).toMatchObject({ type: 'checkbox', checked: true });
    const click = (index: number, checked = false) => (menu[index]?.click as (item: { checked: boolean }) => void)({ checked });
    click(0);
    click(1, false);
    click(3);
    expect(done).toEqual(['open', 'paused false', 'quit']);
  });
});
