/**
 * How an engine takes a sibling's drop list (StateStore.adoptSiblingDrops, sibling sync `drops`): the
 * sibling's list and epoch, retiring drops merged (the later end, the earlier move), and never a drop
 * this device read dropped at once: one the sibling neither lists nor retires retires here as after a
 * removal, and its cursor stays while it is read.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { argon2id } from '../../shared/protocol/argon2id.js';
import { TEST_PASSPHRASE_LIMITS } from '../../shared/protocol/passphraseSeal.js';
import { MOVE_OVERLAP_MS } from '../../electron/core/drops/retiring.js';
import { passphraseKeyWrap } from '../../electron/core/state/passphraseKeyWrap.js';
import { RETIRED_DROP_READ_MS } from '../../electron/core/state/identityDrops.js';
import { StateStore } from '../../electron/core/state/stateStore.js';
import { generateKeyPair } from '../../electron/core/v1/primitives.js';
import { removeDir, tempDir } from './helpers/testEngine.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) removeDir(dir);
});

const drop = (name: string) => `http://127.0.0.1:1/${name.repeat(43).slice(0, 43)}`;
const [A, B, C, D] = ['A', 'B', 'C', 'D'].map(drop) as [string, string, string, string];
const DAY = 24 * 3600_000;
const NOW = 1_800_000_000_000;

async function storeWith(dropUrls: string[]): Promise<StateStore> {
  const dataDir = tempDir('deaddrop-sibling-drops-');
  dirs.push(dataDir);
  const store = await StateStore.load(dataDir, passphraseKeyWrap(TEST_PASSPHRASE_LIMITS, argon2id), { writeDelayMs: 0 });
  await store.unlock('secret');
  const pair = generateKeyPair();
  await store.addIdentity({ id: 'me', alias: 'me', publicKey: Buffer.from(pair.publicKey).toString('hex'), dropUrls, dropBits: 256, createdAt: 1 }, pair.privateKey);
  return store;
}

const retiring = (store: StateStore) => store.retiredDropsOf('me', NOW).sort((x, y) => x.url.localeCompare(y.url));

describe('a sibling’s drop list taken by the engine', () => {
  it('a move made on the sibling: the new drop first, the old one retiring until the sibling’s end', async () => {
    const store = await storeWith([A]);
    await store.acknowledge(A, 'cursor-a', []);
    const taken = await store.adoptSiblingDrops('me', { epoch: 5, dropUrls: [B], retiring: [{ url: A, until: NOW + MOVE_OVERLAP_MS, movedAt: NOW - 1000 }] }, NOW);
    expect(taken.dropUrls).toEqual([B]);
    expect(store.dropsEpoch('me')).toBe(5);
    expect(retiring(store)).toEqual([{ url: A, until: NOW + MOVE_OVERLAP_MS, movedAt: NOW - 1000 }]);
    expect(store.readDropUrls(NOW).sort()).toEqual([A, B].sort());
    // The old drop's cursor stays while it is read; the new drop has none: it is read from its start.
    expect(store.cursorsOf([A, B])).toEqual({ [A]: 'cursor-a' });
  });

  it('a drop read here that the sibling neither lists nor retires retires as after a removal', async () => {
    const store = await storeWith([A, B]);
    await store.acknowledge(B, 'cursor-b', []);
    await store.adoptSiblingDrops('me', { epoch: 2, dropUrls: [A], retiring: [] }, NOW);
    expect(retiring(store)).toEqual([{ url: B, until: NOW + RETIRED_DROP_READ_MS }]);
    expect(store.readDropUrls(NOW)).toContain(B);
    expect(store.cursorsOf([B])).toEqual({ [B]: 'cursor-b' });
    // Past its end it is left alone.
    expect(store.readDropUrls(NOW + RETIRED_DROP_READ_MS + 1)).toEqual([A]);
  });

  it('merges retiring drops: the later end, the earlier move and confirmation; an ended one and a listed one are not retiring', async () => {
    const store = await storeWith([A]);
    await store.moveDrop('me', A, B, NOW - 2 * DAY);
    // Here: A retiring since two days ago. The sibling moved B away to C a day ago, and knows A from a
    // later (replayed) move of its own with a later end, and names D, whose end has passed.
    await store.adoptSiblingDrops(
      'me',
      {
        epoch: 9,
        dropUrls: [C],
        retiring: [
          { url: A, until: NOW + 40 * DAY, movedAt: NOW - DAY, confirmedAt: NOW - DAY / 2 },
          { url: B, until: NOW - DAY + MOVE_OVERLAP_MS, movedAt: NOW - DAY },
          { url: D, until: NOW - 1 },
        ],
      },
      NOW,
    );
    expect(retiring(store)).toEqual([
      { url: A, until: NOW + 40 * DAY, movedAt: NOW - 2 * DAY, confirmedAt: NOW - DAY / 2 },
      { url: B, until: NOW - DAY + MOVE_OVERLAP_MS, movedAt: NOW - DAY },
    ]);
    // A drop the sibling lists again is no longer retiring here.
    await store.adoptSiblingDrops('me', { epoch: 10, dropUrls: [C, A], retiring: [{ url: B, until: NOW - DAY + MOVE_OVERLAP_MS, movedAt: NOW - DAY }] }, NOW);
    expect(store.identity('me').dropUrls).toEqual([C, A]);
    expect(retiring(store).map((d) => d.url)).toEqual([B]);
  });
});
