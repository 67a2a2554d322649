/**
 * The chat header's forward-secrecy line, in real Chromium, for a contact the engine does not know yet
 * (no message either way, or a restored backup): it must not claim that the contact's app lacks
 * forward secrecy, and a card's prekey says the next message starts a session.
 */
import { createElement } from 'react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SessionsStatus } from '../../../shared/ipc/contract.js';
import { todayDay } from '../contacts/readContact.js';
import { reactView } from '../test/reactView.js';
import { ForwardSecrecy } from './ChatView.js';

const ALICE = 'a'.repeat(64);

const view = reactView();
beforeEach(() => view.attach());
afterEach(() => view.detach());

function shown(status: SessionsStatus, prekeyUntilDay: number | null, alias = 'Alice'): { label: string; why: string } {
  view.mount(createElement(ForwardSecrecy, { status, contactKey: ALICE, alias, prekeyUntilDay }));
  return {
    label: view.host.querySelector('[tabindex="0"]')?.textContent ?? '',
    why: view.host.querySelector('[data-testid=chat-forward-secrecy-why]')?.textContent ?? '',
  };
}

describe('ForwardSecrecy', () => {
  const unknown: SessionsStatus = { sending: true, contacts: {} };

  it('a contact the engine does not know yet: "not yet", with what the first message does', () => {
    expect(shown(unknown, todayDay() + 30)).toEqual({
      label: 'Not forward secret yet',
      why: "Alice's card carried a prekey: your next message starts a forward-secret session.",
    });
    // The card's last day still counts; an expired prekey or none is no promise, and no verdict on their app.
    expect(shown(unknown, todayDay()).why).toMatch(/carried a prekey/);
    for (const prekey of [todayDay() - 1, null]) {
      const { label, why } = shown(unknown, prekey);
      expect(label).toBe('Not forward secret yet');
      expect(why).toMatch(/^It starts once you and Alice have each written once, if Alice's app supports it/);
      expect(label + why).not.toMatch(/does not support/);
    }
  });

  it('what the engine knows wins over the card', () => {
    const since = Date.UTC(2026, 9, 1);
    expect(shown({ sending: true, contacts: { [ALICE]: { protocol: 1, since } } }, todayDay() + 30).label).toBe(`Forward secret since ${new Date(since).toLocaleDateString()}`);
    expect(shown({ sending: false, contacts: {} }, todayDay() + 30).label).toBe('Not forward secret');
  });

  it('a name of thousands of characters is cut in the header line, at whole characters', () => {
    const long = '👋' + 'Maximilian von Hohenstein '.repeat(400);
    const { label } = shown({ sending: true, contacts: { [ALICE]: { protocol: 0, since: null, reason: 'peerDevices' } } }, null, long);
    expect(label).toBe(`Not forward secret: ${Array.from(long).slice(0, 39).join('')}… uses several devices`);
    expect(shown(unknown, null, long).why.length).toBeLessThan(300);
  });
});
