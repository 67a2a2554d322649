/**
 * The traffic budget's cost model (PROTOCOL-V1.md 4c): what a preset costs per day and what it does
 * to latency and send rate. The settings panel shows these figures and the budget tests check the
 * engine's measured traffic against them, so the two cannot drift apart.
 *
 * Bytes are HTTP bytes on the wire (request and response lines, headers and bodies) as measured
 * against our drop server with the budget's own requests (test/budget/model.test.ts measures them
 * again); TLS and Tor cells are left out. MB are 10^6 bytes.
 */
import { type BudgetPreset, type TrafficBudgetSetting } from './setting.js';

/** One slot's work: every `slotMs` (jittered by ±25 %), `postsPerSlot` POSTs and one GET per own drop asking for `page` parts. */
export interface BudgetShape {
  slotMs: number;
  postsPerSlot: number;
  page: number;
}

/** The presets of the design's table. */
export const BUDGET_SHAPES: Record<Exclude<BudgetPreset, 'off' | 'custom'>, BudgetShape> = {
  low: { slotMs: 15 * 60_000, postsPerSlot: 1, page: 2 },
  medium: { slotMs: 5 * 60_000, postsPerSlot: 2, page: 4 },
  high: { slotMs: 60_000, postsPerSlot: 2, page: 2 },
};

/** The shape a setting asks for; null when the budget is off. */
export function shapeOf(setting: TrafficBudgetSetting): BudgetShape | null {
  if (setting.preset === 'off') return null;
  if (setting.preset !== 'custom') return BUDGET_SHAPES[setting.preset];
  const { slotSeconds, postsPerSlot, page } = setting.custom;
  return { slotMs: slotSeconds * 1000, postsPerSlot, page };
}

/** A PDU (PROTOCOL.md section 4) and a filler part alike. */
export const PDU_BYTES = 2149;

/**
 * Bytes around the bodies, per request, measured against our server with the budget client (one
 * connection per request, `Connection: close`, the budget's fixed-length headers) on a loopback
 * address with a port (`Host: 127.0.0.1:40000`, about the length of a public host name); the
 * design's table assumed some 20-60 % more header bytes, so these figures come out 1-5 % lower.
 */
export const WIRE_BYTES = {
  /**
   * POST request line and headers (`X-Qabel-Cover: 0|1` on every POST, so cover and mail are one size),
   * with the 96 bytes of anti-spam headers every budget POST carries (a ticket, a stamp or neither,
   * padded by `X-Qabel-Pad` to one length: electron/core/budget).
   */
  postRequest: 347,
  /** The `200` answer to a POST, empty body. */
  postResponse: 119,
  /** GET request line and headers (`X-Qabel-Page`, and a 20-digit `X-Qabel-New-Since` always). */
  getRequest: 199,
  /** Status line and headers of a padded answer (boundary, 20-digit `X-Qabel-Latest`, `X-Qabel-More`). */
  getResponse: 253,
  /** Per part: `--boundary`, its three header lines, the blank line and the CRLF after the body. */
  partOverhead: 136,
  /** `--boundary--\r\n`. */
  close: 38,
} as const;

export interface BudgetFigures {
  slotsPerDay: number;
  requestsPerDay: number;
  upBytesPerDay: number;
  downBytesPerDay: number;
  totalBytesPerDay: number;
  bytesPer30Days: number;
  /** A message waits half a slot for the sender's POST and half a slot for the recipient's GET. */
  meanAddedLatencyMs: number;
  /** At most two slots (then a backlog waits its turn). */
  maxAddedLatencyMs: number;
  /** PDUs per hour; a message sent as k copies goes out at 1/k of this. */
  maxSendPerHour: number;
  /**
   * Estimated TLS handshakes on top (one connection per request, so one handshake each; about 5 KB
   * with a fresh Tor circuit, PROTOCOL-V1.md 4c). Not in the totals above: plain HTTP has none.
   */
  handshakeBytesPerDay: number;
}

/** A TLS 1.3 handshake with certificate chain, per connection (PROTOCOL-V1.md 4c's estimate). */
export const TLS_HANDSHAKE_BYTES = 5000;

const DAY_MS = 24 * 3600_000;

/** Bytes of one padded GET answer of `page` parts (status line and headers included). */
export function getResponseBytes(page: number): number {
  return WIRE_BYTES.getResponse + contentLengthDigits(page) + page * (PDU_BYTES + WIRE_BYTES.partOverhead) + WIRE_BYTES.close;
}

/** Bytes of one POST of a PDU (request with body). */
export const POST_REQUEST_BYTES = WIRE_BYTES.postRequest + PDU_BYTES;

/** What `shape` costs a user who reads `drops` own drops. */
export function budgetFigures(shape: BudgetShape, drops: number): BudgetFigures {
  const slotsPerDay = DAY_MS / shape.slotMs;
  const upPerSlot = shape.postsPerSlot * POST_REQUEST_BYTES + drops * WIRE_BYTES.getRequest;
  const downPerSlot = shape.postsPerSlot * WIRE_BYTES.postResponse + drops * getResponseBytes(shape.page);
  const upBytesPerDay = slotsPerDay * upPerSlot;
  const downBytesPerDay = slotsPerDay * downPerSlot;
  return {
    slotsPerDay,
    requestsPerDay: slotsPerDay * (shape.postsPerSlot + drops),
    upBytesPerDay,
    downBytesPerDay,
    totalBytesPerDay: upBytesPerDay + downBytesPerDay,
    bytesPer30Days: 30 * (upBytesPerDay + downBytesPerDay),
    meanAddedLatencyMs: shape.slotMs,
    maxAddedLatencyMs: 2 * shape.slotMs,
    maxSendPerHour: (3600_000 / shape.slotMs) * shape.postsPerSlot,
    handshakeBytesPerDay: slotsPerDay * (shape.postsPerSlot + drops) * TLS_HANDSHAKE_BYTES,
  };
}

/**
 * The `Content-Length` value's digits beyond the four of a one-part answer (the measured
 * `getResponse` holds four); a padded answer of 5 or more parts needs five.
 */
function contentLengthDigits(page: number): number {
  const body = page * (PDU_BYTES + WIRE_BYTES.partOverhead) + WIRE_BYTES.close;
  return String(body).length - 4;
}

/** `bytes` as decimal megabytes with one decimal, as the design's table prints them ("7.1 MB"). */
export function formatMegabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** A duration in minutes or hours for the panel ("5 min", "1.5 h"). */
export function formatDuration(ms: number): string {
  const minutes = ms / 60_000;
  if (minutes < 1) return `${Math.round(ms / 1000)} s`;
  if (minutes < 120) return `${Number.isInteger(minutes) ? minutes : minutes.toFixed(1)} min`;
  return `${(minutes / 60).toFixed(1)} h`;
}
