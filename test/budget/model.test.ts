/**
 * The budget model (shared/budget/model.ts): its wire constants are what our server and the budget
 * client really exchange (measured here through the recording proxy), and it gives the design's table
 * (PROTOCOL-V1.md 4c): slots, send rates and latency exactly, bytes within 6 % (the design assumed
 * larger headers than ours; see WIRE_BYTES).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlotTransport } from '../../electron/core/budget/slotTransport.js';
import { BUDGET_SHAPES, PDU_BYTES, WIRE_BYTES, budgetFigures, formatDuration, formatMegabytes, getResponseBytes, shapeOf } from '../../shared/budget/model.js';
import { DEFAULT_TRAFFIC_BUDGET } from '../../shared/budget/setting.js';
import { formatDropUrl, generateDropId } from '../../shared/protocol/dropId.js';
import { type ServerProcess, makeDataDir, removeDataDir, startServerProcess } from '../server/serverProcess.js';
import { loopbackGuard } from './budgetHarness.js';
import { type RecordingProxy, startRecordingProxy } from './recordingProxy.js';

/** PROTOCOL-V1.md 4c, "Budget presets (computed)". */
const DESIGN_TABLE = [
  { name: 'Low', shape: BUDGET_SHAPES.low, drops: 2, slotsPerDay: 96, up: 0.3, down: 1.0, total: 1.3, gb30: 0.04, sendPerHour: 4 },
  { name: 'Medium', shape: BUDGET_SHAPES.medium, drops: 2, slotsPerDay: 288, up: 1.6, down: 5.6, total: 7.1, gb30: 0.21, sendPerHour: 24 },
  { name: 'High', shape: BUDGET_SHAPES.high, drops: 2, slotsPerDay: 1440, up: 7.9, down: 14.8, total: 22.7, gb30: 0.68, sendPerHour: 120 },
  { name: 'High, 3 drops', shape: BUDGET_SHAPES.high, drops: 3, slotsPerDay: 1440, up: 8.3, down: 21.9, total: 30.2, gb30: 0.91, sendPerHour: 120 },
];

describe('the model against the design table', () => {
  it.each(DESIGN_TABLE)('$name: slots, send rate and latency exactly, bytes within 6 %', ({ shape, drops, slotsPerDay, up, down, total, gb30, sendPerHour }) => {
    const figures = budgetFigures(shape, drops);
    expect(figures.slotsPerDay).toBe(slotsPerDay);
    expect(figures.maxSendPerHour).toBe(sendPerHour);
    expect(figures.meanAddedLatencyMs).toBe(shape.slotMs);
    expect(figures.maxAddedLatencyMs).toBe(2 * shape.slotMs);
    expect(figures.requestsPerDay).toBe(slotsPerDay * (shape.postsPerSlot + drops));
    for (const [ours, theirs] of [
      [figures.upBytesPerDay / 1e6, up],
      [figures.downBytesPerDay / 1e6, down],
      [figures.totalBytesPerDay / 1e6, total],
      [figures.bytesPer30Days / 1e9, gb30],
    ] as const) {
      expect(Math.abs(ours / theirs - 1)).toBeLessThan(0.06 + 0.05 / theirs);
    }
  });

  it('is driven by the setting: Off has no shape, Custom its own numbers', () => {
    expect(shapeOf(DEFAULT_TRAFFIC_BUDGET)).toBeNull();
    expect(shapeOf({ ...DEFAULT_TRAFFIC_BUDGET, preset: 'medium' })).toEqual(BUDGET_SHAPES.medium);
    expect(shapeOf({ preset: 'custom', custom: { slotSeconds: 120, postsPerSlot: 3, page: 5 } })).toEqual({ slotMs: 120_000, postsPerSlot: 3, page: 5 });
    // More of anything costs more.
    const base = budgetFigures({ slotMs: 120_000, postsPerSlot: 3, page: 5 }, 2);
    expect(budgetFigures({ slotMs: 60_000, postsPerSlot: 3, page: 5 }, 2).totalBytesPerDay).toBeGreaterThan(base.totalBytesPerDay);
    expect(budgetFigures({ slotMs: 120_000, postsPerSlot: 4, page: 5 }, 2).upBytesPerDay).toBeGreaterThan(base.upBytesPerDay);
    expect(budgetFigures({ slotMs: 120_000, postsPerSlot: 3, page: 6 }, 2).downBytesPerDay).toBeGreaterThan(base.downBytesPerDay);
  });

  it('formats figures the way the panel shows them', () => {
    expect(formatMegabytes(budgetFigures(BUDGET_SHAPES.medium, 2).totalBytesPerDay)).toBe('7.1 MB');
    expect(formatDuration(BUDGET_SHAPES.low.slotMs)).toBe('15 min');
    expect(formatDuration(45_000)).toBe('45 s');
    expect(formatDuration(3 * 3600_000)).toBe('3.0 h');
  });
});

describe('the wire constants, measured against a real server process', () => {
  let dataDir: string;
  let server: ServerProcess;
  let proxy: RecordingProxy;
  beforeAll(async () => {
    dataDir = makeDataDir();
    server = await startServerProcess(dataDir);
    proxy = await startRecordingProxy(server.url);
  });
  afterAll(async () => {
    await proxy?.close();
    await server?.stop();
    removeDataDir(dataDir);
  });

  it('POSTs (mail and cover) and padded GETs of every page size cost what the model says', async () => {
    const transport = new SlotTransport({ proxy: () => ({ kind: 'none' }), guard: loopbackGuard() });
    const dropUrl = formatDropUrl(proxy.url, generateDropId());
    const pdu = new Uint8Array(PDU_BYTES);
    await transport.post(dropUrl, pdu, false);
    await transport.post(dropUrl, pdu, true);
    for (let page = 1; page <= 8; page++) await transport.fetchPage(dropUrl, null, page);
    // A cursor of any length is sent as 20 digits.
    await transport.fetchPage(dropUrl, '7', 4);
    await proxy.quiet();
    const posts = proxy.records.filter((r) => r.method === 'POST');
    const gets = proxy.records.filter((r) => r.method === 'GET');
    expect(posts.map((r) => r.cover)).toEqual(['0', '1']);
    for (const post of posts) expect([post.up, post.down]).toEqual([WIRE_BYTES.postRequest + PDU_BYTES, WIRE_BYTES.postResponse]);
    expect(gets.map((r) => r.up)).toEqual(Array(9).fill(WIRE_BYTES.getRequest));
    expect(gets.map((r) => r.down)).toEqual([...[1, 2, 3, 4, 5, 6, 7, 8].map(getResponseBytes), getResponseBytes(4)]);
  });
});
