/** Human-friendly durations (`7d`, `12h`, `30m`, `45s`, bare seconds) and sizes (`100MB`, `64KiB`, bytes). */

const DURATION_SECONDS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
const SIZE_BYTES: Record<string, number> = {
  '': 1, b: 1,
  k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12,
  kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4,
};

function parseScaled(text: string, units: Record<string, number>): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!match) return null;
  const unit = units[match[2]!.toLowerCase()];
  if (unit === undefined) return null;
  const value = Math.round(Number(match[1]) * unit);
  return Number.isSafeInteger(value) ? value : null;
}

/** Seconds in `7d`, `12h`, `30m`, `45s`, `1w` or `3600`; null when it is not such a duration. */
export function parseDurationSeconds(text: string): number | null {
  return parseScaled(text, DURATION_SECONDS);
}

/** Bytes in `100MB`, `1.5GB`, `64KiB` or `2573` (KB/MB/GB are powers of 1000, KiB/MiB/GiB of 1024). */
export function parseByteSize(text: string): number | null {
  return parseScaled(text, SIZE_BYTES);
}
