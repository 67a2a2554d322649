import { describe, expect, it } from 'vitest';
import type { Channel, EncryptedFileRef } from '../../../shared/ipc/contract.js';
import { type Result, fail, ok } from '../../../shared/ipc/result.js';
import { toBase64Url } from '../../../shared/protocol/encoding.js';
import type { EngineBridge } from '../bridge/transport.js';
import type { MessageRecord } from '../db/records.js';
import {
  cancelDownload,
  cleanFileName,
  downloadIdOf,
  readDownloadedFile,
  readInlineImage,
  saveName,
  sharedFileOf,
  startDownload,
} from './receiveFile.js';
import { applyFileProgress, transferOf } from './transfers.js';

const ref: EncryptedFileRef = {
  scheme: 'deaddrop-file-1',
  url: `http://127.0.0.1:9/blobs/${'B'.repeat(43)}`,
  key: 'K'.repeat(42) + 'A',
  size: 10,
  cipherSize: 60,
  hash: 'H'.repeat(42) + 'A',
};

function shareRecord(payload: unknown, direction: 'in' | 'out' = 'in'): MessageRecord {
  return {
    id: 'in:me:abc',
    identityId: 'me',
    contactKey: 'b'.repeat(64),
    direction,
    kind: 'share',
    text: 'caption from the record',
    payloadType: 'box_share_notification',
    payload: JSON.stringify(payload),
    share: { file: 'stored.txt', url: '', size: 99 },
    sortAt: 1,
    createdAt: 1,
    status: null,
    localId: null,
    error: null,
    ackIds: [],
    ackedIds: [],
    parts: null,
    read: false,
  };
}

const ours = { msg: 'hi', file: 'photo.png', url: ref.url, key: ref.key, size: 10, scheme: 'deaddrop-file-1', hash: ref.hash, cipher_size: 60, type: 'image/png' };

function fakeEngine(answer: (channel: Channel, request: Record<string, unknown>) => Result<unknown>) {
  const calls: Array<[Channel, Record<string, unknown>]> = [];
  const bridge = {
    kind: 'websocket',
    async invoke(channel: Channel, request: Record<string, unknown>) {
      calls.push([channel, request]);
      return answer(channel, request);
    },
    on: () => () => undefined,
    connectionState: () => 'open',
    onConnectionChange: () => () => undefined,
  } as unknown as EngineBridge;
  return { bridge, calls };
}

/** An engine holding `content` downloaded: `files/read` answers it in pieces of `chunk` bytes. */
function holding(content: Uint8Array, chunk: number) {
  return fakeEngine((channel, request) => {
    if (channel !== 'files/read') return ok(null);
    const offset = request.offset as number;
    return ok({ data: toBase64Url(content.subarray(offset, offset + chunk)), size: content.length });
  });
}

describe('sharedFileOf', () => {
  it('reads a notice of ours from the payload as it arrived: name, size, caption, how to open it, type', () => {
    const file = sharedFileOf(shareRecord(ours));
    expect(file).toEqual({ name: 'photo.png', size: 10, caption: 'hi', ref: { ...ref, cipherSize: 60 }, mime: 'image/png' });
  });

  it('a notice in Qabel’s format, an unknown scheme or a malformed payload is a file this app cannot open (ref null), never an error', () => {
    const qabel = sharedFileOf(shareRecord({ msg: 'old', file: 'report.pdf', url: 'https://qabel.example/blocks/x', key: 'abc', size: '2048' }));
    expect(qabel).toMatchObject({ name: 'report.pdf', size: 2048, ref: null, caption: 'old' });
    expect(sharedFileOf(shareRecord({ ...ours, scheme: 'deaddrop-file-9' })).ref).toBeNull();
    const broken = shareRecord(null);
    broken.payload = '{not json';
    expect(sharedFileOf(broken)).toMatchObject({ name: 'stored.txt', size: 99, ref: null });
  });

  it('shows names without control or bidi characters (no faked extension), and never an empty name', () => {
    expect(sharedFileOf(shareRecord({ ...ours, file: 'invoice\u202Egnp.exe' })).name).toBe('invoicegnp.exe');
    expect(cleanFileName('\u0000\u200B')).toBe('Unnamed file');
    expect([...cleanFileName('x'.repeat(1000))]).toHaveLength(255);
  });

  it('our own file keeps its caption, or none when the stored text is only the name', () => {
    const out = { ...shareRecord(null, 'out'), payload: '', text: 'stored.txt' };
    expect(sharedFileOf(out)).toMatchObject({ name: 'stored.txt', caption: '', ref: null });
    expect(sharedFileOf({ ...out, text: 'For you' }).caption).toBe('For you');
  });
});

describe('downloads', () => {
  it('keeps a download under a digest of the message id: stable, short enough for any id', async () => {
    const id = await downloadIdOf('in:me:abc');
    expect(id).toBe(await downloadIdOf('in:me:abc'));
    expect(id).not.toBe(await downloadIdOf('in:me:abd'));
    expect((await downloadIdOf(`in:${'x'.repeat(500)}`)).length).toBeLessThanOrEqual(128);
    expect(id).toMatch(/^file-[-_A-Za-z0-9]{43}$/);
  });

  it('a file already here is done at once; a refused download fails with the engine’s sentence; resuming keeps what arrived', async () => {
    const ready = fakeEngine(() => ok({ ready: true }));
    await startDownload(ready.bridge, 'd1', ref);
    expect(ready.calls).toEqual([['files/download', { id: 'd1', ref }]]);
    expect(transferOf('d1')).toMatchObject({ direction: 'down', state: 'done', done: 10, total: 10 });

    const refused = fakeEngine(() => fail('unavailable', 'The engine is not reachable.'));
    await startDownload(refused.bridge, 'd2', ref);
    expect(transferOf('d2')).toMatchObject({ state: 'failed', error: 'The engine is not reachable.' });

    const running = fakeEngine(() => ok({ ready: false }));
    await startDownload(running.bridge, 'd3', ref);
    applyFileProgress({ id: 'd3', direction: 'down', done: 4, total: 10, state: 'failed', error: 'Connection reset' });
    // A late progress event from before the failure does not hide it.
    applyFileProgress({ id: 'd3', direction: 'down', done: 3, total: 10, state: 'running' });
    expect(transferOf('d3')).toMatchObject({ state: 'failed', done: 4, error: 'Connection reset' });
    await startDownload(running.bridge, 'd3', ref);
    expect(transferOf('d3')).toMatchObject({ state: 'running', done: 4, error: null });
    applyFileProgress({ id: 'd3', direction: 'down', done: 10, total: 10, state: 'done' });
    expect(transferOf('d3')?.state).toBe('done');
  });

  it('cancel forgets the partial file in the engine', async () => {
    const engine = fakeEngine(() => ok(null));
    await cancelDownload(engine.bridge, 'd4', ref);
    expect(engine.calls).toEqual([['files/discard', { id: 'd4' }]]);
    expect(transferOf('d4')?.state).toBe('cancelled');
  });

  it('reads a downloaded file back chunk by chunk into the same bytes', async () => {
    const content = new Uint8Array(2500).map((_, i) => (i * 13) & 0xff);
    const engine = holding(content, 1000);
    const blob = await readDownloadedFile(engine.bridge, 'd5', { ...ref, size: content.length });
    expect(new Uint8Array(await blob.arrayBuffer())).toEqual(content);
    expect(engine.calls.map(([, r]) => r.offset)).toEqual([0, 1000, 2000]);
    expect(await (await readDownloadedFile(holding(new Uint8Array(), 10).bridge, 'd6', { ...ref, size: 0 })).arrayBuffer()).toHaveProperty('byteLength', 0);
  });

  it('a read that ends short or fails is an error, not a truncated file', async () => {
    const short = fakeEngine(() => ok({ data: '', size: 10 }));
    await expect(readDownloadedFile(short.bridge, 'd7', ref)).rejects.toThrow('could not be read completely');
    const gone = fakeEngine(() => fail('not_found', 'This file is not downloaded (or was deleted): download it first.'));
    await expect(readDownloadedFile(gone.bridge, 'd8', ref)).rejects.toThrow('download it first');
  });

  it('shows an image inline only when its bytes are one: an SVG announced as PNG is not', async () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4, 5, 6, 7, 8]);
    const image = await readInlineImage(holding(png, 1000).bridge, 'img-1', { ...ref, size: png.length });
    expect(image?.type).toBe('image/png');
    const svg = new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>');
    expect(await readInlineImage(holding(svg, 1000).bridge, 'img-2', { ...ref, size: svg.length })).toBeNull();
  });

  it('keeps recently shown images in memory, up to a total size: the oldest is read again', async () => {
    const png = new Uint8Array(30 * 1024 * 1024);
    png.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const engine = holding(png, 8 * 1024 * 1024);
    const big = { ...ref, size: png.length };
    const reads = () => engine.calls.filter(([, r]) => r.offset === 0).length;
    for (const id of ['cache-a', 'cache-b', 'cache-c']) await readInlineImage(engine.bridge, id, big);
    expect(reads()).toBe(3);
    await readInlineImage(engine.bridge, 'cache-c', big);
    await readInlineImage(engine.bridge, 'cache-b', big);
    expect(reads()).toBe(3);
    await readInlineImage(engine.bridge, 'cache-a', big);
    expect(reads()).toBe(4);
  });

  it('saves under a name that is no path', () => {
    expect(saveName('../../etc/passwd')).toBe('_.._etc_passwd');
    expect(saveName('...')).toBe('file');
    expect(saveName('a:b*c?.txt')).toBe('a_b_c_.txt');
  });
});
