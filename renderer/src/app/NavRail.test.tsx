/**
 * The identity switcher in real Chromium with the app's styles: closed, it shows the active
 * identity's name whole (with an unread count it read "Alice (1 …" in the 12rem rail); the other
 * identities' counts are in its list.
 */
import { createElement } from 'react';
import { flushSync } from 'react-dom';
import { type Root, createRoot } from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import '../styles/app.css';
import type { IdentitySummary } from '../../../shared/ipc/contract.js';
import { database } from '../db/database.js';
import { setDatabaseKey } from '../db/sealing.js';
import { useSession } from '../stores/sessionStore.js';
import { NavRail } from './NavRail.js';

const TEST_KEY = btoa(String.fromCharCode(...new Uint8Array(32).fill(51)));

function identity(id: string, alias: string): IdentitySummary {
  return { id, alias, publicKey: id.repeat(64), dropUrls: [], dropBits: 256, createdAt: 1 };
}

let host: HTMLDivElement;
let root: Root | null = null;

beforeEach(async () => {
  await setDatabaseKey(TEST_KEY);
  const db = database();
  await Promise.all([db.contacts.clear(), db.conversations.clear()]);
  for (const [identityId, unreadCount] of [['a', 1], ['b', 12]] as const) {
    await db.contacts.put({ identityId, publicKey: 'c'.repeat(64), alias: 'Carla', aliasLower: 'carla', dropUrls: [], offeredDropUrls: [], status: 'accepted', createdAt: 1 });
    await db.conversations.put({ identityId, contactKey: 'c'.repeat(64), lastMessageAt: 1, lastMessagePreview: 'hi', lastMessageDirection: 'in', unreadCount, messageCount: unreadCount });
  }
  useSession.setState({ identities: [identity('a', 'Alice'), identity('b', 'Work')], activeIdentityId: 'a' });
  host = document.createElement('div');
  host.className = 'shell';
  host.style.cssText = 'width: 1200px; height: 600px;';
  document.body.append(host);
});
afterEach(async () => {
  root?.unmount();
  root = null;
  host.remove();
  await Promise.all([database().contacts.clear(), database().conversations.clear()]);
});

describe('NavRail identity switcher', () => {
  it('shows the active name whole, the others with their unread counts', async () => {
    root = createRoot(host);
    flushSync(() => root!.render(createElement(NavRail)));
    const options = () => [...host.querySelectorAll('#identity-switcher option')].map((o) => o.textContent);
    await vi.waitFor(() => expect(options()).toEqual(['Alice', 'Work (12 unread)']), { timeout: 10_000, interval: 10 });
    await vi.waitFor(() => expect(host.querySelector('[data-testid=chats-unread]')?.textContent).toBe('1'), { timeout: 10_000, interval: 10 });
    // What the closed switcher shows fits it: measured with the select's own font in its own width.
    const select = host.querySelector<HTMLSelectElement>('#identity-switcher')!;
    const style = getComputedStyle(select);
    const probe = document.createElement('span');
    probe.style.cssText = `font: ${style.font}; white-space: pre; position: absolute;`;
    probe.textContent = select.selectedOptions[0]!.textContent;
    document.body.append(probe);
    const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    expect(probe.getBoundingClientRect().width).toBeLessThan(room);
    probe.remove();
  });
});
