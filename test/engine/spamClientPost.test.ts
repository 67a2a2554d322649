/**
 * The outbox's single POST under the anti-spam rules (electron/core/outbox/stampedPost.ts) through the
 * engine's own DropClient against a real drop server process: a spent ticket is followed by the next
 * one at once; a closed drop that takes no introductions is a refusal the retry loop does not repeat,
 * in words that say tickets are missing; a used-up introduction quota carries the server's
 * Retry-After; a server that never asks gets a plain POST and no stamp.
 */
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DropClient, DropRequestError } from '../../electron/core/net/dropClient.js';
import { postStamped } from '../../electron/core/outbox/stampedPost.js';
import { createStamper } from '../../electron/core/spam/stamper.js';
import { makeDataDir, removeDataDir, startServerProcess, type ServerProcess } from '../server/serverProcess.js';
import { claimedDrop, pdu, postTicketed } from '../server/spamSupport.js';
import { newDropId } from '../server/dropClient.js';

let dataDir: string;
let server: ServerProcess;
const dispatcher = new Agent();
const client = new DropClient({ dispatcher });
const stamper = createStamper();

beforeAll(async () => {
  dataDir = makeDataDir();
  server = await startServerProcess(dataDir, ['--pow-bits', '8', '--intro-per-day', '1', '--log-level', 'warn']);
});

afterAll(async () => {
  await server?.stop();
  await stamper.close();
  await dispatcher.close();
  if (dataDir) removeDataDir(dataDir);
});

/** A wallet handing out `tickets` in order, counting what was taken. */
function wallet(tickets: Uint8Array[]) {
  const queue = [...tickets];
  const taken: Uint8Array[] = [];
  return {
    taken,
    next: async () => {
      const ticket = queue.shift() ?? null;
      if (ticket) taken.push(ticket);
      return ticket;
    },
  };
}

const refusal = async (promise: Promise<unknown>): Promise<DropRequestError> => {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DropRequestError);
  return err as DropRequestError;
};

describe('stamped post', () => {
  it('after a spent ticket takes the next one at once, without a stamp', async () => {
    const owner = await claimedDrop(server.url, 0);
    const [spentA, spentB, good] = owner.mint(3);
    expect(await postTicketed(owner.dropUrl, pdu('a'), spentA!)).toMatchObject({ status: 200 });
    expect(await postTicketed(owner.dropUrl, pdu('b'), spentB!)).toMatchObject({ status: 200 });
    const w = wallet([spentA!, spentB!, good!]);
    let stamped = false;
    await postStamped(client, stamper, owner.dropUrl, pdu('c'), { nextTicket: w.next, onStampProgress: () => (stamped = true) });
    expect(w.taken).toHaveLength(3);
    expect(stamped).toBe(false);
  });

  it('a closed drop without introductions is a final refusal that says tickets are missing', async () => {
    const owner = await claimedDrop(server.url, 0);
    const err = await refusal(postStamped(client, stamper, owner.dropUrl, pdu('x'), { nextTicket: wallet([]).next }));
    expect(err.status).toBe(401);
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/tickets/);
    expect(err.answer).toMatchObject({ error: 'Ticket required', powBits: null });
  });

  it('an introduction is stamped once asked; the next one beyond the quota carries Retry-After until the next UTC day', async () => {
    const owner = await claimedDrop(server.url, 5);
    const hashes: number[] = [];
    await postStamped(client, stamper, owner.dropUrl, pdu('intro'), { onStampProgress: (p) => hashes.push(p.hashes) });
    expect(hashes[0]).toBe(0);
    const err = await refusal(postStamped(client, stamper, owner.dropUrl, pdu('intro 2')));
    expect(err.status).toBe(429);
    expect(err.retryable).toBe(true);
    const untilNextDay = Math.ceil(((Math.floor(Date.now() / 86_400_000) + 1) * 86_400_000 - Date.now()) / 1000);
    expect(err.answer!.retryAfterS).toBeGreaterThan(0);
    expect(Math.abs(err.answer!.retryAfterS! - untilNextDay)).toBeLessThan(10);
  });

  it('a server that does not ask gets a plain POST', async () => {
    let stamped = false;
    await postStamped(client, stamper, `${server.url}/${newDropId()}`, pdu('plain'), { onStampProgress: () => (stamped = true) });
    expect(stamped).toBe(false);
  });

  it('a cancel before the stamp sends nothing more', async () => {
    const owner = await claimedDrop(server.url, 5);
    const abort = new AbortController();
    abort.abort();
    const err = await postStamped(client, stamper, owner.dropUrl, pdu('never'), { signal: abort.signal }).catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
  });
});
