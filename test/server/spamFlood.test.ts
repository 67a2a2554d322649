/**
 * Issue 16's spam proof, against real server processes over HTTP. An attacker with unlimited CPU
 * (low stamp bits: a stamp's work is a count, not a time) and no tickets floods a closed drop, an
 * open drop and fresh drops with ten times the quota, following every rule a client must (stamp and
 * retry when asked). Accepted per closed drop per day stays within the introduction quota, and no
 * honest message (ticketed, or posted to the open drop before the flood) is evicted, while honest
 * ticketed mail keeps getting in. Then: the server's spent set for 100 posts by 10 contacts cannot
 * be clustered by contact; and on PostgreSQL, two instances share the spent set, the introduction
 * count and policy changes.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS, TICKET_EXPIRY_STEP_DAYS, dayNumber } from '../../shared/spam/day.js';
import { decodeTicket } from '../../shared/spam/ticket.js';
import { batchTickets, newBatch } from '../../electron/core/spam/ticketBatches.js';
import { fetchDrop, newDropId, postMessage } from './dropClient.js';
import { metricValue, metricsText, TEST_METRICS_TOKEN } from './inProcessServer.js';
import { createTestDatabase, explainPostgresSkip, PG_URL, type TestDatabase } from './postgresDatabase.js';
import { makeDataDir, removeDataDir, startServerProcess, type ServerProcess } from './serverProcess.js';
import { claimedDrop, createStamper, pdu, postAsClient, postTicketed } from './spamSupport.js';

explainPostgresSkip();

const QUOTA = 300_000;
const BITS = 8;
const INTRO_PER_DAY = 5;
const PER_HOUR = 20;
const ATTACK_BYTES = 2573;
const FLAGS = [
  '--quota', String(QUOTA), '--pow-bits', String(BITS), '--intro-per-day', String(INTRO_PER_DAY),
  '--drop-ticketless-per-hour', String(PER_HOUR), '--metrics-token', TEST_METRICS_TOKEN, '--log-level', 'warn',
];

const stamper = createStamper();
afterAll(() => stamper.close());
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function sqliteServer(): Promise<ServerProcess> {
  const dataDir = makeDataDir();
  const server = await startServerProcess(dataDir, FLAGS);
  cleanups.push(() => removeDataDir(dataDir), async () => void (await server.stop()));
  return server;
}

const tagsOf = async (dropUrl: string): Promise<Set<string>> =>
  new Set((await fetchDrop(dropUrl)).parts.map((p) => new TextDecoder().decode(p.body.subarray(0, 16)).replace(/Z+$/, '')));

describe('an attacker with unlimited CPU and no tickets floods ten times the quota', () => {
  it('gets at most intro_per_day into the closed drop, evicts no honest message, and honest ticketed mail still gets in', async () => {
    const server = await sqliteServer();
    const closed = await claimedDrop(server.url, 100);
    const openUrl = `${server.url}/${newDropId()}`;
    const tickets = closed.mint(40);
    const honestClosed: string[] = [];
    const honestOpen: string[] = [];
    for (let i = 0; i < 10; i++) {
      expect(await postTicketed(closed.dropUrl, pdu(`honest-c${i}`), tickets.pop()!)).toMatchObject({ status: 200 });
      honestClosed.push(`honest-c${i}`);
      // An original Qabel client: no extension headers at all.
      expect((await postMessage(openUrl, pdu(`honest-o${i}`))).status).toBe(200);
      honestOpen.push(`honest-o${i}`);
    }

    const attack = new Uint8Array(ATTACK_BYTES).fill(0x41);
    const posts = Math.ceil((10 * QUOTA) / ATTACK_BYTES);
    const accepted = { closed: 0, open: 0, fresh: 0 };
    const statuses = new Map<string, number>();
    for (let n = 0; n < posts; n++) {
      const target = n % 3 === 0 ? 'closed' : n % 3 === 1 ? 'open' : 'fresh';
      const url = target === 'closed' ? closed.dropUrl : target === 'open' ? openUrl : `${server.url}/${newDropId()}`;
      attack.set(new TextEncoder().encode(`attack${String(n).padStart(5, '0')}`));
      const result = await postAsClient(stamper, url, attack);
      const key = `${result.status} ${result.error ?? ''}`;
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
      if (result.status === 200) accepted[target]++;
      // Honest contacts keep writing during the flood, with tickets.
      if (n % 50 === 0 && tickets.length > 0) {
        const tag = `honest-c${10 + honestClosed.length}`;
        expect(await postTicketed(closed.dropUrl, pdu(tag), tickets.pop()!)).toMatchObject({ status: 200 });
        honestClosed.push(tag);
      }
    }
    console.log('flood answers', Object.fromEntries(statuses), 'accepted', accepted);

    expect(accepted.closed).toBeLessThanOrEqual(INTRO_PER_DAY);
    // The open drop took plain posts before the load was noticed, then at most its hourly share of stamped ones.
    expect(accepted.open).toBeLessThanOrEqual(PER_HOUR + 20);
    expect(statuses.get('507 Server is full') ?? 0).toBeGreaterThan(posts / 2);

    const metrics = await metricsText(server.url);
    const storedBytes = metricValue(metrics, 'deaddrop_stored_bytes');
    expect(storedBytes).toBeLessThanOrEqual(QUOTA);
    const acceptedBytes = (honestClosed.length + honestOpen.length) * 2149 + (accepted.closed + accepted.open + accepted.fresh) * ATTACK_BYTES;
    // More was accepted than the quota holds: eviction ran, and took none of the honest mail.
    expect(acceptedBytes).toBeGreaterThan(QUOTA);
    const closedTags = await tagsOf(closed.dropUrl);
    const openTags = await tagsOf(openUrl);
    expect(honestClosed.filter((t) => !closedTags.has(t))).toEqual([]);
    expect(honestOpen.filter((t) => !openTags.has(t))).toEqual([]);
  }, 240_000);
});

/** For each row the nearest other row by Hamming distance: how often it belongs to the same contact. */
function nearestNeighbourSameContact(nonces: Uint8Array[], contactOf: number[]): number {
  const distance = (a: Uint8Array, b: Uint8Array): number => a.reduce((sum, byte, i) => sum + bitCount(byte ^ b[i]!), 0);
  let same = 0;
  nonces.forEach((nonce, i) => {
    let best = -1;
    let bestDistance = Infinity;
    nonces.forEach((other, j) => {
      if (i === j) return;
      const d = distance(nonce, other);
      if (d < bestDistance) [best, bestDistance] = [j, d];
    });
    if (contactOf[best] === contactOf[i]) same++;
  });
  return same / nonces.length;
}

function bitCount(v: number): number {
  let n = 0;
  for (; v; v &= v - 1) n++;
  return n;
}

describe('unlinkability', () => {
  it("the server's spent set for 100 posts by 10 contacts carries nothing that clusters them", async () => {
    const dataDir = makeDataDir();
    cleanups.push(() => removeDataDir(dataDir));
    const server = await startServerProcess(dataDir, FLAGS);
    const owner = await claimedDrop(server.url);
    // Each contact got its tickets as the engine hands them out (one batch, its nonces derived from a
    // seed under a key the server never sees: ticketBatches.ts) on another day of one minting period.
    const periodStart = Math.floor(dayNumber(Date.now()) / TICKET_EXPIRY_STEP_DAYS) * TICKET_EXPIRY_STEP_DAYS;
    const byContact = Array.from({ length: 10 }, (_, c) =>
      batchTickets(owner.secret, owner.dropId, newBatch(c.toString(16).repeat(64), 0, (periodStart + c) * DAY_MS + 3_600_000, 10)),
    );
    const posts = byContact.flatMap((tickets, contact) => tickets.map((ticket) => ({ contact, ticket })));
    for (let i = posts.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [posts[i], posts[j]] = [posts[j]!, posts[i]!];
    }
    for (const [n, { ticket }] of posts.entries()) expect(await postTicketed(owner.dropUrl, pdu(`m${n}`), ticket)).toMatchObject({ status: 200 });
    await server.stop();

    const db = new Database(join(dataDir, 'drops.db'), { readonly: true });
    const rows = db.prepare('SELECT * FROM spent_nonces WHERE drop_id = ?').all(owner.dropId) as Record<string, unknown>[];
    const messageColumns = (db.prepare("SELECT name FROM pragma_table_info('messages')").all() as { name: string }[]).map((c) => c.name);
    // A message carries its ticket's nonce and expiry until the writer copies them into spent_nonces
    // (sqliteWriter.ts): the same random nonce and shared expiry, so nothing more to link.
    const carried = db.prepare('SELECT nonce, nonce_expires_at_ms FROM messages WHERE drop_id = ?').all(owner.dropId) as { nonce: Buffer; nonce_expires_at_ms: number }[];
    db.close();
    expect(rows).toHaveLength(100);
    // Every row: the drop, a 13-byte nonce and one expiry shared by all: nothing else is kept.
    expect(Object.keys(rows[0]!).sort()).toEqual(['drop_id', 'expires_at_ms', 'nonce']);
    expect(new Set(rows.map((r) => r.expires_at_ms)).size).toBe(1);
    expect(messageColumns.sort()).toEqual(['body', 'drop_id', 'nonce', 'nonce_expires_at_ms', 'position', 'received_at_ms', 'size', 'standing']);
    expect(new Set(carried.map((r) => r.nonce_expires_at_ms))).toEqual(new Set(rows.map((r) => r.expires_at_ms)));
    expect(new Set(carried.map((r) => r.nonce.toString('hex')))).toEqual(new Set(rows.map((r) => (r.nonce as Buffer).toString('hex'))));

    const nonceHex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
    const contactOfNonce = new Map(posts.map(({ contact, ticket }) => [nonceHex(decodeTicket(ticket)!.nonce), contact]));
    const nonces = rows.map((r) => new Uint8Array(r.nonce as Buffer));
    const contactOf = nonces.map((n) => contactOfNonce.get(nonceHex(n))!);
    expect(contactOf.every((c) => c !== undefined)).toBe(true);
    // Chance is 9/99 = 0.09; the 99.9 % binomial bound for 100 rows is below 0.2.
    expect(nearestNeighbourSameContact(nonces, contactOf)).toBeLessThan(0.2);
    // The same measure catches a leak: nonces that share a per-contact byte cluster at once.
    const leaky = nonces.map((n, i) => Uint8Array.from(n, (b, k) => (k < 6 ? contactOf[i]! * 17 : b)));
    expect(nearestNeighbourSameContact(leaky, contactOf)).toBeGreaterThan(0.9);
    // Nonce bytes are uniform: chi-square over 1300 bytes in 256 bins, below the 99.9 % point (df 255: 330.5).
    const counts = new Array<number>(256).fill(0);
    for (const n of nonces) for (const b of n) counts[b]!++;
    const expected = (nonces.length * 13) / 256;
    expect(counts.reduce((chi, c) => chi + (c - expected) ** 2 / expected, 0)).toBeLessThan(330.5);
  }, 60_000);
});

describe.skipIf(!PG_URL)('PostgreSQL, two instances', () => {
  let database: TestDatabase;
  let dataDir: string;
  let instances: ServerProcess[] = [];

  beforeAll(async () => {
    database = await createTestDatabase(PG_URL!);
    dataDir = makeDataDir();
    instances = await Promise.all([0, 1].map(() => startServerProcess(dataDir, ['--db', database.url, ...FLAGS])));
  });
  afterAll(async () => {
    await Promise.all(instances.map((i) => i.stop()));
    await database?.drop();
    if (dataDir) removeDataDir(dataDir);
  });

  const on = (instance: number, dropUrl: string): string => dropUrl.replace(instances[0]!.url, instances[instance]!.url);

  it('a ticket spent through one instance is spent on both, also when both try it at once', async () => {
    const owner = await claimedDrop(instances[0]!.url);
    const [first, ...rest] = owner.mint(11);
    expect(await postTicketed(on(0, owner.dropUrl), pdu('first'), first!)).toMatchObject({ status: 200 });
    expect(await postTicketed(on(1, owner.dropUrl), pdu('first again'), first!)).toMatchObject({ status: 409, error: 'Ticket spent' });
    for (const ticket of rest) {
      const answers = await Promise.all([0, 1].map((i) => postTicketed(on(i, owner.dropUrl), pdu(`race${i}`), ticket)));
      expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    }
    expect((await fetchDrop(on(1, owner.dropUrl))).parts).toHaveLength(11);
  });

  it('both instances together take at most intro_per_day introductions', async () => {
    const owner = await claimedDrop(instances[1]!.url, 100);
    const url = owner.dropUrl.replace(instances[1]!.url, instances[0]!.url);
    const answers = await Promise.all(Array.from({ length: 12 }, (_, n) => postAsClient(stamper, on(n % 2, url), pdu(`intro${n}`))));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(INTRO_PER_DAY);
    expect(answers.filter((a) => a.status === 429 && a.error === 'Introduction quota reached')).toHaveLength(12 - INTRO_PER_DAY);
  });

  it('a policy change through one instance holds on the other at once, though it remembered the old policy', async () => {
    const owner = await claimedDrop(instances[0]!.url);
    expect(await postTicketed(on(1, owner.dropUrl), pdu('key 0'), owner.mint(1, 0)[0]!)).toMatchObject({ status: 200 });
    expect(await owner.update({ seq: 2, keyIds: [1] })).toMatchObject({ ok: true });
    expect(await postTicketed(on(1, owner.dropUrl), pdu('old key'), owner.mint(1, 0)[0]!)).toMatchObject({ status: 401 });
    expect(await postTicketed(on(1, owner.dropUrl), pdu('new key'), owner.mint(1, 1)[0]!)).toMatchObject({ status: 200 });
  });
});
