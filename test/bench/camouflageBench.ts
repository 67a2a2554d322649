/**
 * `npm run bench:camouflage`: the camouflage claim of issue 14 at its full size. "A server or
 * drop-sharing stranger cannot tell Init, Session, ping and v0 PDUs apart (test: a byte-histogram and
 * structure classifier over 100,000 of each scores 0.5 ± 0.01)."
 *
 * The classifier and the PDU sources are test/v1/camouflage.ts (the Vitest test runs the same at 6,000
 * per class). For each of the six pairs of classes a binary classifier is trained on the first half of
 * each class (50,000 + 50,000 at the default size) and scored on the second half (M = 100,000 test PDUs
 * per pair). Printed per pair: the accuracy, its 99.9 % confidence interval (normal approximation,
 * z = 3.29), the offsets the chi-square selection let vote, and PASS when the accuracy lies within
 * 0.5 ± 0.01 (the criterion).
 *
 * Generating 400,000 PDUs costs minutes: worker threads (one per core by default) each make and count
 * chunks of 5,000 PDUs; only histograms and counts of correct predictions cross threads. Progress goes
 * to stderr. All PDUs come from seeded randomness, so a run is reproducible.
 *
 *   node --import tsx test/bench/camouflageBench.ts [--n 100000] [--workers 2]
 */
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import {
  type Histogram,
  type PairModel,
  type PduClass,
  PDU_CLASSES,
  PDU_CLASS_PAIRS,
  Z_999,
  addToHistogram,
  emptyHistogram,
  generatePdus,
  mergeHistogram,
  pairKey,
  scoreClass,
  trainPair,
} from '../v1/camouflage.js';

const CHUNK = 5000;
const CRITERION = 0.01;

type Job = { phase: 'train' | 'test'; kind: PduClass; count: number; seed: string };
type WorkerRequest = { job: Job } | { models: [string, PairModel][] };
type WorkerReply = { histogram: Histogram } | { correct: [string, number][] } | { ready: true };

function runWorker(): void {
  let models = new Map<string, PairModel>();
  parentPort!.on('message', (request: WorkerRequest) => {
    if ('models' in request) {
      models = new Map(request.models);
      parentPort!.postMessage({ ready: true } satisfies WorkerReply);
      return;
    }
    const { job } = request;
    if (job.phase === 'train') {
      const histogram = emptyHistogram();
      generatePdus(job.kind, job.count, job.seed, (pdu) => addToHistogram(histogram, pdu));
      parentPort!.postMessage({ histogram } satisfies WorkerReply, [histogram.counts.buffer as ArrayBuffer]);
    } else {
      const scorer = scoreClass(job.kind, models);
      generatePdus(job.kind, job.count, job.seed, scorer.visit);
      parentPort!.postMessage({ correct: [...scorer.correct] } satisfies WorkerReply);
    }
  });
}

/** Splits `total` PDUs of every class into chunks with their own seeds. */
function jobs(phase: Job['phase'], perClass: number): Job[] {
  const out: Job[] = [];
  for (let at = 0, chunk = 0; at < perClass; at += CHUNK, chunk++) {
    for (const kind of PDU_CLASSES) out.push({ phase, kind, count: Math.min(CHUNK, perClass - at), seed: `${phase} ${chunk}` });
  }
  return out;
}

/** Runs the jobs on the workers, one at a time each, reporting every reply. */
async function runJobs(workers: Worker[], queue: Job[], onReply: (job: Job, reply: WorkerReply) => void): Promise<void> {
  const pending = [...queue];
  await Promise.all(
    workers.map(async (worker) => {
      for (let job = pending.shift(); job; job = pending.shift()) {
        const current = job;
        const reply = await new Promise<WorkerReply>((resolve, reject) => {
          worker.once('message', resolve);
          worker.once('error', reject);
          worker.postMessage({ job: current } satisfies WorkerRequest);
        });
        worker.removeAllListeners('error');
        onReply(current, reply);
      }
    }),
  );
}

let lastProgress = 0;

/** Progress on stderr: one line rewritten on a terminal, a line every 10 s otherwise. */
function progress(label: string, done: number, total: number, started: number): void {
  const now = performance.now();
  const finished = done === total;
  if (!process.stderr.isTTY && !finished && now - lastProgress < 10_000) return;
  lastProgress = now;
  const seconds = (now - started) / 1000;
  const eta = done > 0 ? (seconds / done) * (total - done) : 0;
  const line = `${label}: ${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} PDUs, ${seconds.toFixed(0)} s, about ${eta.toFixed(0)} s left`;
  process.stderr.write(process.stderr.isTTY ? `\r${line}   ${finished ? '\n' : ''}` : `${line}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { n: { type: 'string', default: '100000' }, workers: { type: 'string', default: String(availableParallelism()) } } });
  const perClass = Number(values.n);
  const half = Math.floor(perClass / 2);
  const workerCount = Math.max(1, Number(values.workers));
  console.log(
    `camouflage benchmark: ${perClass.toLocaleString('en-US')} PDUs per class (${PDU_CLASSES.join(', ')}), six pairwise classifiers, trained on ${half.toLocaleString('en-US')} + ${half.toLocaleString('en-US')}, scored on ${(2 * half).toLocaleString('en-US')} per pair; ${workerCount} worker threads; load average (1 min) ${loadavg()[0]!.toFixed(1)}`,
  );
  const bootstrap = new URL('../../electron/workers/bootstrap.mjs', import.meta.url);
  const entry = new URL(import.meta.url);
  const workers = Array.from({ length: workerCount }, () => new Worker(bootstrap, { workerData: { entry: entry.href, registerTsx: entry.pathname.endsWith('.ts'), camouflageWorker: true } }));
  const started = performance.now();
  try {
    const histograms = new Map<PduClass, Histogram>(PDU_CLASSES.map((kind) => [kind, emptyHistogram()]));
    let done = 0;
    const trainJobs = jobs('train', half);
    const trainTotal = 4 * half;
    await runJobs(workers, trainJobs, (job, reply) => {
      if (!('histogram' in reply)) throw new Error('a worker answered a training job without a histogram');
      mergeHistogram(histograms.get(job.kind)!, reply.histogram);
      done += job.count;
      progress('training', done, trainTotal, started);
    });
    const trainSeconds = (performance.now() - started) / 1000;
    for (const kind of PDU_CLASSES) {
      const histogram = histograms.get(kind)!;
      if (histogram.total !== half || histogram.shaped !== half) throw new Error(`${kind}: ${histogram.shaped} of ${histogram.total} PDUs are v0-shaped`);
      if (histogram.curve !== half) console.log(`  ${kind}: E on the curve in ${histogram.curve} of ${half} PDUs`);
    }
    const models = new Map<string, PairModel>(PDU_CLASS_PAIRS.map(([a, b]) => [pairKey(a, b), trainPair(histograms.get(a)!, histograms.get(b)!)]));
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve) => {
            worker.once('message', () => resolve());
            worker.postMessage({ models: [...models] } satisfies WorkerRequest);
          }),
      ),
    );
    const correct = new Map<string, number>();
    done = 0;
    const testStarted = performance.now();
    await runJobs(workers, jobs('test', half), (job, reply) => {
      if (!('correct' in reply)) throw new Error('a worker answered a test job without counts');
      for (const [key, count] of reply.correct) correct.set(key, (correct.get(key) ?? 0) + count);
      done += job.count;
      progress('scoring', done, 4 * half, testStarted);
    });
    const seconds = (performance.now() - started) / 1000;
    console.log(`E on the curve in every PDU of every class: ${PDU_CLASSES.every((kind) => histograms.get(kind)!.curve === half) ? 'yes' : 'NO'}; every PDU 2149 bytes starting with 0x00: yes`);
    let pass = true;
    for (const [a, b] of PDU_CLASS_PAIRS) {
      const key = pairKey(a, b);
      const m = 2 * half;
      const accuracy = correct.get(key)! / m;
      const half99 = Z_999 * Math.sqrt((accuracy * (1 - accuracy)) / m);
      const ok = Math.abs(accuracy - 0.5) <= CRITERION;
      pass &&= ok;
      console.log(
        `${a.padEnd(7)} vs ${b.padEnd(7)}: accuracy ${accuracy.toFixed(4)}, 99.9 % CI [${(accuracy - half99).toFixed(4)}, ${(accuracy + half99).toFixed(4)}], ${models.get(key)!.selected} of 2149 offsets pass chi-square at 1 %  (target 0.5 ± ${CRITERION}) ${ok ? 'PASS' : 'FAIL'}`,
      );
    }
    console.log(`camouflage over ${(4 * perClass).toLocaleString('en-US')} PDUs: ${pass ? 'PASS' : 'FAIL'}  (training ${trainSeconds.toFixed(0)} s, total ${seconds.toFixed(0)} s)`);
    if (!pass) process.exitCode = 1;
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

if (!isMainThread && (workerData as { camouflageWorker?: boolean } | null)?.camouflageWorker) runWorker();
else if (isMainThread) await main();
