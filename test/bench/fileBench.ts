/**
 * `npm run bench:files`: encrypted file transfer through a drop server's blob store, against a plain
 * HTTP transfer of the same bytes over the same server in the same run (target: ≥ 0.5 of its
 * throughput each way), and the client's peak memory while sending a small and a large file (it must
 * not grow with the file). The server runs in a process of its own, so the figures are the client's.
 *
 *   npm run bench:files -- [--mb 100] [--large-mb 500] [--rounds 3]
 */
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { type BlobHttp, downloadEncryptedFile, uploadEncryptedFile } from '../../electron/core/files/blobTransfer.js';
import { spawnDropServer } from '../../server/index.js';
import { median } from './stats.js';

const { values } = parseArgs({
  options: {
    mb: { type: 'string', default: '100' },
    'large-mb': { type: 'string', default: '500' },
    rounds: { type: 'string', default: '3' },
  },
});
const MB = 1_000_000;
const SIZE = Number(values.mb) * MB;
const LARGE = Number(values['large-mb']) * MB;
const ROUNDS = Number(values.rounds);
const repoRoot = join(import.meta.dirname, '..', '..');

/** Writes `bytes` of pseudo-random data (incompressible enough; content does not change the cost). */
async function writeFile(path: string, bytes: number): Promise<void> {
  const file = await open(path, 'w');
  const block = Buffer.alloc(1 << 20);
  for (let i = 0; i < block.length; i += 4) block.writeUInt32LE(((Math.imul(i, 2654435761) ^ i) >>> 0), i);
  for (let written = 0; written < bytes; written += block.length) {
    block.writeUInt32LE(written >>> 0, 0);
    await file.write(block, 0, Math.min(block.length, bytes - written));
  }
  await file.close();
}

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const start = performance.now();
  const result = await work();
  return { ms: performance.now() - start, result };
}


async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'deaddrop-bench-files-'));
  const server = await spawnDropServer({
    command: process.execPath,
    args: ['--import', 'tsx', join(repoRoot, 'server', 'cli.ts'), '--port', '0', '--db', `sqlite:${join(dir, 'drops.db')}`, '--blobs',
      '--max-blob-bytes', String(LARGE + 10 * MB), '--quota', String(4 * (LARGE + SIZE * ROUNDS * 3)), '--log-level', 'warn'],
    cwd: repoRoot,
  });
  const agent = new Agent();
  const http: BlobHttp = { dispatcher: agent, checkUrl: () => undefined };
  try {
    console.log(`files bench: ${SIZE / MB} MB × ${ROUNDS} rounds, large file ${LARGE / MB} MB; ${availableParallelism()} cores, load ${loadavg()[0]!.toFixed(2)}`);
    const source = join(dir, 'source.bin');
    await writeFile(source, SIZE);

    const plainUp: number[] = [];
    const plainDown: number[] = [];
    const sealedUp: number[] = [];
    const sealedDown: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Plain: the same bytes, the same server, streamed from and to disk, no encryption.
      const up = await timed(async () => {
        const res = await request(`${server.url}/blobs`, {
          method: 'POST',
          dispatcher: agent,
          headers: { authorization: 'Client Qabel', 'content-length': String(SIZE) },
          body: createReadStream(source, { highWaterMark: 256 * 1024 }),
        });
        await res.body.dump();
        return new URL(String(res.headers.location), server.url).toString();
      });
      plainUp.push(up.ms);
      plainDown.push(
        (
          await timed(async () => {
            const res = await request(up.result, { dispatcher: agent });
            await pipeline(res.body, createWriteStream(join(dir, 'plain.out')));
          })
        ).ms,
      );
      const sealed = await timed(() => uploadEncryptedFile(source, server.url, http));
      sealedUp.push(sealed.ms);
      const dest = join(dir, `sealed-${round}.out`);
      sealedDown.push((await timed(() => downloadEncryptedFile(sealed.result, dest, http))).ms);
      rmSync(dest);
    }
    const rate = (ms: number) => (SIZE / MB / (ms / 1000)).toFixed(1);
    const up = median(plainUp) / median(sealedUp);
    const down = median(plainDown) / median(sealedDown);
    console.log(`upload:   plain ${rate(median(plainUp))} MB/s, encrypted ${rate(median(sealedUp))} MB/s → ratio ${up.toFixed(2)} (target ≥ 0.5)`);
    console.log(`download: plain ${rate(median(plainDown))} MB/s, encrypted + checked ${rate(median(sealedDown))} MB/s → ratio ${down.toFixed(2)} (target ≥ 0.5)`);

    // Peak memory while sending: a small file and a large one, sampled every 20 ms.
    const peaks: Record<string, number> = {};
    for (const [name, bytes] of [['small', Math.min(SIZE, 50 * MB)], ['large', LARGE]] as const) {
      const path = join(dir, `${name}.bin`);
      await writeFile(path, bytes);
      global.gc?.();
      const before = process.memoryUsage().rss;
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
      await uploadEncryptedFile(path, server.url, http);
      clearInterval(sampler);
      peaks[name] = peak - before;
      rmSync(path);
      console.log(`sending ${bytes / MB} MB: peak RSS growth ${(peaks[name]! / MB).toFixed(1)} MB`);
    }
    const smallBytes = Math.min(SIZE, 50 * MB);
    console.log(
      `memory: peak growth ${(peaks.large! / MB).toFixed(1)} MB for a ${LARGE / MB} MB file (${((100 * peaks.large!) / LARGE).toFixed(1)} % of it), ` +
        `${(peaks.small! / MB).toFixed(1)} MB for a ${smallBytes / MB} MB file: memory does not follow the file's size if both stay a few MB`,
    );
  } finally {
    await agent.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
