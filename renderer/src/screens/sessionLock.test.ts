/** Locking forgets what was read with the keys but not where the user was: unlocking returns there. */
import { describe, expect, it } from 'vitest';
import type { AppInfo } from '../../../shared/ipc/contract.js';
import { useSession } from '../stores/sessionStore.js';
import { useUi } from '../stores/uiStore.js';
import { forgetUnlockedSession } from './sessionLock.js';

describe('forgetUnlockedSession', () => {
  it('keeps the screen and the open conversation, drops the search text and notices', () => {
    useUi.setState({ view: 'settings', selectedContactKey: 'b'.repeat(64), search: 'secret words', notices: [{ id: 1, tone: 'info', text: 'Saved.' }] });
    useSession.setState({ identities: [] });
    forgetUnlockedSession({ locked: true } as AppInfo);
    const ui = useUi.getState();
    expect(ui.view).toBe('settings');
    expect(ui.selectedContactKey).toBe('b'.repeat(64));
    expect(ui.search).toBe('');
    expect(ui.notices).toEqual([]);
    expect(useSession.getState().identities).toBeNull();
  });
});
