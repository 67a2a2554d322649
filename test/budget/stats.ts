/** Statistics for the budget tests: a seeded generator, the two-sample Kolmogorov-Smirnov test, quantiles. */

/** mulberry32: uniform in [0, 1), repeatable from `seed`. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An exponential wait with mean `mean` (Poisson arrivals). */
export function exponential(random: () => number, mean: number): number {
  return -Math.log(1 - random()) * mean;
}

/**
 * Two-sample Kolmogorov-Smirnov: D = sup |F_a - F_b| and its p-value from the asymptotic Kolmogorov
 * distribution with Stephens' small-sample correction (Numerical Recipes `kstwo`), good to about 0.01
 * for samples of a few dozen and more.
 */
export function ksTwoSample(a: readonly number[], b: readonly number[]): { d: number; p: number } {
  const x = [...a].sort((p, q) => p - q);
  const y = [...b].sort((p, q) => p - q);
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i]!, y[j]!);
    while (i < x.length && x[i]! <= v) i++;
    while (j < y.length && y[j]! <= v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  const en = Math.sqrt((x.length * y.length) / (x.length + y.length));
  return { d, p: kolmogorovQ((en + 0.12 + 0.11 / en) * d) };
}

/** Q_KS(λ) = 2 Σ (-1)^(j-1) exp(-2 j² λ²): the probability of a larger D under the null hypothesis. */
function kolmogorovQ(lambda: number): number {
  if (lambda < 1e-3) return 1;
  let sum = 0;
  for (let j = 1; j <= 100; j++) {
    const term = (j % 2 ? 2 : -2) * Math.exp(-2 * j * j * lambda * lambda);
    sum += term;
    if (Math.abs(term) < 1e-12) break;
  }
  return Math.min(1, Math.max(0, sum));
}

export function mean(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}

/** The q-quantile (nearest rank). */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((p, r) => p - r);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/**
 * Mutual information in bits between a binary label and a value binned into `bins` quantile bins,
 * with the Miller-Madow bias correction ((|X|-1)(|Y|-1) / 2N ln 2), so that independent samples
 * come out near 0 rather than at the plug-in estimate's positive bias.
 */
export function mutualInformation(labels: readonly boolean[], values: readonly number[], bins = 4): number {
  const n = labels.length;
  const sorted = [...values].sort((a, b) => a - b);
  const edges = Array.from({ length: bins - 1 }, (_, i) => sorted[Math.floor(((i + 1) * n) / bins)]!);
  const binOf = (v: number) => edges.filter((e) => v >= e).length;
  const joint = new Map<string, number>();
  const px = new Map<number, number>();
  const py = new Map<boolean, number>();
  for (let i = 0; i < n; i++) {
    const x = binOf(values[i]!);
    const y = labels[i]!;
    joint.set(`${x}:${y}`, (joint.get(`${x}:${y}`) ?? 0) + 1);
    px.set(x, (px.get(x) ?? 0) + 1);
    py.set(y, (py.get(y) ?? 0) + 1);
  }
  let mi = 0;
  for (const [key, count] of joint) {
    const [x, y] = key.split(':');
    mi += (count / n) * Math.log2((count * n) / (px.get(Number(x))! * py.get(y === 'true')!));
  }
  return mi - ((px.size - 1) * (py.size - 1)) / (2 * n * Math.LN2);
}
