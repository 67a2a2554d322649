/** A byte count in human units (1 KB = 1024 bytes, as file managers on most systems count). */
export function formatBytes(size: number): string {
  if (!Number.isFinite(size) || size < 0) return 'unknown size';
  if (size < 1024) return `${size} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = size / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  // One decimal below ten, none above: "3.4 MB", "120 MB". Rounding up to 1024 moves to the next unit.
  let shown = value < 10 ? value.toFixed(1) : Math.round(value).toString();
  if (Number(shown) >= 1024 && unit < units.length - 1) {
    unit += 1;
    shown = '1.0';
  }
  return `${shown} ${units[unit]}`;
}

/** "512 KB of 20 MB" for a progress line. */
export function formatProgress(done: number, total: number): string {
  return `${formatBytes(Math.min(done, total))} of ${formatBytes(total)}`;
}
