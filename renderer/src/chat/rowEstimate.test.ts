import { describe, expect, it } from 'vitest';
import { DEFAULT_ROW_PX, estimateRowPx } from './rowEstimate.js';

describe('estimateRowPx', () => {
  it('guesses one line for a short text and more for longer ones and more paragraphs', () => {
    const one = estimateRowPx('hi', 800);
    expect(one).toBeLessThan(DEFAULT_ROW_PX);
    expect(estimateRowPx('word '.repeat(200), 800)).toBeGreaterThan(one * 3);
    expect(estimateRowPx('a\nb\nc', 800)).toBe(estimateRowPx('a', 800) + 2 * (estimateRowPx('a\nb', 800) - estimateRowPx('a', 800)));
  });

  it('wraps sooner in a narrow list, and caps huge texts', () => {
    const text = 'x'.repeat(500);
    expect(estimateRowPx(text, 400)).toBeGreaterThan(estimateRowPx(text, 1200));
    expect(estimateRowPx('x'.repeat(1_000_000), 800)).toBe(estimateRowPx('x'.repeat(2_000_000), 800));
  });

  it('guesses a message inside a group shorter: no time line before the next one, less space', () => {
    const alone = estimateRowPx('hi', 800);
    expect(estimateRowPx('hi', 800, true, false)).toBeLessThan(alone);
    expect(estimateRowPx('hi', 800, false, true)).toBeLessThan(estimateRowPx('hi', 800, true, false));
    expect(estimateRowPx('hi', 800, true, true)).toBeLessThan(estimateRowPx('hi', 800, false, true));
  });

  it('uses the default for rows not loaded yet or a list not laid out', () => {
    expect(estimateRowPx(undefined, 800)).toBe(DEFAULT_ROW_PX);
    expect(estimateRowPx('hi', 0)).toBe(DEFAULT_ROW_PX);
  });
});
