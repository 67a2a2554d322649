import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useUi } from './uiStore.js';

/** How long an info notice stays (uiStore's NOTICE_LIFETIME_MS). */
const INFO_LIFETIME_MS = 5000;

beforeEach(() => {
  vi.useFakeTimers();
  useUi.setState(useUi.getInitialState(), true);
});
afterEach(() => {
  vi.clearAllTimers();
  vi.useRealTimers();
});

const texts = () => useUi.getState().notices.map((n) => n.text);

describe('ui store: navigation', () => {
  it('starts on the chats with nothing open, no search, no notices', () => {
    expect(useUi.getState()).toMatchObject({ view: 'chats', selectedContactKey: null, search: '', notices: [], sentCount: 0 });
  });

  it('switches views and keeps the open conversation while doing so', () => {
    useUi.getState().openConversation('k1');
    useUi.getState().setView('contacts');
    expect(useUi.getState()).toMatchObject({ view: 'contacts', selectedContactKey: 'k1' });
    useUi.getState().setView('settings');
    useUi.getState().setView('identities');
    expect(useUi.getState()).toMatchObject({ view: 'identities', selectedContactKey: 'k1' });
  });

  it('opening a conversation from any view shows the chats; closing it stays there', () => {
    useUi.getState().setView('contacts');
    useUi.getState().openConversation('k2');
    expect(useUi.getState()).toMatchObject({ view: 'chats', selectedContactKey: 'k2' });
    useUi.getState().setView('settings');
    useUi.getState().openConversation(null);
    expect(useUi.getState()).toMatchObject({ view: 'chats', selectedContactKey: null });
  });

  it('keeps the search text as typed, also across views', () => {
    useUi.getState().setSearch('  Zoë ');
    useUi.getState().setView('contacts');
    expect(useUi.getState().search).toBe('  Zoë ');
    useUi.getState().setSearch('');
    expect(useUi.getState().search).toBe('');
  });

  it('counts each message sent, so the open chat can follow', () => {
    useUi.getState().noteSent();
    useUi.getState().noteSent();
    expect(useUi.getState().sentCount).toBe(2);
  });
});

describe('ui store: notices', () => {
  it('gives every notice its own id and shows at most four, dropping the oldest', () => {
    for (let i = 1; i <= 6; i++) useUi.getState().notify('error', `e${i}`);
    expect(texts()).toEqual(['e3', 'e4', 'e5', 'e6']);
    const ids = useUi.getState().notices.map((n) => n.id);
    expect(new Set(ids).size).toBe(4);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
  });

  it('lets confirmations go after five seconds; errors stay until dismissed', () => {
    useUi.getState().notify('info', 'Saved.');
    useUi.getState().notify('error', 'The server refused.');
    vi.advanceTimersByTime(INFO_LIFETIME_MS - 1);
    expect(texts()).toEqual(['Saved.', 'The server refused.']);
    vi.advanceTimersByTime(1);
    expect(texts()).toEqual(['The server refused.']);
    vi.advanceTimersByTime(60_000);
    expect(texts()).toEqual(['The server refused.']);
    useUi.getState().dismiss(useUi.getState().notices[0]!.id);
    expect(texts()).toEqual([]);
  });

  it('dismisses only the notice named; an unknown or already gone id changes nothing', () => {
    useUi.getState().notify('error', 'a');
    useUi.getState().notify('error', 'b');
    const [a] = useUi.getState().notices;
    useUi.getState().dismiss(a!.id);
    useUi.getState().dismiss(a!.id);
    useUi.getState().dismiss(-1);
    expect(texts()).toEqual(['b']);
  });

  it('a confirmation pushed out by newer notices does not take another with it when its time is up', () => {
    useUi.getState().notify('info', 'old');
    for (const text of ['x', 'y', 'z', 'w']) useUi.getState().notify('error', text);
    expect(texts()).toEqual(['x', 'y', 'z', 'w']);
    vi.advanceTimersByTime(INFO_LIFETIME_MS);
    expect(texts()).toEqual(['x', 'y', 'z', 'w']);
  });

  it('a confirmation dismissed by hand takes no later one with it when its time is up', () => {
    useUi.getState().notify('info', 'first');
    vi.advanceTimersByTime(3000);
    useUi.getState().dismiss(useUi.getState().notices[0]!.id);
    useUi.getState().notify('info', 'second');
    // The first one's time is up now: the second stays its own five seconds.
    vi.advanceTimersByTime(2000);
    expect(texts()).toEqual(['second']);
    vi.advanceTimersByTime(INFO_LIFETIME_MS - 2000 - 1);
    expect(texts()).toEqual(['second']);
    vi.advanceTimersByTime(1);
    expect(texts()).toEqual([]);
  });
});
