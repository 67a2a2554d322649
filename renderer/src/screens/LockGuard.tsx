import { useEffect } from 'react';
import { useSession } from '../stores/sessionStore.js';
import { useUi } from '../stores/uiStore.js';
import { canLock, forgetUnlockedSession, lockNow, useAutoLock } from './sessionLock.js';

/** How often idleness is checked; auto-lock may come this much later than its time. */
const IDLE_CHECK_MS = 10_000;
const INPUT_EVENTS = ['keydown', 'pointerdown', 'pointermove', 'wheel', 'touchstart'] as const;

/**
 * Renders nothing. Hears `app/locked` (a lock from the tray, the menu or another window) and sees an
 * engine that restarted locked, and forgets what was read with its keys; while a
 * passphrase-protected engine is unlocked: locks on Ctrl+L (Cmd+L on macOS) and after the chosen
 * time without keyboard, mouse or touch input in this window.
 */
export function LockGuard() {
  const bridge = useSession((s) => s.bridge);
  const lockable = useSession((s) => canLock(s.appInfo));
  const minutes = useAutoLock((s) => s.minutes);

  const locked = useSession((s) => s.appInfo?.locked === true);

  useEffect(() => bridge?.on('app/locked', (info) => forgetUnlockedSession(info)), [bridge]);
  // However the engine came to be locked (also a restart the window reconnected to), forget too.
  useEffect(() => {
    const info = useSession.getState().appInfo;
    if (locked && info) forgetUnlockedSession(info);
  }, [locked]);

  useEffect(() => {
    if (!bridge || !lockable) return;
    void bridge.invoke('settings/get', {}).then((answer) => {
      if (answer.ok) useAutoLock.setState({ minutes: answer.value.autoLockMinutes });
    });
  }, [bridge, lockable]);

  useEffect(() => {
    if (!bridge || !lockable) return;
    const lock = () =>
      void lockNow(bridge).then((problem) => {
        if (problem) useUi.getState().notify('error', problem);
      });
    const onKey = (event: KeyboardEvent) => {
      if ((event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey && event.key.toLowerCase() === 'l') {
        event.preventDefault();
        lock();
      }
    };
    window.addEventListener('keydown', onKey);
    if (minutes <= 0) return () => window.removeEventListener('keydown', onKey);

    let lastInput = Date.now();
    const onInput = () => void (lastInput = Date.now());
    for (const name of INPUT_EVENTS) window.addEventListener(name, onInput, { capture: true, passive: true });
    const timer = setInterval(() => {
      if (Date.now() - lastInput >= minutes * 60_000) lock();
    }, IDLE_CHECK_MS);
    return () => {
      window.removeEventListener('keydown', onKey);
      for (const name of INPUT_EVENTS) window.removeEventListener(name, onInput, { capture: true });
      clearInterval(timer);
    };
  }, [bridge, lockable, minutes]);

  return null;
}
