/**
 * For the renderer's tests only: a page element that components render into, synchronously, a fresh
 * one per test, and a bounded wait for what the page shows after an event or a database change.
 *
 *   const view = reactView();
 *   beforeEach(() => view.attach());
 *   afterEach(() => view.detach());
 *   view.mount(createElement(Thing, props));
 *   await until(() => view.host.textContent === 'done');
 */
import type { ReactNode } from 'react';
import { flushSync } from 'react-dom';
import { type Root, createRoot } from 'react-dom/client';

export interface ReactView {
  /** The element rendered into; a new one after each `attach`. */
  readonly host: HTMLDivElement;
  /** Puts a fresh host into the page. */
  attach(): void;
  /** Unmounts what was rendered and takes the host out of the page. */
  detach(): void;
  /** Renders `node` into a new root (the one before is unmounted): every component starts afresh. */
  mount(node: ReactNode): void;
  /** Renders `node` into the current root, so components that stay keep their state (a new root when none). */
  render(node: ReactNode): void;
  /** Unmounts what was rendered; the host stays. */
  unmount(): void;
}

export function reactView(): ReactView {
  let host: HTMLDivElement | null = null;
  let root: Root | null = null;
  const attached = (): HTMLDivElement => {
    if (!host) throw new Error('reactView: attach() first (in beforeEach)');
    return host;
  };
  const view: ReactView = {
    get host() {
      return attached();
    },
    attach() {
      view.detach();
      host = document.createElement('div');
      document.body.append(host);
    },
    detach() {
      view.unmount();
      host?.remove();
      host = null;
    },
    mount(node) {
      view.unmount();
      view.render(node);
    },
    render(node) {
      root ??= createRoot(attached());
      flushSync(() => root!.render(node));
    },
    unmount() {
      root?.unmount();
      root = null;
    },
  };
  return view;
}

/**
 * Waits until `condition` holds, checking every 10 ms, and fails after `timeoutMs`: bounded in time,
 * not in rounds, as a loaded machine stretches every timer.
 */
export async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`The page did not get there within ${timeoutMs / 1000} s.`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
