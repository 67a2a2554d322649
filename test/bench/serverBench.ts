/**
 * `npm run bench:server`: loopback load on the drop server (SQLite, durable commits) and, in the
 * same run, on a bare node:http server that answers 204, for the ratio of the two. Each server runs
 * in its own process; autocannon runs here. With a PostgreSQL server at hand
 * (`DEADDROP_BENCH_PG_URL`, else `DEADDROP_TEST_PG_URL`), the same rows on PostgreSQL follow, and
 * POSTs through two instances on one database against one instance alone. The anti-spam rows follow
 * the SQLite ones: POSTs with a ticket and with a stamp against plain POSTs (BENCH_SPAM=0 leaves them
 * out, BENCH_SPAM=only runs nothing else).
 */
import autocannon from 'autocannon';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SpawnedDropServer, spawnDropServer } from '../../server/index.js';
import { createTestDatabase } from '../server/postgresDatabase.js';
import { median } from './stats.js';
import { claimDrop } from '../../electron/core/spam/dropClaim.js';
import { mintTickets } from '../../electron/core/spam/tickets.js';
import { formatStampHeader, leadingZeroBits, stampPrefix } from '../../shared/spam/stamp.js';
import { dropIdBytes, formatTicketHeader } from '../../shared/spam/ticket.js';
import { POW_HEADER, TICKET_HEADER } from '../../shared/spam/wire.js';

const PHASE_SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
/**
 * Each phase alternates bare and ours in slices of SLICE_SECONDS, so load from elsewhere on the
 * machine hits both alike; the ratio reported is the median of the per-slice ratios. A short
 * unmeasured warm-up (connections, JIT, page cache) precedes each phase.
 */
const SLICE_SECONDS = 2;
const ROUNDS = Math.max(1, Math.round(PHASE_SECONDS / SLICE_SECONDS));
const WARMUP_SECONDS = 1;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const PDU_BYTES = 2149;
/** The POSTs of the instance comparison go to this many drops, CONNECTIONS / SPREAD_DROPS connections each. */
const SPREAD_DROPS = 8;
const repoRoot = join(import.meta.dirname, '..', '..');
/**
 * The load generator is one client with many connections, and every POST of a phase goes to one
 * drop: lift the per-client connection cap and the per-drop caps (their checks still run).
 */
const SERVER_ARGS = [
  '--import', 'tsx', 'server/cli.ts', '--port', '0', '--log-level', 'warn', '--quota', '10GB',
  '--max-client-connections', '1024', '--drop-max-messages', '100000000', '--drop-max-bytes', '1TB',
  // Nor may its rate count as load that makes the server ask for stamps (the anti-spam rows ask on purpose).
  '--pow-load', '10000',
];
const POST_HEADERS = { Authorization: 'Client Qabel', 'Content-Type': 'application/octet-stream' };

/** Prints the drop server's ready line, so one helper starts and stops both. */
const BARE_SERVER = `
const http = require('node:http');
http.createServer((req, res) => { req.resume(); req.on('end', () => { res.writeHead(204); res.end(); }); })
  .listen(0, '127.0.0.1', function () { console.log('listening on http://127.0.0.1:' + this.address().port); });
`;

function startProcess(args: string[]): Promise<Target> {
  return spawnDropServer({ command: process.execPath, args, cwd: repoRoot });
}

async function post(url: string, body: Buffer): Promise<void> {
  const res = await fetch(url, { method: 'POST', body, headers: { Authorization: 'Client Qabel' } });
  if (res.status !== 200) throw new Error(`seeding POST answered ${res.status}`);
}

interface Phase {
  name: string;
  method: 'GET' | 'HEAD' | 'POST';
  path: string;
  expect: number;
  headers?: Record<string, string>;
  body?: Buffer;
  /** Headers that change with every request (one-time tickets, stamps). */
  perRequest?: () => Record<string, string>;
}

interface Measured {
  rps: number;
  p99: number;
  ok: boolean;
  /** Server CPU time (all threads) per request, in microseconds; NaN where /proc is missing. */
  cpuPerRequestUs: number;
  requests: number;
}

type Target = SpawnedDropServer;

/** User plus system CPU time of a process and all its threads, in microseconds (Linux /proc). */
function cpuTimeUs(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]!.split(' ');
    // Fields 14 and 15 of stat (utime, stime), counted after the command name, in clock ticks of 10 ms.
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return NaN;
  }
}

async function measureOnce(target: Target, phase: Phase, expect: number, seconds: number): Promise<Measured> {
  const base = target.url;
  const cpuBefore = cpuTimeUs(target.child.pid);
  const result = await autocannon({
    url: base + phase.path,
    method: phase.method,
    headers: phase.headers ?? {},
    body: phase.body,
    connections: CONNECTIONS,
    duration: seconds,
    timeout: 10,
    ...(phase.perRequest
      ? { requests: [{ setupRequest: (request) => ({ ...request, headers: { ...request.headers, ...phase.perRequest!() } }) }] }
      : {}),
  });
  const cpuUsed = cpuTimeUs(target.child.pid) - cpuBefore;
  const expected = result.statusCodeStats[String(expect)]?.count ?? 0;
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    ok: result.errors === 0 && expected === result.requests.total,
    cpuPerRequestUs: cpuUsed / result.requests.total,
    requests: result.requests.total,
  };
}


interface PairResult {
  bare: Measured;
  ours: Measured;
  ratio: number;
}

/**
 * Median requests/s, worst p99, median ratio and mean server CPU per request over the slices of a
 * phase, bare and ours interleaved (`spamPhase`: ours runs that phase instead, for the anti-spam rows). CPU per request does not depend on what else the machine runs.
 */
async function measurePair(bareServer: Target, oursServer: Target, phase: Phase, spamPhase: Phase = phase, bareExpect = 204, rounds = ROUNDS): Promise<PairResult> {
  const bare: Measured[] = [];
  const ours: Measured[] = [];
  await measureOnce(bareServer, phase, bareExpect, WARMUP_SECONDS);
  await measureOnce(oursServer, spamPhase, spamPhase.expect, WARMUP_SECONDS);
  // Which side goes first alternates (ABBA), so a load that grows or fades over a round hits both alike.
  for (let round = 0; round < rounds; round++) {
    const measureBare = async () => bare.push(await measureOnce(bareServer, phase, bareExpect, SLICE_SECONDS));
    const measureOurs = async () => ours.push(await measureOnce(oursServer, spamPhase, spamPhase.expect, SLICE_SECONDS));
    if (round % 2 === 0) {
      await measureBare();
      await measureOurs();
    } else {
      await measureOurs();
      await measureBare();
    }
  }
  const combine = (runs: Measured[]): Measured => {
    const requests = runs.reduce((sum, r) => sum + r.requests, 0);
    return {
      rps: median(runs.map((r) => r.rps)),
      p99: Math.max(...runs.map((r) => r.p99)),
      ok: runs.every((r) => r.ok),
      cpuPerRequestUs: runs.reduce((sum, r) => sum + r.cpuPerRequestUs * r.requests, 0) / requests,
      requests,
    };
  };
  return { bare: combine(bare), ours: combine(ours), ratio: median(ours.map((o, i) => o.rps / bare[i]!.rps)) };
}

const dropId = () => randomBytes(32).toString('base64url');

function printRow(name: string, { bare: b, ours: o, ratio }: PairResult): void {
  const note = o.ok ? '' : ' (errors or unexpected statuses!)';
  console.log(
    `| ${name}${note} | ${o.rps.toFixed(0)} | ${b.rps.toFixed(0)} | ${ratio.toFixed(2)} | ${o.p99} | ${b.p99} | ` +
      `${b.p99 > 0 ? (o.p99 / b.p99).toFixed(2) : 'n/a'} | ${o.cpuPerRequestUs.toFixed(0)} | ${b.cpuPerRequestUs.toFixed(0)} |`,
  );
}

/** The four phases against `target`, after seeding a drop of 10 messages there. */
async function seededPhases(target: Target): Promise<Phase[]> {
  const tenDrop = dropId();
  for (let i = 0; i < 10; i++) await post(`${target.url}/${tenDrop}`, randomBytes(PDU_BYTES));
  const head = await fetch(`${target.url}/${tenDrop}`, { method: 'HEAD' });
  const latest = head.headers.get('x-qabel-latest') ?? '';
  return [
    { name: 'HEAD, 10-message drop', method: 'HEAD', path: `/${tenDrop}`, expect: 200 },
    { name: 'GET since latest (304)', method: 'GET', path: `/${tenDrop}`, expect: 304, headers: { 'X-Qabel-New-Since': latest } },
    { name: 'GET 10 messages', method: 'GET', path: `/${tenDrop}`, expect: 200 },
    { name: `POST ${PDU_BYTES} bytes`, method: 'POST', path: `/${dropId()}`, expect: 200, headers: POST_HEADERS, body: randomBytes(PDU_BYTES) },
  ];
}

interface Rate {
  rps: number;
  ok: boolean;
}

/**
 * POSTs for `seconds` into `drops` through `targets`, in as many load streams as there are drops
 * (at least two, so that two targets get one each); total requests/s.
 */
async function postSpread(targets: Target[], drops: string[], seconds: number): Promise<Rate> {
  const body = randomBytes(PDU_BYTES);
  const streams = Math.max(drops.length, 2);
  const runs = await Promise.all(
    Array.from({ length: streams }, (_, k) =>
      autocannon({
        url: `${targets[k % targets.length]!.url}/${drops[k % drops.length]}`,
        method: 'POST',
        headers: POST_HEADERS,
        body,
        connections: Math.max(1, Math.round(CONNECTIONS / streams)),
        duration: seconds,
        timeout: 10,
      }),
    ),
  );
  return {
    rps: runs.reduce((sum, r) => sum + r.requests.average, 0),
    ok: runs.every((r) => r.errors === 0 && (r.statusCodeStats['200']?.count ?? 0) === r.requests.total),
  };
}

/**
 * POSTs through two instances on one database at once against one instance alone, with the same
 * connections and drops, interleaved in slices like `measurePair`.
 */
async function measureInstances(one: Target, two: Target[], drops: string[]): Promise<{ one: Rate; two: Rate; ratio: number }> {
  const single: Rate[] = [];
  const double: Rate[] = [];
  await postSpread([one], drops, WARMUP_SECONDS);
  await postSpread(two, drops, WARMUP_SECONDS);
  for (let round = 0; round < ROUNDS; round++) {
    single.push(await postSpread([one], drops, SLICE_SECONDS));
    double.push(await postSpread(two, drops, SLICE_SECONDS));
  }
  const combine = (runs: Rate[]): Rate => ({ rps: median(runs.map((r) => r.rps)), ok: runs.every((r) => r.ok) });
  return { one: combine(single), two: combine(double), ratio: median(double.map((d, i) => d.rps / single[i]!.rps)) };
}

async function benchInstances(first: Target, second: Target): Promise<void> {
  console.log(`\nPostgreSQL, POST ${PDU_BYTES} bytes: two instances on one database at once against one alone (same ${CONNECTIONS} connections)`);
  console.log('| drops posted to | one instance req/s | two instances req/s | ratio |');
  console.log('|---|---:|---:|---:|');
  for (const drops of [Array.from({ length: SPREAD_DROPS }, dropId), [dropId()]]) {
    const { one, two, ratio } = await measureInstances(first, [first, second], drops);
    const note = one.ok && two.ok ? '' : ' (errors or unexpected statuses!)';
    console.log(`| ${drops.length}${note} | ${one.rps.toFixed(0)} | ${two.rps.toFixed(0)} | ${ratio.toFixed(2)} |`);
  }
}

/** The same rows through one instance on PostgreSQL (its CPU column leaves out the database's), then two instances. */
async function benchPostgres(pgUrl: string, bare: Target): Promise<void> {
  const database = await createTestDatabase(pgUrl);
  const start = (): Promise<Target> => startProcess([...SERVER_ARGS, '--db', database.url]);
  try {
    const first = await start();
    try {
      for (const phase of await seededPhases(first)) printRow(`${phase.name}, PostgreSQL`, await measurePair(bare, first, phase));
      const second = await start();
      try {
        await benchInstances(first, second);
      } finally {
        await second.stop();
      }
    } finally {
      await first.stop();
    }
  } finally {
    await database.drop();
  }
}

/**
 * Slices per anti-spam row: their ratio is held against 0.9, so more of them than the other rows get
 * (the median of 7 per-slice ratios moves less with the load of a shared machine than that of 3).
 */
const SPAM_ROUNDS = Number(process.env.BENCH_SPAM_ROUNDS ?? 7);
/** Enough one-time tickets and stamps for every request of a phase at well above this machine's rate. */
const ONE_TIME_HEADERS = Number(process.env.BENCH_ONE_TIME_HEADERS ?? Math.max(100_000, 25_000 * (WARMUP_SECONDS + SPAM_ROUNDS * SLICE_SECONDS)));
/** Stamp bits of the stamp row: the check costs the same at any bits (no heavy pressure here: no +2). */
const BENCH_POW_BITS = 1;

function oneTimeHeaders(name: string, values: string[]): () => Record<string, string> {
  let next = 0;
  return () => {
    if (next === values.length) throw new Error('the benchmark ran out of one-time headers: raise BENCH_ONE_TIME_HEADERS');
    return { [name]: values[next++]! };
  };
}

/** Headers that change with every request, from `values` over and over (for requests that need no one-time value). */
function cycling(name: string, values: string[]): () => Record<string, string> {
  let next = 0;
  return () => ({ [name]: values[next++ % values.length]! });
}

/** Valid stamps of at least `bits` bits for posting `body` to `dropId`, each with its own nonce. */
function makeStamps(dropId: string, body: Buffer, bits: number, count: number): string[] {
  const pduHash = createHash('sha256').update(body).digest();
  const idBytes = dropIdBytes(dropId);
  const time = Math.floor(Date.now() / 1000);
  return Array.from({ length: count }, () => {
    const nonce = new Uint8Array(randomBytes(16));
    const prefix = stampPrefix(idBytes, time, pduHash, nonce);
    const counter = Buffer.alloc(8);
    for (let n = 0; ; n++) {
      counter.writeUInt32BE(n, 4);
      if (leadingZeroBits(createHash('sha256').update(prefix).update(counter).digest()) >= bits) break;
    }
    return formatStampHeader({ time, nonce, counter: new Uint8Array(counter) });
  });
}

/**
 * The anti-spam rows: POSTs with a one-time ticket into a closed drop (MAC check, spent-set insert
 * in the append transaction) on the same server as plain POSTs, and POSTs with a stamp into an open
 * drop of a server under pressure (`--pow-above 0`: every ticketless POST needs one; stamp check,
 * token bucket, replay-set insert), each against plain POSTs in interleaved slices.
 */
async function benchSpam(plainServer: Target, dataDir: string): Promise<void> {
  const body = randomBytes(PDU_BYTES);
  // The load generator rebuilds a request with a one-time header for every request, which costs its
  // CPU (on the same cores as the server): plain POSTs get a header of the same size that the server
  // ignores, so both sides of a ratio cost the generator alike and the ratio measures the server.
  const padding = Array.from({ length: ONE_TIME_HEADERS }, () => randomBytes(32).toString('base64url'));
  const plain: Phase = { name: 'plain POST', method: 'POST', path: `/${dropId()}`, expect: 200, headers: POST_HEADERS, body, perRequest: cycling('X-Bench-Padding', padding) };
  const secret = new Uint8Array(randomBytes(32));
  const closedId = dropId();
  const claim = await claimDrop(
    async (url, json) => {
      const res = await fetch(url, { method: 'POST', body: json, headers: { Authorization: 'Client Qabel' } });
      return { status: res.status, body: await res.text() };
    },
    { secret, dropUrl: `${plainServer.url}/${closedId}`, keyIds: [0], introPerDay: 0 },
  );
  if (!claim.ok) throw new Error(`could not claim the benchmark's drop: ${claim.error}`);
  const tickets = mintTickets({ secret, dropId: closedId, keyId: 0, count: ONE_TIME_HEADERS }).map(formatTicketHeader);
  const ticketed: Phase = { ...plain, name: 'POST with a ticket', path: `/${closedId}`, perRequest: oneTimeHeaders(TICKET_HEADER, tickets) };

  const pressured = await startProcess([
    ...SERVER_ARGS, '--db', `sqlite:${join(dataDir, 'pressured.db')}`,
    '--pow-above', '0', '--pow-bits', String(BENCH_POW_BITS), '--drop-ticketless-per-hour', '1000000',
  ]);
  // The stamped POSTs are compared with plain POSTs on a twin started with them: same arguments but
  // the pressure, a database as fresh and a process as warm, so the ratio measures the stamp path
  // (header, two SHA-256, token bucket, replay set) and not the plain server's longer history.
  const twin = await startProcess([...SERVER_ARGS, '--db', `sqlite:${join(dataDir, 'twin.db')}`]);
  try {
    await post(`${twin.url}/${dropId()}`, randomBytes(PDU_BYTES));
    // One stored message puts the server above 0 % of its quota: from then on it asks for stamps.
    await post(`${pressured.url}/${dropId()}`, randomBytes(PDU_BYTES));
    const openId = dropId();
    const unstamped = await fetch(`${pressured.url}/${openId}`, { method: 'POST', body, headers: POST_HEADERS });
    if (unstamped.status !== 429) throw new Error(`the pressured server answered an unstamped POST with ${unstamped.status}, not 429`);
    const stamps = makeStamps(openId, body, BENCH_POW_BITS, ONE_TIME_HEADERS);
    const stamped: Phase = { ...plain, name: 'POST with a stamp (server under pressure)', path: `/${openId}`, perRequest: oneTimeHeaders(POW_HEADER, stamps) };

    console.log(`\nAnti-spam, SQLite: POST ${PDU_BYTES} bytes with a ticket or a stamp against plain POSTs, ${SPAM_ROUNDS} interleaved slices (target ratio >= 0.9)`);
    // CPU ratio: plain CPU per request over ours, which other load on the machine moves less than req/s.
    console.log('| request | req/s | plain POST req/s | ratio | p99 ms | plain p99 ms | CPU µs/req | plain CPU µs/req | CPU ratio |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const [phase, plainTarget, target] of [[ticketed, plainServer, plainServer], [stamped, twin, pressured]] as const) {
      const { bare: p, ours: o, ratio } = await measurePair(plainTarget, target, plain, phase, 200, SPAM_ROUNDS);
      const note = o.ok && p.ok ? '' : ' (errors or unexpected statuses!)';
      console.log(
        `| ${phase.name}${note} | ${o.rps.toFixed(0)} | ${p.rps.toFixed(0)} | ${ratio.toFixed(2)} | ${o.p99} | ${p.p99} | ${o.cpuPerRequestUs.toFixed(0)} | ${p.cpuPerRequestUs.toFixed(0)} | ${(p.cpuPerRequestUs / o.cpuPerRequestUs).toFixed(2)} |`,
      );
    }
  } finally {
    await Promise.all([pressured.stop(), twin.stop()]);
  }
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'deaddrop-bench-'));
  const bare = await startProcess(['-e', BARE_SERVER]);
  const ours = await startProcess([...SERVER_ARGS, '--db', `sqlite:${join(dataDir, 'drops.db')}`]);
  try {
    console.log(
      `drop server benchmark: ${ROUNDS} interleaved ${SLICE_SECONDS}-s slices per phase and server after a ${WARMUP_SECONDS}-s warm-up, ${CONNECTIONS} connections, loopback`,
    );
    console.log(
      '| request | ours req/s | bare req/s | req/s ratio | ours p99 ms | bare p99 ms | p99 ratio | ours CPU µs/req | bare CPU µs/req |',
    );
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    if (process.env.BENCH_SPAM !== 'only') for (const phase of await seededPhases(ours)) printRow(phase.name, await measurePair(bare, ours, phase));
    if (process.env.BENCH_SPAM !== '0') await benchSpam(ours, dataDir);
    // SQLite's server is done: it would only take CPU from the PostgreSQL runs.
    await ours.stop();
    const pgUrl = process.env.DEADDROP_BENCH_PG_URL ?? process.env.DEADDROP_TEST_PG_URL;
    if (pgUrl) await benchPostgres(pgUrl, bare);
    console.log(
      'req/s: median of slices; req/s ratio: median of per-slice ours/bare (or two/one); p99: worst slice (ms); ' +
        'CPU µs/req: server process time, all threads (independent of other load on the machine).',
    );
  } finally {
    await Promise.all([bare.stop(), ours.stop()]);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
