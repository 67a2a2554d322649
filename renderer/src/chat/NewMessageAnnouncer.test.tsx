/**
 * What screen readers hear in an open conversation, in real Chromium against the real database: a
 * message from the contact is announced; a line about the conversation (the contact moved their drop,
 * or we moved ours) is not, and a line of ours leaves no "You:" in the chat list's preview either.
 */
import { createElement } from 'react';
import { flushSync } from 'react-dom';
import { type Root, createRoot } from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { database } from '../db/database.js';
import type { MessageRecord } from '../db/records.js';
import { setDatabaseKey } from '../db/sealing.js';
import { eventRecord, storeEventLines } from '../modules/contactUpdate.js';
import { NewMessageAnnouncer } from './NewMessageAnnouncer.js';

const TEST_KEY = btoa(String.fromCharCode(...new Uint8Array(32).fill(21)));
const BOB = 'b'.repeat(64);

let host: HTMLDivElement;
let root: Root | null = null;
let heard: string[] = [];
let observer: MutationObserver | null = null;

beforeEach(async () => {
  await setDatabaseKey(TEST_KEY);
  await database().messages.clear();
  await database().conversations.clear();
  host = document.createElement('div');
  document.body.append(host);
  heard = [];
});
afterEach(async () => {
  observer?.disconnect();
  observer = null;
  root?.unmount();
  root = null;
  host.remove();
  await database().messages.clear();
  await database().conversations.clear();
});

/** An incoming chat message and the conversation as the inbox writer leaves it. */
async function receive(id: string, text: string, at: number) {
  const db = database();
  await db.messages.put({
    id, identityId: 'me', contactKey: BOB, direction: 'in', kind: 'text', text, payloadType: 'box_message', payload: '', share: null,
    sortAt: at, createdAt: at, status: null, localId: null, error: null, ackIds: [], ackedIds: [], parts: null, read: false,
  } satisfies MessageRecord);
  const conversation = await db.conversations.get(['me', BOB]);
  await db.conversations.put({
    identityId: 'me', contactKey: BOB, lastMessageAt: at, lastMessagePreview: text, lastMessageDirection: 'in',
    unreadCount: (conversation?.unreadCount ?? 0) + 1, messageCount: (conversation?.messageCount ?? 0) + 1,
  });
}

/** Renders the announcer and records every text its live region takes. */
async function render() {
  root = createRoot(host);
  flushSync(() => root!.render(createElement(NewMessageAnnouncer, { identityId: 'me', contactKey: BOB, alias: 'Bob' })));
  const region = host.querySelector('[data-testid=new-message-announcement]')!;
  observer = new MutationObserver(() => {
    if (region.textContent) heard.push(region.textContent);
  });
  observer.observe(region, { childList: true, characterData: true, subtree: true });
  // The live query's first answer (what was there when the chat opened) is no news: let it come.
  await new Promise((resolve) => setTimeout(resolve, 300));
}

/** Lets the live query answer a change that must not be announced (waiting longer could only hide a bug, never invent one). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

describe('NewMessageAnnouncer', () => {
  it('announces the contact’s messages, not lines about the conversation from either side', async () => {
    await receive('in:1', 'Hello', 1000);
    await render();
    expect(heard).toEqual([]);

    await receive('in:2', 'Are you there?', 2000);
    await vi.waitFor(() => expect(heard).toEqual(['New message from Bob: Are you there?']), { timeout: 10_000, interval: 10 });

    // Bob moved his drop (their update), then we moved ours: two lines, neither is a message.
    await storeEventLines(database(), [eventRecord('event:1', 'me', BOB, 'in', ['Bob now receives at another drop on drop.example'], 3000)]);
    await settle();
    await storeEventLines(database(), [eventRecord('event:2', 'me', BOB, 'out', ['You now receive at another drop on drop.example'], 4000)]);
    await settle();
    expect(heard).toEqual(['New message from Bob: Are you there?']);
    expect(await database().conversations.get(['me', BOB])).toMatchObject({
      lastMessageAt: 4000,
      lastMessagePreview: 'You now receive at another drop on drop.example',
      lastMessageDirection: 'in',
    });

    await receive('in:3', 'Got your new address', 5000);
    await vi.waitFor(() => expect(heard.at(-1)).toBe('New message from Bob: Got your new address'), { timeout: 10_000, interval: 10 });
    expect(heard).toEqual(['New message from Bob: Are you there?', 'New message from Bob: Got your new address']);
  });
});
