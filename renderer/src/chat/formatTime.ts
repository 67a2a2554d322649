const timeOnly = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const dayAndTime = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' });
const dateOnly = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' });

/** Today: the time; this year: day and time; older: the date. */
export function formatMessageTime(ms: number, now = Date.now()): string {
  const date = new Date(ms);
  const today = new Date(now);
  if (date.toDateString() === today.toDateString()) return timeOnly.format(date);
  if (date.getFullYear() === today.getFullYear()) return dayAndTime.format(date);
  return dateOnly.format(date);
}

// One formatter for all rows: `Date.toLocaleString` builds a new one on every call.
const fullTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function formatFullTime(ms: number): string {
  return fullTime.format(ms);
}
