/** HTTP dates (RFC 7231 section 7.1.1.1) for the multipart `Date` header and `Last-Modified`. */

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const MONTH_NAMES = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;
const IMF_FIXDATE = /^(Sun|Mon|Tue|Wed|Thu|Fri|Sat), (\d{2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
/** The two obsolete forms RFC 7231 says recipients must accept. */
const RFC850_DATE = /^(?:Sunday|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday), (\d{2})-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const ASCTIME_DATE = /^(?:Sun|Mon|Tue|Wed|Thu|Fri|Sat) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;
const MAX_HTTP_DATE_LENGTH = 64;

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT` (1-second resolution, always UTC). */
export function formatHttpDate(date: Date): string {
  const t = date.getTime();
  if (!Number.isFinite(t)) throw new RangeError('formatHttpDate: invalid date');
  return `${DAY_NAMES[date.getUTCDay()]}, ${pad2(date.getUTCDate())} ${MONTH_NAMES[date.getUTCMonth()]} ${String(date.getUTCFullYear()).padStart(4, '0')} ${pad2(date.getUTCHours())}:${pad2(date.getUTCMinutes())}:${pad2(date.getUTCSeconds())} GMT`;
}

function build(year: number, monthName: string, day: number, h: number, m: number, s: number): Date | null {
  const month = (MONTH_NAMES as readonly string[]).indexOf(monthName);
  if (h > 23 || m > 59 || s > 60 || day < 1 || day > 31) return null;
  const date = new Date(Date.UTC(year, month, day, h, m, Math.min(s, 59)));
  // Rejects impossible days such as 31 Feb instead of letting Date roll them over.
  if (date.getUTCDate() !== day || date.getUTCMonth() !== month) return null;
  if (year < 100) date.setUTCFullYear(year);
  return date;
}

/** Parses any of the three HTTP date forms; null when the text is not a valid HTTP date. */
export function parseHttpDate(s: string): Date | null {
  if (typeof s !== 'string' || s.length > MAX_HTTP_DATE_LENGTH) return null;
  const text = s.trim();
  let m = IMF_FIXDATE.exec(text);
  if (m) return build(Number(m[4]), m[3]!, Number(m[2]), Number(m[5]), Number(m[6]), Number(m[7]));
  m = RFC850_DATE.exec(text);
  if (m) {
    // RFC 7231: a two-digit year more than 50 years in the future means the previous century.
    const yy = Number(m[3]);
    const thisYear = new Date().getUTCFullYear();
    let year = Math.floor(thisYear / 100) * 100 + yy;
    if (year > thisYear + 50) year -= 100;
    return build(year, m[2]!, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  }
  m = ASCTIME_DATE.exec(text);
  if (m) return build(Number(m[6]), m[1]!, Number(m[2]!.trim()), Number(m[3]), Number(m[4]), Number(m[5]));
  return null;
}
