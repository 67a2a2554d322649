/**
 * The renderer tests' view helper: `render` keeps the components that stay (and their state), `mount`
 * starts them afresh, `detach` leaves nothing in the page, and `until` gives up after its bound.
 */
import { createElement, useState } from 'react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reactView, until } from './reactView.js';

/** Shows the label it first rendered with (state, kept only while it stays mounted) and the current one. */
function Counter({ label }: { label: string }) {
  const [first] = useState(() => label);
  return createElement('p', null, `${first} → ${label}`);
}

describe('reactView', () => {
  const view = reactView();
  beforeEach(() => view.attach());
  afterEach(() => view.detach());

  it('render keeps state across renders; mount starts afresh', () => {
    view.render(createElement(Counter, { label: 'a' }));
    view.render(createElement(Counter, { label: 'b' }));
    expect(view.host.textContent).toBe('a → b');
    view.mount(createElement(Counter, { label: 'c' }));
    expect(view.host.textContent).toBe('c → c');
    view.unmount();
    expect(view.host.textContent).toBe('');
  });

  it('detach takes the host out of the page, and a detached view refuses to render', () => {
    view.mount(createElement(Counter, { label: 'x' }));
    const host = view.host;
    expect(host.isConnected).toBe(true);
    view.detach();
    expect(host.isConnected).toBe(false);
    expect(() => view.render(null)).toThrow(/attach\(\) first/);
  });
});

describe('until', () => {
  it('resolves once the condition holds, and fails after its bound when it never does', async () => {
    let ticks = 0;
    await until(() => ++ticks >= 3);
    expect(ticks).toBe(3);
    await expect(until(() => false, 50)).rejects.toThrow(/within 0.05 s/);
  });
});
