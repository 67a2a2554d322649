import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BackupUiPart } from '../../../shared/backup/backupPayload.js';
import type { Channel, DeviceLinkStatus, IdentitySummary } from '../../../shared/ipc/contract.js';
import { type Result, fail, ok } from '../../../shared/ipc/result.js';
import { fromBase64Url, toBase64Url } from '../../../shared/protocol/encoding.js';
import type { EngineBridge } from '../bridge/transport.js';
import { gatherBackupRecords } from '../db/backupRecords.js';
import type { DeaddropDatabase } from '../db/database.js';
import { deleteTestDatabases, openTestDatabase } from '../db/testDatabase.js';
import { LinkError, finishJoin, offerLink, spacedCode } from './deviceLinkTransfer.js';

const BOB = 'b'.repeat(64);
const identity: IdentitySummary = { id: 'alice-id', alias: 'Alice', publicKey: 'a'.repeat(64), dropUrls: ['https://drop.example.org/x'], dropBits: 256, createdAt: 1 };

/** The engine as the UI sees it: answers the `devices/*` calls it is given, records every request. */
function engine(answers: Partial<Record<Channel, (request: Record<string, unknown>) => Result<unknown>>>) {
  const calls: { channel: Channel; request: Record<string, unknown> }[] = [];
  const bridge = {
    async invoke(channel: Channel, request: Record<string, unknown>) {
      calls.push({ channel, request });
      return answers[channel]?.(request) ?? ok(null);
    },
  } as unknown as EngineBridge;
  return { bridge, calls };
}

const uiPart: BackupUiPart = {
  contacts: [{ publicKey: BOB, alias: 'Bob', dropUrls: ['https://drop.example.org/bob'], offeredDropUrls: [], status: 'accepted', createdAt: 5 }],
  conversations: [],
  messages: [],
  textParts: [],
  seen: [],
  posts: [],
  postCopies: [],
  shares: [],
};

const received: DeviceLinkStatus = {
  linkId: 'link-1',
  role: 'join',
  state: 'received',
  code: '123456',
  deviceName: 'Laptop',
  chunks: { done: 3, total: 3 },
  preview: { kind: 'full', alias: 'Alice', publicKey: identity.publicKey, identityId: identity.id, includesHistory: true, contacts: 1, conversations: 0, messages: 0, uiBytes: 0 },
  error: null,
  expiresAt: 0,
};

let db: DeaddropDatabase;
beforeEach(async () => {
  db = await openTestDatabase('devices');
});
afterEach(deleteTestDatabases);

describe('linking a device from the UI', () => {
  it('the offering side hands the engine the identity’s records, as a backup would hold them', async () => {
    await db.contacts.put({ identityId: identity.id, publicKey: BOB, alias: 'Bob', aliasLower: 'bob', dropUrls: [], offeredDropUrls: [], status: 'accepted', createdAt: 5 });
    const { bridge, calls } = engine({
      'devices/linkBegin': () => ok({ status: { ...received, role: 'offer', state: 'waiting', code: null }, linkString: 'DEADDROP-LINK\n1\n…' }),
      'devices/linkUpload': () => ok({ received: 0 }),
    });
    const offered = await offerLink(bridge, db, identity, true);
    expect(offered.linkString).toMatch(/^DEADDROP-LINK/);
    await offered.handedOver;
    expect(calls[0]).toEqual({ channel: 'devices/linkBegin', request: { identityId: identity.id, includeHistory: true } });
    const uploaded = calls.filter((c) => c.channel === 'devices/linkUpload').map((c) => fromBase64Url(c.request['data'] as string));
    const json = JSON.parse(new TextDecoder().decode(uploaded[0]));
    expect(json).toEqual(await gatherBackupRecords(db, identity.id, true));
    expect(json.contacts.map((c: { alias: string }) => c.alias)).toEqual(['Bob']);
  });

  it('the joining side stores the records, then lets the engine add the identity', async () => {
    const bytes = new TextEncoder().encode(JSON.stringify(uiPart));
    const { bridge, calls } = engine({
      'devices/linkDownload': () => ok({ data: toBase64Url(bytes), size: bytes.length }),
      'devices/linkCommit': () => ok(identity),
    });
    const steps: string[] = [];
    expect(await finishJoin(bridge, db, received, (step) => steps.push(step))).toEqual(identity);
    expect(steps).toEqual(['Receiving contacts and messages', 'Writing contacts and messages', 'Adding the identity']);
    expect((await db.contacts.where('identityId').equals(identity.id).toArray()).map((c) => c.alias)).toEqual(['Bob']);
    expect(calls.at(-1)).toEqual({ channel: 'devices/linkCommit', request: { linkId: 'link-1' } });
  });

  it('takes the records out again when the engine refuses at the end', async () => {
    const bytes = new TextEncoder().encode(JSON.stringify(uiPart));
    const { bridge } = engine({
      'devices/linkDownload': () => ok({ data: toBase64Url(bytes), size: bytes.length }),
      'devices/linkCommit': () => fail('already_exists', 'Alice is already here.'),
    });
    await expect(finishJoin(bridge, db, received, () => undefined)).rejects.toEqual(new LinkError('already_exists', 'Alice is already here.'));
    expect(await db.contacts.where('identityId').equals(identity.id).count()).toBe(0);
  });

  it('refuses a link that has not brought everything, and shows codes in two groups', async () => {
    const { bridge, calls } = engine({});
    await expect(finishJoin(bridge, db, { ...received, state: 'receiving' }, () => undefined)).rejects.toThrow(/not brought everything/);
    expect(calls).toEqual([]);
    expect(spacedCode('123456')).toBe('123 456');
  });
});
