/**
 * The picture that stands for a public key: a colour pair and a 5×5 mirrored pattern, both read
 * from the key. Two contacts of the same name never look the same unless their keys agree on the
 * 2^15 patterns × 360 hues used here, which a stranger cannot choose without grinding keys; the
 * fingerprint remains the real check.
 */
export interface KeyAvatarPattern {
  /** Cells of a 5-column grid, row by row, true where filled (columns 3 and 4 mirror 1 and 0). */
  cells: boolean[];
  foreground: string;
  background: string;
}

export function keyAvatarPattern(publicKeyHex: string): KeyAvatarPattern {
  const byte = (i: number) => parseInt(publicKeyHex.slice(2 * i, 2 * i + 2), 16) || 0;
  const hue = ((byte(0) << 8) | byte(1)) % 360;
  const bits = (byte(2) << 16) | (byte(3) << 8) | byte(4);
  const cells: boolean[] = [];
  for (let row = 0; row < 5; row++) {
    const half = [0, 1, 2].map((col) => ((bits >> (row * 3 + col)) & 1) === 1);
    cells.push(half[0]!, half[1]!, half[2]!, half[1]!, half[0]!);
  }
  return { cells, foreground: `hsl(${hue} 62% 38%)`, background: `hsl(${(hue + 180) % 360} 45% 88%)` };
}
