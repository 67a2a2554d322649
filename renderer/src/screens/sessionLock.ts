/**
 * Locking: from this window (Lock now, Ctrl/Cmd+L, auto-lock) or anywhere else (the tray, the app
 * menu, another window of the same profile), which the engine announces with `app/locked`, or an
 * engine that restarted locked, which the window learns when it reconnects. Either way
 * the window forgets what it read with the engine's keys: the database key, the search index, the
 * decrypted state of the stores, and closes its database connection. Where the user was (the screen,
 * the open conversation) is kept, so unlocking returns there.
 */
import { create } from 'zustand';
import type { AppInfo } from '../../../shared/ipc/contract.js';
import type { EngineBridge } from '../bridge/transport.js';
import { database } from '../db/database.js';
import { hasDatabaseKey } from '../db/sealing.js';
import { lockDatabase } from '../db/unlockDatabase.js';
import { useSearchJump } from '../chat/chatIntents.js';
import { useSession } from '../stores/sessionStore.js';
import { useUi } from '../stores/uiStore.js';

/** Minutes without input before the window locks the engine (0: never), as the engine's settings say. */
export const useAutoLock = create<{ minutes: number }>(() => ({ minutes: 0 }));

/** Forgets everything read with the engine's keys; the unlock screen shows next. */
export function forgetUnlockedSession(info: AppInfo): void {
  if (hasDatabaseKey()) {
    lockDatabase();
    // The next read opens a fresh connection, after unlock; nothing cached by this one survives.
    database().close({ disableAutoOpen: false });
  }
  // The place (Settings, a conversation) stays for after unlock, as in other messengers: it shows
  // nothing while locked and is read again from the database once unlocked. Typed search text goes.
  useUi.setState({ search: '', notices: [] });
  useSearchJump.setState({ target: null });
  useSession.getState().forgetUnlocked(info);
}

/** Locks the engine now; resolves with a sentence when it could not. */
export async function lockNow(bridge: EngineBridge): Promise<string | null> {
  const answer = await bridge.invoke('app/lock', {});
  if (!answer.ok) return `Deaddrop could not lock: ${answer.error.message}`;
  forgetUnlockedSession(answer.value);
  return null;
}

/** Whether Lock applies: only a profile whose keys open with a passphrase can be locked. */
export function canLock(info: AppInfo | null): boolean {
  return info !== null && !info.locked && info.keyProtection === 'passphrase';
}
