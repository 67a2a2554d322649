/** The budget tests' statistics, checked against SciPy 1.17 (`scipy.stats.ks_2samp`, exact method) on the same samples. */
import { describe, expect, it } from 'vitest';
import { ksTwoSample, quantile, seededRandom } from './stats.js';

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
