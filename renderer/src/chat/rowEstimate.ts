/**
 * A row's height guessed from its text before it is measured. Close guesses keep the scroll
 * position steady while rows above the viewport get measured (each miss shifts the view).
 */
const ROW_CHROME_PX = 46; // row padding, bubble padding and border, time line
const LINE_PX = 22; // 15 px text at line-height 1.45
const AVERAGE_CHAR_PX = 7.6;
const BUBBLE_SHARE = 0.78; // .bubble max-width: 78% of the row, at most 38rem
const BUBBLE_MAX_PX = 38 * 16;
const BUBBLE_PADDING_PX = 26;
/** A message inside a group has no time line (when another follows) and less space on joined sides. */
const TIME_LINE_PX = 19;
const JOINED_SIDE_PX = 3;
/** For rows whose message is not loaded yet. */
export const DEFAULT_ROW_PX = 88;

export function estimateRowPx(text: string | undefined, listWidth: number, joinsPrevious = false, joinsNext = false): number {
  if (text === undefined || listWidth <= 0) return DEFAULT_ROW_PX;
  const grouping = (joinsPrevious ? JOINED_SIDE_PX : 0) + (joinsNext ? TIME_LINE_PX + JOINED_SIDE_PX : 0);
  const textWidth = Math.min(listWidth * BUBBLE_SHARE, BUBBLE_MAX_PX) - BUBBLE_PADDING_PX;
  const charsPerLine = Math.max(8, Math.floor(textWidth / AVERAGE_CHAR_PX));
  let lines = 0;
  for (const paragraph of text.split('\n')) lines += Math.max(1, Math.ceil(paragraph.length / charsPerLine));
  return ROW_CHROME_PX - grouping + LINE_PX * Math.min(lines, 400);
}
