/**
 * The composer's part count: typing a long text must not split it again on every key (that made
 * typing 30,000 characters quadratic). Counts the splits, not the time.
 */
import { createElement } from 'react';
import { flushSync } from 'react-dom';
import { type Root, createRoot } from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { IdentitySummary } from '../../../shared/ipc/contract.js';
import { COUNT_EVERY_KEY_CHARS, COUNT_PAUSE_MS, partsNeeded, usePartsNeeded } from './partsNeeded.js';

const ALICE: IdentitySummary = { id: 'i1', alias: 'Alice', publicKey: 'a'.repeat(64), dropUrls: ['http://127.0.0.1:1/d'], dropBits: 256, createdAt: 1 } as IdentitySummary;

let host: HTMLDivElement;
let root: Root;
let splits = 0;
let shown: number | null | undefined;
const countingSplit = (text: string, identity: IdentitySummary) => {
  splits++;
  return partsNeeded(text, identity);
};

function Probe({ text }: { text: string }) {
  shown = usePartsNeeded(text, ALICE, countingSplit);
  return null;
}

function type(text: string): void {
  flushSync(() => root.render(createElement(Probe, { text })));
}

beforeEach(() => {
  vi.useFakeTimers();
  splits = 0;
  shown = undefined;
  host = document.createElement('div');
  document.body.append(host);
  root = createRoot(host);
});
afterEach(() => {
  root.unmount();
  host.remove();
  vi.useRealTimers();
});

describe('usePartsNeeded', () => {
  it('counts a short text on every key', () => {
    type('');
    expect(shown).toBe(0);
    for (let i = 1; i <= 50; i++) type('x'.repeat(i));
    expect(splits).toBe(50);
    expect(shown).toBe(1);
  });

  it('types 30,000 characters without a space with one split per pause, not one per key', () => {
    let text = 'x'.repeat(COUNT_EVERY_KEY_CHARS);
    type(text);
    const before = splits;
    // 500 keys past the short limit, then 28,000 characters more pasted, then more keys.
    for (let i = 0; i < 500; i++) type((text += 'y'));
    type((text += 'z'.repeat(28_000)));
    for (let i = 0; i < 500; i++) type((text += 'w'));
    expect(splits - before).toBe(0);
    flushSync(() => vi.advanceTimersByTime(COUNT_PAUSE_MS));
    expect(splits - before).toBe(1);
    expect(shown).toBe(partsNeeded(text, ALICE));
    expect(shown).toBeGreaterThan(10);
    // A pause with no new key counts nothing again.
    flushSync(() => vi.advanceTimersByTime(COUNT_PAUSE_MS * 10));
    expect(splits - before).toBe(1);
  });
});
