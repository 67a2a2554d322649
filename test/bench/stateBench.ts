/**
 * `npm run bench:state`: the engine's state file under a stream of 1,000 acknowledged messages (one
 * batch each, as push delivers them) and of 1,000 posted parts, with batched writes (as the engine
 * runs) against writing every change before the call returns (the behaviour before batching: the
 * baseline, measured in the same run). Prints state writes per second and the main thread's busy
 * time per 1,000 (event-loop utilisation: serialising the state and issuing the writes; the fsync
 * itself runs on libuv's thread pool).
 *
 *   node --import tsx test/bench/stateBench.ts [--count 1000] [--interval-ms 2] [--rounds 3]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { argon2id } from '../../shared/protocol/argon2id.js';
import { TEST_PASSPHRASE_LIMITS } from '../../shared/protocol/passphraseSeal.js';
import { writeFileAtomic } from '../../electron/core/state/atomicFile.js';
import { StateStore } from '../../electron/core/state/stateStore.js';
import { passphraseKeyWrap } from '../../electron/core/state/passphraseKeyWrap.js';
import { STATE_FILE_NAME, type OutboxRecord } from '../../electron/core/state/stateSchema.js';
import { median } from './stats.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '1000' },
    'interval-ms': { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
  },
});
const COUNT = Number(values.count);
/** Changes arrive this often (a burst of deliveries), or as soon as the previous call returned. */
const INTERVAL_MS = Number(values['interval-ms']);
const ROUNDS = Number(values.rounds);
/** A lived-in state file: a full list of recent dedupe keys and many finished outbox records. */
const SEEN_KEYS = 5000;
const FINISHED_RECORDS = 1000;
const DROP = 'https://drop.example.net/drops/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
const BATCHED = 'batched';
const EVERY_CHANGE = 'every change';

const key = (i: number) => `${i.toString(16).padStart(8, '0')}${'ab'.repeat(28)}`;
const record = (pending: number, posted: number): OutboxRecord => ({
  status: pending > 0 ? 'sending' : 'posted',
  identityId: 'identity',
  acknowledgeIds: ['0123456789abcdef'],
  parts: pending + posted,
  postedParts: posted,
  pendingPdus: Array.from({ length: pending }, () => 'A'.repeat(2868)), // base64 of a 2,149-byte PDU
  dropUrls: [DROP],
  updatedAt: 1_800_000_000_000,
});

interface Measured {
  writes: number;
  seconds: number;
  busyMs: number;
}

async function livedInStateStore(mode: string) {
  const dataDir = mkdtempSync(join(tmpdir(), 'deaddrop-state-bench-'));
  const counter = { writes: 0, measuring: false };
  const stateStore = await StateStore.load(dataDir, passphraseKeyWrap(TEST_PASSPHRASE_LIMITS, argon2id), {
    writeDelayMs: mode === BATCHED ? undefined : 0,
    writeFile: async (path, contents) => {
      if (!counter.measuring) return writeFile(path, contents); // filling the state: no fsync, not counted
      counter.writes++;
      await writeFileAtomic(path, contents);
    },
  });
  await stateStore.unlock('bench secret');
  await stateStore.acknowledge(DROP, 'start', Array.from({ length: SEEN_KEYS }, (_, i) => key(i)));
  for (let i = 0; i < FINISHED_RECORDS; i++) await stateStore.putOutboxRecord(`done-${i}`, record(0, 1));
  await stateStore.flush();
  counter.measuring = true;
  return { stateStore, dataDir, counter };
}

/** Runs `change(i)` COUNT times, paced, each awaited as its caller does; then waits for the disk. */
async function stream(mode: string, change: (stateStore: StateStore, i: number) => Promise<void>): Promise<Measured & { fileBytes: number }> {
  const { stateStore, dataDir, counter } = await livedInStateStore(mode);
  const loopBefore = performance.eventLoopUtilization();
  const start = performance.now();
  for (let i = 0; i < COUNT; i++) {
    const due = start + i * INTERVAL_MS;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    await change(stateStore, i);
  }
  await stateStore.flush();
  const seconds = (performance.now() - start) / 1000;
  const busyMs = performance.eventLoopUtilization(loopBefore).active;
  const fileBytes = statSync(join(dataDir, STATE_FILE_NAME)).size;
  rmSync(dataDir, { recursive: true, force: true });
  return { writes: counter.writes, seconds, busyMs, fileBytes };
}

const scenarios: { name: string; change(stateStore: StateStore, i: number): Promise<void> }[] = [
  { name: 'acknowledged messages (one batch each)', change: (stateStore, i) => stateStore.acknowledge(DROP, `cursor-${i}`, [key(SEEN_KEYS + i)]) },
  {
    // Each message's record is created (on disk before its first POST, in both modes), then its parts go out one by one.
    name: 'posted parts (10-part messages sent one after another)',
    change: async (stateStore, i) => {
      const localId = `long-${Math.floor(i / 10)}`;
      if (i % 10 === 0) await stateStore.putOutboxRecord(localId, record(10, 0));
      await stateStore.putOutboxRecord(localId, record(9 - (i % 10), 1 + (i % 10)));
    },
  },
];

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function main(): Promise<void> {
  console.log(`state file benchmark: ${fmt(COUNT)} changes, one every ${INTERVAL_MS} ms or when the previous call returned; ${ROUNDS} rounds, medians`);
  for (const scenario of scenarios) {
    const runs = new Map<string, Measured[]>([[EVERY_CHANGE, []], [BATCHED, []]]);
    let fileBytes = 0;
    // Interleaved rounds: both modes see the same background load.
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of runs.keys()) {
        const measured = await stream(mode, scenario.change);
        fileBytes = measured.fileBytes;
        runs.get(mode)!.push(measured);
      }
    }
    console.log(`${fmt(COUNT)} ${scenario.name}, state file ${fmt(fileBytes / 1024)} KiB:`);
    const summary = new Map<string, { writes: number; perSecond: number; busyPer1000: number; seconds: number }>();
    for (const [mode, measured] of runs) {
      const seconds = median(measured.map((m) => m.seconds));
      const writes = median(measured.map((m) => m.writes));
      summary.set(mode, { writes, seconds, perSecond: median(measured.map((m) => m.writes / m.seconds)), busyPer1000: median(measured.map((m) => (m.busyMs * 1000) / COUNT)) });
    }
    const base = summary.get(EVERY_CHANGE)!;
    for (const [mode, s] of summary) {
      const ratio = mode === BATCHED ? `  ratio to baseline: writes/s ${fmt(s.perSecond / base.perSecond, 3)}, main thread ${fmt(s.busyPer1000 / base.busyPer1000, 3)}` : '  (baseline)';
      console.log(
        `  ${mode === BATCHED ? 'batched (200 ms)   ' : 'write every change '}: ${fmt(s.writes)} writes in ${fmt(s.seconds, 2)} s = ${fmt(s.perSecond, 1)} writes/s, main thread ${fmt(s.busyPer1000, 1)} ms per 1,000${ratio}`,
      );
    }
  }
}

await main();
