/**
 * Notices in real Chromium with the app's styles: in the messenger they sit in the content pane's
 * flow and cover no button (floating at the bottom left they covered Settings' Save buttons), an
 * error stays until dismissed, a confirmation fades and goes by itself.
 */
import { createElement } from 'react';
import { flushSync } from 'react-dom';
import { type Root, createRoot } from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import '../styles/app.css';
import { NOTICE_LIFETIME_MS, useUi } from '../stores/uiStore.js';
import { NoticeArea } from './NoticeArea.js';

let host: HTMLDivElement;
let root: Root | null = null;

beforeEach(() => {
  useUi.setState({ notices: [] });
  host = document.createElement('div');
  host.style.cssText = 'display: grid; grid-template-columns: 12rem 1fr; height: 400px; width: 900px;';
  document.body.append(host);
});
afterEach(() => {
  root?.unmount();
  root = null;
  host.remove();
  vi.useRealTimers();
});

/** A content pane like Settings': a scrolling column of forms, a Save button at the bottom left. */
function renderPane(): { pane: HTMLElement; save: HTMLButtonElement } {
  root = createRoot(host);
  flushSync(() =>
    root!.render(
      createElement('main', { className: 'content wide', style: { gridColumn: '2' } }, [
        createElement(NoticeArea, { key: 'n', placement: 'inline' }),
        createElement('div', { key: 'f', style: { height: '700px' } }, 'settings'),
        createElement('button', { key: 'b', type: 'submit' }, 'Save'),
      ]),
    ),
  );
  return { pane: host.querySelector('main')!, save: host.querySelector('button')! };
}

const overlaps = (a: DOMRect, b: DOMRect) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;

describe('NoticeArea', () => {
  it('covers no button of the pane, scrolled or not, and stays in view', () => {
    const { pane, save } = renderPane();
    flushSync(() => useUi.getState().notify('error', 'The traffic budget could not be saved: the engine said no. '.repeat(3)));
    const notice = host.querySelector<HTMLElement>('[data-testid=notice-error]')!;
    pane.scrollTop = pane.scrollHeight;
    const paneBox = pane.getBoundingClientRect();
    expect(save.getBoundingClientRect().bottom).toBeLessThanOrEqual(paneBox.bottom + 1);
    expect(overlaps(notice.getBoundingClientRect(), save.getBoundingClientRect())).toBe(false);
    // Sticky at the pane's top: seen while the user is at the bottom.
    expect(notice.getBoundingClientRect().top).toBeGreaterThanOrEqual(paneBox.top);
    expect(notice.getBoundingClientRect().bottom).toBeLessThanOrEqual(paneBox.bottom);
    // Nor does the strip beside it take the clicks meant for what lies under it.
    expect(getComputedStyle(host.querySelector('[data-testid=notices]')!).pointerEvents).toBe('none');
  });

  it('an error stays until dismissed', () => {
    vi.useFakeTimers();
    renderPane();
    flushSync(() => useUi.getState().notify('error', 'Could not save.'));
    flushSync(() => vi.advanceTimersByTime(NOTICE_LIFETIME_MS * 3));
    const dismiss = host.querySelector<HTMLButtonElement>('[data-testid=notice-error] button')!;
    expect(dismiss.getAttribute('aria-label')).toBe('Dismiss notice');
    flushSync(() => dismiss.click());
    expect(host.querySelector('[data-testid=notice-error]')).toBeNull();
  });

  it('a confirmation fades over its life and then goes', () => {
    vi.useFakeTimers();
    renderPane();
    flushSync(() => useUi.getState().notify('info', 'Traffic budget saved.'));
    const notice = host.querySelector<HTMLElement>('[data-testid=notice-info]')!;
    const style = getComputedStyle(notice);
    expect(style.animationName).toBe('notice-fade');
    expect(style.animationDuration).toBe(`${NOTICE_LIFETIME_MS / 1000}s`);
    flushSync(() => vi.advanceTimersByTime(NOTICE_LIFETIME_MS));
    expect(host.querySelector('[data-testid=notice-info]')).toBeNull();
    // Nothing left takes room.
    expect(getComputedStyle(host.querySelector('[data-testid=notices]')!).display).toBe('none');
  });
});
