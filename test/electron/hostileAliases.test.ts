/**
 * A stranger's alias reaches three places outside the page's DOM: the notification the UI composes
 * (and main shows), the tray tooltip and the window title. In each it is one plain, bounded line:
 * markup stays characters, bidi overrides and line breaks are gone, and 10,000 characters are cut.
 */
import { describe, expect, it } from 'vitest';
import { requestSchemas } from '../../shared/ipc/contract.js';
import { BIDI_CONTROL, UNSAFE_CHARACTER, flattenUnsafe } from '../../shared/text/untrustedText.js';
import { notificationText } from '../../renderer/src/desktop/notificationText.js';
import type { ContactRecord, MessageRecord } from '../../renderer/src/db/records.js';
import { presentUnread } from '../../electron/main/trayPresenter.js';

const markup = '<img src=x onerror="alert(1)"><b>Bob</b>';
const bidi = 'Bob\u202Egnp.exe\u2066\u2067\u200F';
const lines = 'Bob\nBank: your code is 1234\r\u2028\u0007\u001b[31m';
const long = 'A'.repeat(10_000);
const aliases = { markup, bidi, lines, long, all: `${markup}${bidi}${lines}${long}` };

const senderKey = 'c'.repeat(64);
const message = (text: string): MessageRecord =>
  ({ id: 'in:1', identityId: 'me', contactKey: senderKey, direction: 'in', kind: 'text', text, sortAt: 1, createdAt: 1 }) as MessageRecord;
const stranger = (alias: string): ContactRecord => ({
  identityId: 'me', publicKey: senderKey, alias, aliasLower: alias.toLowerCase(), dropUrls: [], offeredDropUrls: [], status: 'unknown', createdAt: 1,
});

describe('hostile aliases outside the DOM', () => {
  it.each(Object.entries(aliases))('a notification about %s is one plain, bounded line', (_kind, alias) => {
    const shown = notificationText(message(`${alias} says hi`), stranger(alias), 'nameAndText');
    for (const line of [shown.title, shown.body]) {
      expect(line).not.toMatch(BIDI_CONTROL);
      expect(line).not.toMatch(new RegExp(UNSAFE_CHARACTER.source, 'u'));
      expect(flattenUnsafe(line)).toBe(line);
    }
    expect(shown.title.length).toBeLessThanOrEqual(64 + ' (unverified)'.length);
    expect(shown.title.endsWith(' (unverified)')).toBe(true);
    expect(shown.body.length).toBeLessThanOrEqual(180);
    // Markup is characters, not a tag: the OS shows it as typed (no notification server renders it as HTML here).
    if (alias === markup) expect(shown.title).toContain('<img src=x');
    // What the UI composed passes main's boundary as it is.
    expect(requestSchemas['notifications/show'].safeParse({ ...shown, conversation: { identityId: 'me', contactKey: senderKey } }).success).toBe(true);
  });

  it('names nobody where the privacy setting says so', () => {
    expect(notificationText(message('secret'), stranger(aliases.all), 'nothing')).toEqual({ title: 'Deaddrop', body: 'New message' });
    expect(notificationText(message('secret'), stranger(aliases.all), 'nameOnly').body).toBe('New message');
  });

  it('keeps the tray tooltip and title to the count: no alias ever reaches them', () => {
    const shown: string[] = [];
    const tray = { setToolTip: (t: string) => shown.push(t), setTitle: (t: string) => shown.push(t) };
    presentUnread(1_000_000, { platform: 'linux', tray, setBadgeCount: () => true, window: () => null, overlayIcon: null });
    expect(shown).toEqual(['Deaddrop: 1000000 unread messages', '1000000']);
  });
});
