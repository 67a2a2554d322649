/** The client facade against a real drop server in this process: claim, tickets, stamps, discovery. */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { offersPow, offersTickets } from '../../shared/spam/wire.js';
import { serversPerTest } from './inProcessServer.js';
import { fetchPolicyPost } from './spamSupport.js';
import { createSpamClient } from '../../electron/core/spam/spamClient.js';
import { fetchPost } from '../../electron/core/spam/spamPost.js';

const { server } = serversPerTest(afterEach);

describe('spam client', () => {
  const owner = createSpamClient({
    secret: new Uint8Array(randomBytes(32)),
    rawPost: fetchPost(),
    policyPost: fetchPolicyPost,
    getJson: async (url) => (await fetch(url)).json(),
  });
  afterAll(() => owner.close());

  it('claims a drop, mints tickets that post once each, and a stranger gets in by stamp as an introduction', async () => {
    const s = await server({ powBits: 6, introPerDay: 1 });
    const discovery = await owner.discover(s.url);
    expect(discovery && offersTickets(discovery) && offersPow(discovery)).toBe(true);
    const dropUrl = `${s.url}/${randomBytes(32).toString('base64url')}`;
    expect(await owner.claimDrop(dropUrl, 1)).toEqual({ ok: true, seq: 1, introPerDay: 1 });
    const [ticket] = owner.mintTickets(dropUrl, 1);
    const pdu = new Uint8Array(2149).fill(1);
    expect(await owner.post(dropUrl, pdu, { ticket })).toMatchObject({ status: 200, sentWith: 'ticket' });
    expect(await owner.post(dropUrl, pdu, { ticket })).toMatchObject({ status: 409, error: 'Ticket spent' });

    const progress: number[] = [];
    const stranger = await owner.post(dropUrl, new Uint8Array(2149).fill(2), { onStampProgress: (p) => progress.push(p.expected) });
    expect(stranger).toMatchObject({ status: 200, sentWith: 'stamp' });
    expect(await owner.post(dropUrl, new Uint8Array(2149).fill(3))).toMatchObject({ status: 429, error: 'Introduction quota reached' });
    expect(await owner.updatePolicy({ dropUrl, seq: 2, keyIds: [0], introPerDay: 0 })).toMatchObject({ ok: true, seq: 2 });
  });

  it('finds no announcement on a server that has none', async () => {
    const none = createSpamClient({ secret: new Uint8Array(32), rawPost: fetchPost(), policyPost: fetchPolicyPost, getJson: async () => ({ error: 'Not found' }) });
    expect(await none.discover('http://127.0.0.1:1')).toBeNull();
    await none.close();
  });
});
