import { describe, expect, it } from 'vitest';
import { presentUnread, trayMenuTemplate, unreadLabel } from '../../electron/main/trayPresenter.js';

// What to notify and the unread count are the UI's decisions (renderer/src/desktop); main shows them.
describe('tray and unread badge', () => {
  it('shows the count as badge and title on macOS and Linux, as overlay on Windows, always in the tooltip', () => {
    const calls: string[] = [];
    const tray = { setToolTip: (t: string) => calls.push(`tooltip ${t}`), setTitle: (t: string) => calls.push(`title ${t}`) };
    const window = { isDestroyed: () => false, setOverlayIcon: (icon: unknown, text: string) => calls.push(`overlay ${icon === null ? 'none' : 'dot'} ${text}`) };
    const targets = (platform: NodeJS.Platform) => ({
      platform,
      tray,
      setBadgeCount: (n: number) => calls.push(`badge ${n}`) > 0,
      window: () => window,
      overlayIcon: {} as never,
    });
    presentUnread(3, targets('linux'));
    expect(calls.splice(0)).toEqual(['tooltip Deaddrop: 3 unread messages', 'badge 3', 'title 3']);
    presentUnread(1, targets('win32'));
    expect(calls.splice(0)).toEqual(['tooltip Deaddrop: 1 unread message', 'overlay dot Deaddrop: 1 unread message']);
    presentUnread(0, targets('win32'));
    expect(calls.splice(0)).toEqual(['tooltip Deaddrop', 'overlay none ']);
    presentUnread(0, targets('darwin'));
    expect(calls.splice(0)).toEqual(['tooltip Deaddrop', 'badge 0', 'title ']);
    expect(unreadLabel(-1)).toBe('Deaddrop');
  });
  it('has Open, Pause polling and Quit in the tray menu', () => {
    const done: string[] = [];
    const menu = trayMenuTemplate(true, { open: () => done.push('open'), setPaused: (p) => done.push(`paused ${p}`), quit: () => done.push('quit') });
    expect(menu.map((item) => item.label ?? item.type)).toEqual(['Open Deaddrop', 'Pause polling', 'separator', 'Quit']);
    expect(menu[1]).toMatchObject({ type: 'checkbox', checked: true });
    const click = (index: number, checked = false) => (menu[index]?.click as (item: { checked: boolean }) => void)({ checked });
    click(0);
    click(1, false);
    click(3);
    expect(done).toEqual(['open', 'paused false', 'quit']);
  });
});
