/**
 * `npm run bench:stamps`: how long a proof-of-work stamp takes on this machine, through the client's
 * stamper (worker thread, `crypto.hash`, the same code the app runs): median and p95 at 18 and 20 bits
 * (PROTOCOL-V1 section 3d asks for both). Each stamp gets a fresh nonce, so the times follow the
 * geometric distribution of the search; the counts printed say how far to trust the tail.
 * STAMP_SAMPLES_18 / STAMP_SAMPLES_20 / STAMP_WORKERS change the sample counts and worker threads.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { createStamper } from '../../electron/core/spam/stamper.js';
import { median } from './stats.js';

const RUNS: [bits: number, samples: number][] = [
  [18, Number(process.env.STAMP_SAMPLES_18 ?? 200)],
  [20, Number(process.env.STAMP_SAMPLES_20 ?? 40)],
];
const WORKERS = Number(process.env.STAMP_WORKERS ?? 1);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main(): Promise<void> {
  const stamper = createStamper({ workers: WORKERS });
  const dropUrl = `http://127.0.0.1:1/${randomBytes(32).toString('base64url')}`;
  const pdu = randomBytes(2149);
  try {
    // Worker start-up and JIT are not part of a stamp.
    await stamper.stampFor(dropUrl, pdu, 12);
    console.log(`stamp benchmark: ${WORKERS} worker thread(s) of ${availableParallelism()} cores, SHA-256 via crypto.hash`);
    console.log('| bits | stamps | median s | p95 s | mean s | hashes/s (all stamps) |');
    console.log('|---:|---:|---:|---:|---:|---:|');
    for (const [bits, samples] of RUNS) {
      const seconds: number[] = [];
      let hashes = 0;
      for (let i = 0; i < samples; i++) {
        let tried = 0;
        const started = performance.now();
        await stamper.stampFor(dropUrl, pdu, bits, (progress) => (tried = progress.hashes));
        seconds.push((performance.now() - started) / 1000);
        hashes += tried;
      }
      const total = seconds.reduce((a, b) => a + b, 0);
      console.log(
        `| ${bits} | ${samples} | ${median(seconds).toFixed(2)} | ${percentile(seconds, 95).toFixed(2)} | ${(total / samples).toFixed(2)} | ${(hashes / total / 1e6).toFixed(2)} M |`,
      );
    }
    console.log('hashes/s counts the progress reports (every 16,384 hashes), so it slightly undercounts.');
  } finally {
    await stamper.close();
  }
}

await main();
