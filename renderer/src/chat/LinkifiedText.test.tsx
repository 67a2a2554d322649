/**
 * Message text in real Chromium: where each character lands on screen. A stranger's bidirectional
 * overrides must not reorder what follows a link (`http://evil.example/` + U+202E + `gnp.exe` would
 * read `http://evil.example/exe.png`), while Arabic and Hebrew still read right to left.
 */
import { createElement } from 'react';
import { flushSync } from 'react-dom';
import { type Root, createRoot } from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import '../styles/app.css';
import { LinkifiedText } from './LinkifiedText.js';
import { withoutBidiFormatting } from './bidiText.js';

let host: HTMLParagraphElement;
let root: Root | null = null;

beforeEach(() => {
  host = document.createElement('p');
  host.className = 'message-text';
  host.dir = 'auto';
  host.style.width = '1600px';
  document.body.append(host);
});
afterEach(() => {
  root?.unmount();
  root = null;
  host.remove();
});

function render(text: string): void {
  root?.unmount();
  root = createRoot(host);
  flushSync(() => root!.render(createElement(LinkifiedText, { text })));
}

/** The characters shown (in the DOM's order) with the horizontal centre of each on screen. */
function shownCharacters(): { char: string; x: number }[] {
  const out: { char: string; x: number }[] = [];
  const walker = document.createTreeWalker(host, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent ?? '';
    for (let i = 0; i < text.length; i++) {
      const range = document.createRange();
      range.setStart(node, i);
      range.setEnd(node, i + 1);
      const rect = range.getBoundingClientRect();
      // Hidden pieces (the link's address tooltip) have no box; controls have no width.
      if (rect.width === 0) continue;
      out.push({ char: text[i]!, x: rect.left + rect.width / 2 });
    }
  }
  return out;
}

/** The shown text read from left to right, as the user sees it. */
function readLeftToRight(): string {
  return shownCharacters()
    .sort((a, b) => a.x - b.x)
    .map((c) => c.char)
    .join('');
}

describe('LinkifiedText and bidirectional controls', () => {
  it('an override after a link does not turn "gnp.exe" into "exe.png"', () => {
    render('http://evil.example/\u202Egnp.exe');
    expect(readLeftToRight()).toBe('http://evil.example/gnp.exe');
    expect(host.querySelector('a')?.getAttribute('href')).toBe('http://evil.example/');
  });

  it('embeddings, overrides and isolates, paired or not, reorder nothing in plain text', () => {
    for (const control of ['\u202A', '\u202B', '\u202C', '\u202D', '\u202E', '\u2066', '\u2067', '\u2068', '\u2069']) {
      render(`pay ${control}321 to bob${control} now`);
      expect(readLeftToRight()).toBe('pay 321 to bob now');
    }
    render('\u2067txet\u2069 \u202Bdesrever\u202C');
    expect(readLeftToRight()).toBe('txet desrever');
  });

  it('Arabic and Hebrew still read right to left, with their marks kept', () => {
    const hebrew = 'שלום עולם';
    render(hebrew);
    // Right to left on screen: the first letter is the rightmost one.
    expect(readLeftToRight()).toBe([...hebrew].reverse().join(''));
    expect(host.matches(':dir(rtl)')).toBe(true);
    const arabic = 'مرحبا\u200F بك';
    render(arabic);
    expect(host.textContent).toBe(arabic);
    expect(host.matches(':dir(rtl)')).toBe(true);
  });

  it('a link shows its real address while it is focused', () => {
    render('see https://example.org/a?b=1 there');
    const target = host.querySelector<HTMLElement>('[data-testid=link-target]')!;
    expect(getComputedStyle(target).display).toBe('none');
    host.querySelector('a')!.focus();
    expect(getComputedStyle(target).display).toBe('block');
    expect(target.textContent).toBe('https://example.org/a?b=1');
  });
});

describe('withoutBidiFormatting', () => {
  it('drops embeddings, overrides and isolates and keeps the implicit marks', () => {
    expect(withoutBidiFormatting('a\u202Ab\u202Bc\u202Cd\u202De\u202Ef\u2066g\u2067h\u2068i\u2069j')).toBe('abcdefghij');
    expect(withoutBidiFormatting('x\u200Ey\u200Fz\u061C')).toBe('x\u200Ey\u200Fz\u061C');
  });
});
