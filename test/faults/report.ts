/**
 * What a simulator run measured: delivery ratio (of the messages whose recipient was online within
 * 14 days of their writing), duplicates shown, latency percentiles in simulated time, bytes sent per
 * delivered message, the faults injected, and per contact what was lost.
 */
import type { ProxyStats } from './faultProxy.js';

interface Written {
  id: string;
  from: string;
  to: string;
  sentAt: number;
  kind: 'text' | 'update';
  shownAt: number | null;
  eligible: boolean;
}

export interface ContactLine {
  contact: string;
  /** Texts either way between the hub and this contact that count (recipient online in time). */
  eligible: number;
  delivered: number;
  /** Eligible texts never shown. */
  lost: number;
  /** Texts that do not count (recipient not online within the window) and were not shown. */
  notEligibleUnshown: number;
  /** The hub's contact update after a move: when it was shown to this contact (simulated ms), null: never. */
  updateShownAt?: number | null;
}

export interface SimReport {
  profile: string;
  contacts: number;
  days: number;
  written: number;
  eligible: number;
  deliveredEligible: number;
  /** deliveredEligible / eligible (1 when nothing was eligible). */
  deliveryRatio: number;
  duplicatesShown: number;
  /** Simulated ms from writing to first shown, over every shown text. */
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  postBytesPerDelivered: number;
  getBytesPerDelivered: number;
  requests: number;
  faults: ProxyStats['faults'];
  perContact: ContactLine[];
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export function buildReport(input: {
  profile: string;
  messages: readonly Written[];
  duplicatesShown: number;
  traffic: ProxyStats;
  days: number;
  contacts: number;
  updates: readonly { contact: string; shownAt: number | null }[];
}): SimReport {
  const texts = input.messages.filter((m) => m.kind === 'text');
  const eligible = texts.filter((m) => m.eligible);
  const deliveredEligible = eligible.filter((m) => m.shownAt !== null).length;
  const shown = texts.filter((m) => m.shownAt !== null);
  const latencies = shown.map((m) => m.shownAt! - m.sentAt).sort((a, b) => a - b);
  const contacts = [...new Set(texts.flatMap((m) => [m.from, m.to]).filter((name) => name !== 'alice'))].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
  for (const update of input.updates) if (!contacts.includes(update.contact)) contacts.push(update.contact);
  const perContact = contacts.map((contact): ContactLine => {
    const mine = texts.filter((m) => m.from === contact || m.to === contact);
    const counted = mine.filter((m) => m.eligible);
    const update = input.updates.find((u) => u.contact === contact);
    return {
      contact,
      eligible: counted.length,
      delivered: counted.filter((m) => m.shownAt !== null).length,
      lost: counted.filter((m) => m.shownAt === null).length,
      notEligibleUnshown: mine.filter((m) => !m.eligible && m.shownAt === null).length,
      ...(update ? { updateShownAt: update.shownAt } : {}),
    };
  });
  const delivered = Math.max(1, shown.length);
  return {
    profile: input.profile,
    contacts: input.contacts,
    days: input.days,
    written: texts.length,
    eligible: eligible.length,
    deliveredEligible,
    deliveryRatio: eligible.length === 0 ? 1 : deliveredEligible / eligible.length,
    duplicatesShown: input.duplicatesShown,
    latencyMs: { p50: percentile(latencies, 50), p90: percentile(latencies, 90), p99: percentile(latencies, 99), max: latencies.at(-1) ?? 0 },
    postBytesPerDelivered: Math.round(input.traffic.postBytes / delivered),
    getBytesPerDelivered: Math.round(input.traffic.getBytes / delivered),
    requests: input.traffic.requests,
    faults: { ...input.traffic.faults },
    perContact,
  };
}

/** Simulated time, short: 40 s, 12 min, 3.5 h, 2.1 d. */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(0)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(0)} min`;
  if (ms < 86_400_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  return `${(ms / 86_400_000).toFixed(1)} d`;
}

/** One table row per report (the README quotes it). */
export function formatTable(reports: readonly SimReport[]): string {
  const header = ['profile', 'texts', 'counted', 'delivery', 'dup shown', 'p50', 'p90', 'p99', 'POST B/msg', 'GET B/msg', 'faults injected'];
  const rows = reports.map((r) => [
    r.profile,
    String(r.written),
    String(r.eligible),
    r.deliveryRatio.toFixed(4),
    String(r.duplicatesShown),
    formatDuration(r.latencyMs.p50),
    formatDuration(r.latencyMs.p90),
    formatDuration(r.latencyMs.p99),
    String(r.postBytesPerDelivered),
    String(r.getBytesPerDelivered),
    Object.entries(r.faults)
      .filter(([, n]) => n > 0)
      .map(([kind, n]) => `${kind} ${n}`)
      .join(', ') || 'none',
  ]);
  return markdownTable(header, rows);
}

/** Per contact: what counted, what was lost, when the update after a move arrived. */
export function formatContacts(report: SimReport, absences?: ReadonlyMap<string, string>): string {
  const header = ['contact', 'away', 'counted', 'delivered', 'lost', 'not counted, unshown', 'update shown'];
  const rows = report.perContact.map((c) => [
    c.contact,
    absences?.get(c.contact) ?? '-',
    String(c.eligible),
    String(c.delivered),
    String(c.lost),
    String(c.notEligibleUnshown),
    c.updateShownAt === undefined ? '-' : c.updateShownAt === null ? 'never' : 'yes',
  ]);
  return markdownTable(header, rows);
}

function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}
