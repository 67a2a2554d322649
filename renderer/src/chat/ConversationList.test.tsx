/**
 * The chat list's previews in real Chromium against real IndexedDB: a file or text of ours that
 * failed says "Not sent", not "You: …" as if it had gone; a stranger's preview carries no
 * direction override.
 */
import { createElement } from 'react';
import { flushSync } from 'react-dom';
import { type Root, createRoot } from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import '../styles/app.css';
import { database } from '../db/database.js';
import type { ConversationRecord, MessageRecord } from '../db/records.js';
import { setDatabaseKey } from '../db/sealing.js';
import { ConversationList } from './ConversationList.js';

const TEST_KEY = btoa(String.fromCharCode(...new Uint8Array(32).fill(41)));
const BOB = 'b'.repeat(64);
const EVE = 'e'.repeat(64);

function message(id: string, contactKey: string, direction: 'in' | 'out', status: MessageRecord['status'], sortAt: number): MessageRecord {
  return {
    id, identityId: 'me', contactKey, direction, kind: 'share', text: '', payloadType: 'box_share', payload: '', share: null, sortAt, createdAt: sortAt,
    status, localId: direction === 'out' ? id : null, error: null, ackIds: [], ackedIds: [], parts: null, read: true,
  } as MessageRecord;
}

function conversation(contactKey: string, preview: string, direction: 'in' | 'out', at: number): ConversationRecord {
  return { identityId: 'me', contactKey, lastMessageAt: at, lastMessagePreview: preview, lastMessageDirection: direction, unreadCount: 0, messageCount: 1 };
}

let host: HTMLDivElement;
let root: Root | null = null;

beforeEach(async () => {
  await setDatabaseKey(TEST_KEY);
  const db = database();
  await Promise.all([db.contacts.clear(), db.conversations.clear(), db.messages.clear()]);
  await db.contacts.bulkPut(
    [BOB, EVE].map((publicKey) => ({ identityId: 'me', publicKey, alias: publicKey === BOB ? 'Bob' : 'Eve', aliasLower: '', dropUrls: [], offeredDropUrls: [], status: 'accepted' as const, createdAt: 1 })),
  );
  host = document.createElement('div');
  host.style.cssText = 'height: 500px; width: 320px; display: flex;';
  document.body.append(host);
});
afterEach(async () => {
  root?.unmount();
  root = null;
  host.remove();
  const db = database();
  await Promise.all([db.contacts.clear(), db.conversations.clear(), db.messages.clear()]);
});

async function until(condition: () => boolean): Promise<void> {
  await vi.waitFor(() => expect(condition()).toBe(true), { timeout: 10_000, interval: 10 });
}

const previewOf = (alias: string) =>
  [...host.querySelectorAll('[data-testid=conversation-item]')].find((item) => item.querySelector('.conversation-name')?.textContent === alias)?.querySelector('.conversation-preview')
    ?.textContent ?? null;

describe('ConversationList previews', () => {
  it('a failed file of ours reads "Not sent", and "You:" again once it is retried', async () => {
    const db = database();
    await db.conversations.put(conversation(BOB, 'Shared file: report.pdf', 'out', 20));
    await db.messages.bulkPut([message('in1', BOB, 'in', null, 10), message('out1', BOB, 'out', 'failed', 20)]);
    root = createRoot(host);
    flushSync(() => root!.render(createElement(ConversationList, { identityId: 'me' })));
    await until(() => previewOf('Bob')?.includes('Not sent: Shared file: report.pdf') === true);
    expect(host.querySelector('[data-testid=preview-failed]')).not.toBeNull();

    await db.messages.update('out1', { status: 'sending' });
    await until(() => previewOf('Bob')?.includes('You: Shared file: report.pdf') === true);
  });

  it('a preview drops direction overrides', async () => {
    await database().conversations.put(conversation(EVE, 'http://evil.example/\u202Egnp.exe', 'in', 30));
    root = createRoot(host);
    flushSync(() => root!.render(createElement(ConversationList, { identityId: 'me' })));
    await until(() => previewOf('Eve') !== null);
    expect(previewOf('Eve')).toContain('http://evil.example/gnp.exe');
    expect(host.querySelector('.conversation-preview bdi')).not.toBeNull();
  });
});
