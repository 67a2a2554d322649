/**
 * `npm run bench:cli`: wall time of `deaddrop fetch` as a user runs it (a fresh process: Node start,
 * bundle load, crypto workers, Argon2id of the `.qid`, the fetch itself), on an empty drop and on a
 * shared drop holding 20,000 messages for others and 10 of ours. The full drop's rate is set against
 * the raw X25519 rate of one core measured in the same run (every PDU costs at least one X25519).
 *
 *   npm run bench:cli -- [--foreign 20000] [--ours 10] [--rounds 5]
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { PDU_LENGTH, PDU_VERSION_0 } from '../../shared/protocol/boxTypes.js';
import { generateNativeKeyPair } from '../../electron/core/state/nativeKeyPair.js';
import { spawnDropServer } from '../../server/index.js';
import { craftPdu } from '../engine/helpers/craft.js';
import { rawX25519Rate } from './rawX25519.js';
// @ts-expect-error: a plain .mjs build script without type declarations
import { buildNodeCommands } from '../../scripts/nodeBundles.mjs';
import { median } from './stats.js';

const { values } = parseArgs({
  options: {
    foreign: { type: 'string', default: '20000' },
    ours: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '5' },
  },
});
const FOREIGN = Number(values.foreign);
const OURS = Number(values.ours);
const ROUNDS = Number(values.rounds);
const PASSPHRASE = 'bench passphrase';
const repoRoot = join(import.meta.dirname, '..', '..');
/**
 * The commands are built for this run into a folder of its own (minified, as shipped): others may
 * rebuild dist-node/ meanwhile. It sits under node_modules so the bundles find their external modules.
 */
const bundleDir = join(repoRoot, 'node_modules', '.cache', 'deaddrop-bench', `cli-${process.pid}`);
/** One drop holds the whole shared drop: lift the per-drop caps. */
const POST_HEADERS = { authorization: 'Client Qabel', 'content-type': 'application/octet-stream' };
const SERVER_ARGS = ['--port', '0', '--db', 'sqlite::memory:', '--log-level', 'warn', '--quota', '10GB', '--drop-max-messages', '1000000', '--drop-max-bytes', '1GB', '--max-client-connections', '1024'];

/** The drop server from this run's bundle, as the installed `deaddrop-server` runs. */
function startServer() {
  return spawnDropServer({ command: process.execPath, args: [join(bundleDir, 'deaddrop-server.js'), ...SERVER_ARGS], cwd: repoRoot });
}

/** Runs `deaddrop` to completion; resolves with its output and wall time in seconds. */
function deaddrop(args: string[]): Promise<{ stdout: string; seconds: number }> {
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [join(bundleDir, 'deaddrop.js'), ...args],
      { cwd: repoRoot, env: { ...process.env, DEADDROP_PASSPHRASE: PASSPHRASE }, maxBuffer: 64 << 20, timeout: 120_000 },
      (error, stdout, stderr) => {
        const seconds = Number(process.hrtime.bigint() - start) / 1e9;
        if (error) reject(new Error(`deaddrop ${args.join(' ')} failed: ${stderr.trim() || error.message}`));
        else resolve({ stdout, seconds });
      },
    );
  });
}

/** A new identity's `.qid` file (default Argon2id cost, as users have them) and its key and drop URL. */
async function newIdentity(dir: string, name: string, serverUrl: string): Promise<{ file: string; publicKey: string; dropUrl: string }> {
  const file = join(dir, `${name}.qid`);
  const { stdout } = await deaddrop(['id', 'new', '--alias', name, '--server', serverUrl, '--out', file]);
  const [, , dropUrl, publicKey] = stdout.trim().split('\n');
  return { file, publicKey: publicKey!, dropUrl: dropUrl! };
}

/**
 * Fills the drop: foreign PDUs are random bytes of a message's size and version (to us they are what
 * a message for a stranger is: one X25519 and a failed tag each), ours are real messages spread evenly.
 * Posted straight over HTTP, many at once (the engine's client would keep to 4 per server).
 */
async function fillSharedDrop(dropUrl: string, publicKey: string): Promise<void> {
  const dispatcher = new Agent({ connections: 64 });
  const sender = generateNativeKeyPair();
  const total = FOREIGN + OURS;
  const ourEvery = Math.floor(total / OURS);
  const pdus: Uint8Array[] = [];
  for (let i = 0, ours = 0; i < total; i++) {
    if (ours < OURS && i % ourEvery === ourEvery - 1) pdus.push(await craftPdu({ from: sender, to: publicKey, text: `ours ${ours++}` }));
    else {
      const noise = new Uint8Array(randomBytes(PDU_LENGTH));
      noise[0] = PDU_VERSION_0;
      pdus.push(noise);
    }
  }
  let next = 0;
  const postNext = async (): Promise<void> => {
    while (next < pdus.length) {
      const response = await request(dropUrl, { method: 'POST', dispatcher, headers: POST_HEADERS, body: pdus[next++] });
      await response.body.dump();
      if (response.statusCode !== 200) throw new Error(`POST answered ${response.statusCode}`);
    }
  };
  await Promise.all(Array.from({ length: 64 }, postNext));
  await dispatcher.close();
}

const ms = (s: number) => `${(s * 1000).toFixed(0)} ms`;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const load = loadavg()[0]!;
  console.log(`CLI fetch benchmark: ${availableParallelism()} cores, load average (1 min) at start ${load.toFixed(1)}`);
  await mkdir(bundleDir, { recursive: true });
  await (buildNodeCommands as (options: { outDir: string; minify: boolean }) => Promise<unknown>)({ outDir: bundleDir, minify: true });
  const dir = mkdtempSync(join(tmpdir(), 'deaddrop-cli-bench-'));
  const server = await startServer();
  try {
    const empty = await newIdentity(dir, 'empty', server.url);
    const shared = await newIdentity(dir, 'shared', server.url);
    const filling = Date.now();
    await fillSharedDrop(shared.dropUrl, shared.publicKey);
    console.log(`shared drop filled: ${fmt(FOREIGN)} foreign + ${OURS} ours in ${ms((Date.now() - filling) / 1000)}`);

    const emptyTimes: number[] = [];
    const fullTimes: number[] = [];
    let raw = 0;
    await deaddrop(['fetch', '--id', empty.file]); // warm-up: page cache, server JIT
    // Interleaved rounds: the raw rate and both fetches see the same background load.
    for (let round = 0; round < ROUNDS; round++) {
      raw = Math.max(raw, rawX25519Rate());
      emptyTimes.push((await deaddrop(['fetch', '--id', empty.file])).seconds);
      const full = await deaddrop(['fetch', '--id', shared.file]);
      const found = full.stdout.split('\n').filter((line) => line.includes('"ours ')).length;
      if (found !== OURS) throw new Error(`fetch printed ${found} of our ${OURS} messages:\n${full.stdout.slice(0, 2000)}`);
      fullTimes.push(full.seconds);
    }
    const total = FOREIGN + OURS;
    const fullWall = median(fullTimes);
    const rate = total / fullWall;
    console.log(`raw X25519 (crypto.diffieHellman, prepared keys, 1 core): ${fmt(raw)} ops/s  (best of ${ROUNDS})`);
    console.log(`fetch, empty drop: median ${ms(median(emptyTimes))}, best ${ms(Math.min(...emptyTimes))} over ${ROUNDS} runs  (target <= 800 ms)`);
    console.log(
      `fetch, shared drop of ${fmt(total)} (${OURS} ours): median ${ms(fullWall)}, best ${ms(Math.min(...fullTimes))}; ` +
        `${fmt(rate)} msgs/s end to end, ratio to raw X25519: ${(rate / raw).toFixed(2)}  (target >= 0.3)`,
    );
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(bundleDir, { recursive: true, force: true });
  }
}

await main();
