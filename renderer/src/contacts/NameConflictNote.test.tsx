/**
 * After a stranger with an existing contact's name is accepted, the two chats must not differ only by
 * avatar: the newer one keeps a note in real Chromium against real IndexedDB, until it is verified or
 * either is renamed apart.
 */
import { createElement } from 'react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { database } from '../db/database.js';
import type { ContactRecord } from '../db/records.js';
import { setDatabaseKey } from '../db/sealing.js';
import { useLiveQuery } from '../db/useLiveQuery.js';
import { useSession } from '../stores/sessionStore.js';
import { reactView, until } from '../test/reactView.js';
import { ContactDetails } from './ContactDetails.js';
import { NameConflictNote } from './NameConflictNote.js';
import { olderNamesake } from './lookalikeNames.js';

const TEST_KEY = btoa(String.fromCharCode(...new Uint8Array(32).fill(21)));
const BOB = 'b'.repeat(64);
const FAKE = 'f'.repeat(64);

function contact(publicKey: string, alias: string, status: ContactRecord['status'], createdAt: number): ContactRecord {
  return { identityId: 'me', publicKey, alias, aliasLower: alias.toLowerCase(), dropUrls: ['https://drop.example/x'], offeredDropUrls: [], status, createdAt };
}

const view = reactView();

beforeEach(async () => {
  await setDatabaseKey(TEST_KEY);
  await database().contacts.clear();
  useSession.setState(useSession.getInitialState(), true);
  view.attach();
});
afterEach(async () => {
  view.detach();
  await database().contacts.clear();
});

/** The note of one stored contact, following its record as it changes. */
function Live({ publicKey }: { publicKey: string }) {
  const record = useLiveQuery(() => database().contacts.get(['me', publicKey]), [publicKey], undefined);
  return record ? createElement(NameConflictNote, { contact: record }) : null;
}

function render(publicKey: string) {
  view.mount(createElement(Live, { publicKey }));
}

const note = () => view.host.querySelector('[data-testid=name-conflict]')?.textContent ?? null;

describe('NameConflictNote', () => {
  it('the newer of two contacts that look alike carries a note until verified or renamed apart', async () => {
    await database().contacts.bulkPut([contact(BOB, 'Bob', 'accepted', 1000), contact(FAKE, 'bob', 'unknown', 2000)]);
    render(FAKE);
    // A request has its own warning (RequestBar): no note yet.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(note()).toBeNull();

    await database().contacts.update(['me', FAKE], { status: 'accepted' });
    await until(() => note() !== null);
    expect(note()).toMatch(/^Not the same person as your contact Bob: different key\./);

    // The older contact carries no note.
    render(BOB);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(note()).toBeNull();

    render(FAKE);
    await until(() => note() !== null);
    await database().contacts.update(['me', FAKE], { alias: 'Bob from the gym', aliasLower: 'bob from the gym' });
    await until(() => note() === null);
    await database().contacts.update(['me', FAKE], { alias: 'BОB', aliasLower: 'bоb' }); // Cyrillic О: looks the same
    await until(() => note() !== null);
    await database().contacts.update(['me', FAKE], { status: 'verified' });
    await until(() => note() === null);
  });

  it('shows in the contact details', async () => {
    await database().contacts.bulkPut([contact(BOB, 'Bob', 'verified', 1000), contact(FAKE, 'Bob', 'accepted', 2000)]);
    view.mount(createElement(ContactDetails, { contact: contact(FAKE, 'Bob', 'accepted', 2000) }));
    await until(() => note() !== null);
  });

  it('olderNamesake: only accepted or verified contacts, another key, earlier (ties by key)', () => {
    const bob = contact(BOB, 'Bob', 'accepted', 1000);
    expect(olderNamesake(contact(FAKE, 'Bob', 'accepted', 1000), [bob])).toBe(bob);
    expect(olderNamesake(bob, [contact(FAKE, 'Bob', 'accepted', 1000)])).toBeNull();
    expect(olderNamesake(contact(FAKE, 'Bob', 'accepted', 2000), [{ ...bob, status: 'blocked' }])).toBeNull();
    expect(olderNamesake(contact(FAKE, 'Bob', 'accepted', 2000), [{ ...bob, publicKey: FAKE }])).toBeNull();
  });
});
