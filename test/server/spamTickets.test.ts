/**
 * Closed drops (PROTOCOL-V1 section 3c L1 and L2) against a real server process over HTTP: claiming
 * with a signed policy, one-time tickets (valid, spent, forged, expired, struck, rotated away), the
 * spent set across a restart, introductions with stamps within the daily quota, and the client's
 * "stamp and retry once" rule. Low stamp bits: a stamp's work is a count, not a time.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPolicy, claimDrop } from '../../electron/core/spam/dropClaim.js';
import { generateDropId } from '../../shared/protocol/dropId.js';
import { DAY_MS } from '../../shared/spam/day.js';
import { formatStampHeader, leadingZeroBits, stampPrefix } from '../../shared/spam/stamp.js';
import { dropIdBytes } from '../../shared/spam/ticket.js';
import { POW_HEADER } from '../../shared/spam/wire.js';
import { deposit, fetchDrop, newDropId, postMessage } from './dropClient.js';
import { makeDataDir, removeDataDir, startServerProcess, type ServerProcess } from './serverProcess.js';
import { claimedDrop, createStamper, fetchPolicyPost, pdu, postAsClient, postTicketed, rawPost } from './spamSupport.js';

const BITS = 8;
const INTRO_PER_DAY = 3;
const FLAGS = ['--pow-bits', String(BITS), '--intro-per-day', String(INTRO_PER_DAY), '--log-level', 'warn'];

let dataDir: string;
let server: ServerProcess;
const stamper = createStamper();

beforeAll(async () => {
  dataDir = makeDataDir();
  server = await startServerProcess(dataDir, FLAGS);
});
afterAll(async () => {
  await server?.stop();
  await stamper.close();
  if (dataDir) removeDataDir(dataDir);
});

/** A well-formed stamp for now whose hash has fewer than BITS leading zero bits. */
function weakStamp(dropId: string, message: Uint8Array): string {
  const time = Math.floor(Date.now() / 1000);
  const nonce = new Uint8Array(randomBytes(16));
  const prefix = stampPrefix(dropIdBytes(dropId), time, createHash('sha256').update(message).digest(), nonce);
  for (let n = 0; ; n++) {
    const counter = new Uint8Array(8);
    new DataView(counter.buffer).setUint32(4, n);
    if (leadingZeroBits(createHash('sha256').update(prefix).update(counter).digest()) < BITS) return formatStampHeader({ time, nonce, counter });
  }
}

const bodies = async (dropUrl: string): Promise<string[]> =>
  (await fetchDrop(dropUrl)).parts.map((p) => new TextDecoder().decode(p.body.subarray(0, 12)).replace(/Z+$/, ''));

describe('claiming a drop', () => {
  it('takes a signed policy on an empty drop; refuses other owners, old seqs, bad signatures, shared and non-empty drops; no way to read it back', async () => {
    const owner = await claimedDrop(server.url);
    const stranger = new Uint8Array(randomBytes(32));
    expect(await claimDrop(fetchPolicyPost, { secret: stranger, dropUrl: owner.dropUrl, keyIds: [0], introPerDay: 5 })).toMatchObject({ ok: false, reason: 'claimed', status: 403 });
    expect(await owner.update({ seq: 1 })).toMatchObject({ ok: false, reason: 'stale', status: 409 });
    expect(await owner.update({ seq: 2, introPerDay: 2 })).toEqual({ ok: true, seq: 2, introPerDay: 2 });

    const forged = buildPolicy({ secret: owner.secret, dropUrl: owner.dropUrl, seq: 3, keyIds: [0], introPerDay: 20 });
    const tampered = { ...forged, intro_per_day: 1000 };
    expect((await fetchPolicyPost(`${owner.dropUrl}/policy`, JSON.stringify(tampered))).status).toBe(400);

    const busy = `${server.url}/${newDropId()}`;
    await deposit(busy, pdu('mail'));
    expect(await claimDrop(fetchPolicyPost, { secret: stranger, dropUrl: busy, keyIds: [0], introPerDay: 5 })).toMatchObject({ ok: false, reason: 'notEmpty' });

    // The client never claims a shared reduced-range drop, and the server would refuse it anyway.
    const shared = `${server.url}/${generateDropId(24)}`;
    expect(() => buildPolicy({ secret: stranger, dropUrl: shared, seq: 1, keyIds: [0], introPerDay: 5 })).toThrow(/shared/);
    const full = buildPolicy({ secret: stranger, dropUrl: `${server.url}/${newDropId()}`, seq: 1, keyIds: [0], introPerDay: 5 });
    expect(await fetchPolicyPost(`${shared}/policy`, JSON.stringify(full))).toEqual({ status: 403, body: '{"error":"Shared drops cannot be claimed"}' });
    expect((await fetch(`${owner.dropUrl}/policy`)).status).toBe(405);
    expect(await fetchPolicyPost(`${server.url}/${newDropId()}/policy`, '{"owner":1}')).toMatchObject({ status: 400 });
  });
});

describe('tickets', () => {
  it('a closed drop takes each valid ticket once; no ticket, a forged, expired or foreign one is 401; an unclaimed drop behaves as before', async () => {
    const owner = await claimedDrop(server.url);
    const [a, b] = owner.mint(2);
    const plain = await rawPost(owner.dropUrl, pdu('plain'), {});
    expect(plain).toEqual({ status: 401, error: 'Ticket required', powBits: BITS });
    expect(await postTicketed(owner.dropUrl, pdu('one'), a!)).toMatchObject({ status: 200 });
    expect(await postTicketed(owner.dropUrl, pdu('again'), a!)).toEqual({ status: 409, error: 'Ticket spent', powBits: null });
    expect(await postTicketed(owner.dropUrl, pdu('two'), b!)).toMatchObject({ status: 200 });

    const forged = owner.mint(1)[0]!;
    forged[31]! ^= 1;
    expect(await postTicketed(owner.dropUrl, pdu('forged'), forged)).toMatchObject({ status: 401 });
    const expired = owner.mint(1, 0, Date.now() - 200 * DAY_MS)[0]!;
    expect(await postTicketed(owner.dropUrl, pdu('expired'), expired)).toMatchObject({ status: 401 });
    const other = await claimedDrop(server.url);
    expect(await postTicketed(owner.dropUrl, pdu('foreign'), other.mint(1)[0]!)).toMatchObject({ status: 401 });
    expect(await bodies(owner.dropUrl)).toEqual(['one', 'two']);

    // Without a policy, ticket headers mean nothing: the POST is an original client's.
    const open = `${server.url}/${newDropId()}`;
    expect(await postTicketed(open, pdu('open'), a!)).toMatchObject({ status: 200 });
    expect((await postMessage(open, pdu('old client'))).status).toBe(200);
    expect(await bodies(open)).toEqual(['open', 'old client']);
  });

  it('strikes revoke unused tickets; a new key id retires the old key; the spent set survives a restart', async () => {
    const owner = await claimedDrop(server.url);
    const [kept, struck, spentBefore] = owner.mint(3);
    expect(await postTicketed(owner.dropUrl, pdu('before'), spentBefore!)).toMatchObject({ status: 200 });
    expect(await owner.update({ seq: 2, strikes: [struck!] })).toMatchObject({ ok: true });
    expect(await postTicketed(owner.dropUrl, pdu('struck'), struck!)).toMatchObject({ status: 409 });
    expect(await postTicketed(owner.dropUrl, pdu('kept'), kept!)).toMatchObject({ status: 200 });

    const [oldKey] = owner.mint(1, 0);
    expect(await owner.update({ seq: 3, keyIds: [1] })).toMatchObject({ ok: true });
    expect(await postTicketed(owner.dropUrl, pdu('old key'), oldKey!)).toMatchObject({ status: 401 });
    const [newKey] = owner.mint(1, 1);
    expect(await postTicketed(owner.dropUrl, pdu('new key'), newKey!)).toMatchObject({ status: 200 });

    await server.stop();
    server = await startServerProcess(dataDir, FLAGS);
    const url = owner.dropUrl.replace(/^http:\/\/[^/]+/, server.url);
    expect(await postTicketed(url, pdu('replayed'), newKey!)).toMatchObject({ status: 409 });
    expect(await postTicketed(url, pdu('still old'), owner.mint(1, 0)[0]!)).toMatchObject({ status: 401 });
    expect(await bodies(url)).toEqual(['before', 'kept', 'new key']);
  });
  it('a ticket and a stamp spent just before a crash stay spent after the restart', async () => {
    // The writer keeps a message's nonce in its row and copies it into the spent tables about once a
    // second: a kill right after the POSTs leaves it only in the row, which the next start reads.
    const owner = await claimedDrop(server.url);
    const [ticket] = owner.mint(1);
    const message = pdu('crash intro');
    const stamp = await stamper.stampFor(owner.dropUrl, message, BITS);
    expect(await postTicketed(owner.dropUrl, pdu('crash'), ticket!)).toMatchObject({ status: 200 });
    expect(await rawPost(owner.dropUrl, message, { [POW_HEADER]: stamp })).toMatchObject({ status: 200 });
    await server.kill9();
    server = await startServerProcess(dataDir, FLAGS);
    const url = owner.dropUrl.replace(/^http:\/\/[^/]+/, server.url);
    expect(await postTicketed(url, pdu('replayed'), ticket!)).toMatchObject({ status: 409 });
    expect(await rawPost(url, message, { [POW_HEADER]: stamp })).toMatchObject({ status: 429, error: 'Proof of work required' });
    // Stopped in order, the copies are made: a second start finds them in the spent tables.
    await server.stop();
    server = await startServerProcess(dataDir, FLAGS);
    const again = owner.dropUrl.replace(/^http:\/\/[^/]+/, server.url);
    expect(await postTicketed(again, pdu('replayed again'), ticket!)).toMatchObject({ status: 409 });
    expect(await bodies(again)).toEqual(['crash', 'crash intro']);
  });
});

describe('introductions', () => {
  it('a closed drop takes at most intro_per_day stamped introductions a day; stamps are bound to drop, PDU and time and count once', async () => {
    const owner = await claimedDrop(server.url, 10);
    const sent: string[] = [];
    for (let i = 0; i < INTRO_PER_DAY; i++) {
      const result = await postAsClient(stamper, owner.dropUrl, pdu(`intro${i}`));
      expect(result).toMatchObject({ status: 200, sentWith: 'stamp' });
      sent.push(`intro${i}`);
    }
    // The server's cap (3) wins over the policy's 10.
    const over = await postAsClient(stamper, owner.dropUrl, pdu('intro3'));
    expect(over).toMatchObject({ status: 429, error: 'Introduction quota reached' });
    // Contacts with tickets are not limited by it.
    expect(await postTicketed(owner.dropUrl, pdu('ticketed'), owner.mint(1)[0]!)).toMatchObject({ status: 200 });
    expect(await bodies(owner.dropUrl)).toEqual([...sent, 'ticketed']);

    const other = await claimedDrop(server.url);
    const message = pdu('bound');
    const stamp = await stamper.stampFor(other.dropUrl, message, BITS);
    expect(await rawPost(other.dropUrl, pdu('another pdu'), { [POW_HEADER]: stamp })).toMatchObject({ status: 429, error: 'Proof of work required', powBits: BITS });
    expect(await rawPost(owner.dropUrl, message, { [POW_HEADER]: stamp })).toMatchObject({ status: 429 });
    expect(await rawPost(other.dropUrl, message, { [POW_HEADER]: stamp })).toMatchObject({ status: 200 });
    expect(await rawPost(other.dropUrl, message, { [POW_HEADER]: stamp })).toMatchObject({ status: 429, error: 'Proof of work required' });
    const stale = createStamper({ nowSeconds: () => Math.floor(Date.now() / 1000) - 400 });
    try {
      expect(await rawPost(other.dropUrl, message, { [POW_HEADER]: await stale.stampFor(other.dropUrl, message, BITS) })).toMatchObject({ status: 429 });
    } finally {
      await stale.close();
    }
    expect(await rawPost(other.dropUrl, message, { [POW_HEADER]: weakStamp(other.dropId, message) })).toMatchObject({ status: 429 });
  });

  it('a closed drop with intro_per_day 0 takes no introductions and does not offer them', async () => {
    const owner = await claimedDrop(server.url, 0);
    expect(await rawPost(owner.dropUrl, pdu('hello'), {})).toEqual({ status: 401, error: 'Ticket required', powBits: null });
    expect(await postAsClient(stamper, owner.dropUrl, pdu('hello'))).toMatchObject({ status: 401, sentWith: 'plain' });
  });
});
