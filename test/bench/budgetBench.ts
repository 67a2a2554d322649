/**
 * `npm run bench:budget`: the traffic budget's cost model (shared/budget/model.ts, what the settings
 * panel shows) beside the bytes a real run puts on the wire, per preset, as ratios. Each preset runs
 * `--slots` time-warped slots through a recording proxy to a real drop server process, with real
 * messages waiting now and then; the bytes are extrapolated to a day. The design's table
 * (PROTOCOL-V1.md 4c) is printed too: it assumed larger headers than our server and client send.
 *
 *   node --import tsx test/bench/budgetBench.ts [--slots 60]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { BUDGET_SHAPES, type BudgetShape, budgetFigures } from '../../shared/budget/model.js';
import type { BudgetPreset } from '../../shared/budget/setting.js';
import { formatDropUrl, generateDropId } from '../../shared/protocol/dropId.js';
import { budgetUser } from '../budget/budgetHarness.js';
import { FakeSlotTimer } from '../budget/fakeTimer.js';
import { startRecordingProxy } from '../budget/recordingProxy.js';
import { seededRandom } from '../budget/stats.js';
import { makeDataDir, removeDataDir, startServerProcess } from '../server/serverProcess.js';

const { values } = parseArgs({ options: { slots: { type: 'string', default: '60' } } });
const SLOTS = Number(values.slots);
const DAY = 24 * 3600_000;

/** PROTOCOL-V1.md 4c, total MB/day. */
const ROWS: Array<{ name: string; preset: Exclude<BudgetPreset, 'off' | 'custom'>; drops: number; design: number }> = [
  { name: 'Low', preset: 'low', drops: 2, design: 1.3 },
  { name: 'Medium', preset: 'medium', drops: 2, design: 7.1 },
  { name: 'High', preset: 'high', drops: 2, design: 22.7 },
  { name: 'High, 3 drops', preset: 'high', drops: 3, design: 30.2 },
];

/** The proxy labels each connection with the running preset's clock. */
let clock: () => number = () => 0;

const mb = (bytes: number) => (bytes / 1e6).toFixed(2).padStart(6);

async function measure(shape: BudgetShape, preset: Exclude<BudgetPreset, 'off' | 'custom'>, drops: number, base: string, proxy: Awaited<ReturnType<typeof startRecordingProxy>>, seed: number) {
  const timer = new FakeSlotTimer();
  clock = () => timer.now();
  const user = budgetUser({ drops: Array.from({ length: drops }, () => formatDropUrl(base, generateDropId())), timer, random: seededRandom(seed), preset });
  await user.budget.configure();
  const start = timer.now();
  const from = proxy.records.length;
  // Now and then a real message waits: it replaces cover, so it must cost the same.
  const messages = seededRandom(seed + 1);
  for (let slot = 0; slot < SLOTS; slot++) {
    if (messages() < 0.3) void user.send(formatDropUrl(base, generateDropId()), randomBytes(2149)).catch(() => undefined);
    await timer.runNext(() => user.budget.idle());
  }
  await user.budget.close();
  await proxy.quiet();
  // Discovery ran at the start, before the first slot: not part of the daily traffic.
  const records = proxy.records.slice(from).filter((r) => r.label > start);
  // Per slot run, at the mean interval (the last slot's interval is not over yet).
  const days = (user.slots.length * shape.slotMs) / DAY;
  const up = records.reduce((s, r) => s + r.up, 0) / days;
  const down = records.reduce((s, r) => s + r.down, 0) / days;
  return { up, down };
}

async function main(): Promise<void> {
  const dataDir = makeDataDir();
  const server = await startServerProcess(dataDir);
  const proxy = await startRecordingProxy(server.url, () => clock());
  try {
    console.log(`traffic budget: model vs ${SLOTS} real slots per preset (HTTP bytes on loopback, TLS not included), MB per day`);
    console.log('preset           | model up  down  total | measured up  down  total | measured/model | design total  design/model');
    for (const [i, row] of ROWS.entries()) {
      const shape = BUDGET_SHAPES[row.preset];
      const model = budgetFigures(shape, row.drops);
      const real = await measure(shape, row.preset, row.drops, proxy.url, proxy, 100 + i);
      const ratio = (real.up + real.down) / model.totalBytesPerDay;
      console.log(
        `${row.name.padEnd(16)} | ${mb(model.upBytesPerDay)} ${mb(model.downBytesPerDay)} ${mb(model.totalBytesPerDay)} |      ${mb(real.up)} ${mb(real.down)} ${mb(real.up + real.down)} | ${ratio.toFixed(3).padStart(14)} | ${row.design.toFixed(1).padStart(12)}  ${(row.design / (model.totalBytesPerDay / 1e6)).toFixed(3).padStart(12)}`,
      );
    }
    const medium = budgetFigures(BUDGET_SHAPES.medium, 2);
    console.log(`Medium, 2 drops: ${medium.requestsPerDay} requests a day; with a TLS handshake each (about 5 KB) add ${mb(medium.handshakeBytesPerDay)} MB`);
  } finally {
    await proxy.close();
    await server.stop();
    removeDataDir(dataDir);
  }
}

await main();
