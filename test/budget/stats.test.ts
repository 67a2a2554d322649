/** The budget tests' statistics, checked against SciPy 1.17 (`scipy.stats.ks_2samp`, exact method) on the same samples. */
import { describe, expect, it } from 'vitest';
import { ksTwoSample, mutualInformation, quantile, seededRandom } from './stats.js';

describe('ksTwoSample', () => {
  const random = seededRandom(7);
  const a = Array.from({ length: 200 }, random);
  const b = Array.from({ length: 150 }, () => random() * 1.2);
  const c = Array.from({ length: 300 }, random);

  it('draws what mulberry32 draws (the samples SciPy was given)', () => {
    expect(a.slice(0, 3)).toEqual([0.011704753153026104, 0.06195825757458806, 0.97690763277933]);
  });

  it.each([
    { name: 'a vs b', x: a, y: b, d: 0.18666666666666668, p: 0.004479907502056654 },
    { name: 'a vs c', x: a, y: c, d: 0.051666666666666666, p: 0.8945293411715565 },
    { name: 'b vs c', x: b, y: c, d: 0.21666666666666667, p: 0.00015099198109610052 },
  ])('$name: the same D, and p within 0.01', ({ x, y, d, p }) => {
    const result = ksTwoSample(x, y);
    expect(result.d).toBeCloseTo(d, 12);
    expect(Math.abs(result.p - p)).toBeLessThan(0.01);
  });

  it('tells a shifted sample apart and a sample from itself not', () => {
    expect(ksTwoSample(a, a).p).toBe(1);
    expect(ksTwoSample(a, a.map((v) => v + 0.1)).p).toBeLessThan(0.05);
  });
});

describe('quantile', () => {
  it('takes the nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(quantile(values, 0.99)).toBe(99);
    expect(quantile(values, 0.5)).toBe(50);
    expect(quantile([3], 0.99)).toBe(3);
  });
});

describe('mutualInformation', () => {
  it('is about 1 bit when the label follows the value, and about 0 when it does not', () => {
    const random = seededRandom(9);
    const values = Array.from({ length: 2000 }, random);
    expect(mutualInformation(values.map((v) => v > 0.5), values)).toBeGreaterThan(0.9);
    expect(Math.abs(mutualInformation(values.map(() => random() < 0.3), values))).toBeLessThan(0.01);
    // A weak dependence shows: the label a little more likely for large values.
    expect(mutualInformation(values.map((v) => random() < 0.2 + 0.2 * v), values)).toBeGreaterThan(0.005);
  });
});
