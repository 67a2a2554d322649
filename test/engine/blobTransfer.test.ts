/**
 * Encrypted file transfer through a real drop server's blob store: round trip, resuming a cut
 * download, and every way a download can be wrong (hash, key, sizes, a server that lies) leaving
 * nothing at the destination.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type BlobHttp, type EncryptedFileRef, FileTransferError, downloadEncryptedFile, uploadEncryptedFile } from '../../electron/core/files/blobTransfer.js';
import { serversPerTest } from '../server/inProcessServer.js';

const { server, cleanups } = serversPerTest(afterEach);
const agent = new Agent();
const http: BlobHttp = { dispatcher: agent, checkUrl: () => undefined };
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'deaddrop-files-'));
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await agent.close();
});

function fileOf(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

async function failure(promise: Promise<unknown>): Promise<FileTransferError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FileTransferError);
  return error as FileTransferError;
}

describe('encrypted files through the blob store', () => {
  it('uploads a file encrypted (the server never holds its bytes) and downloads it back with progress', async () => {
    const s = await server({ blobs: true });
    const bytes = randomBytes(3_000_000);
    const progress: number[] = [];
    const ref = await uploadEncryptedFile(fileOf('a.bin', bytes), s.url, http, { onProgress: (done) => progress.push(done) });
    expect(ref).toMatchObject({ scheme: 'deaddrop-file-1', size: 3_000_000 });
    expect(progress.at(-1)).toBe(ref.cipherSize);
    const stored = Buffer.from(await (await fetch(ref.url)).arrayBuffer());
    expect(stored.length).toBe(ref.cipherSize);
    expect(stored.includes(bytes.subarray(1000, 1064))).toBe(false);

    const dest = join(dir, 'a.out');
    await downloadEncryptedFile(ref, dest, http);
    expect(readFileSync(dest).equals(bytes)).toBe(true);
    expect(existsSync(`${dest}.part`)).toBe(false);
  });

  it('a download cut in the middle resumes from where it stopped with a range request', async () => {
    const s = await server({ blobs: true });
    const bytes = randomBytes(4_000_000);
    const ref = await uploadEncryptedFile(fileOf('b.bin', bytes), s.url, http);
    const dest = join(dir, 'b.out');
    const cut = new AbortController();
    const first = await failure(
      downloadEncryptedFile(ref, dest, http, {
        signal: cut.signal,
        onProgress: (done) => {
          if (done > 1_000_000) cut.abort(new FileTransferError('network', 'cut'));
        },
      }),
    );
    expect(first.message).toBe('cut');
    const partial = readFileSync(`${dest}.part`).length;
    expect(partial).toBeGreaterThan(1_000_000);
    expect(partial).toBeLessThan(ref.cipherSize);
    expect(existsSync(dest)).toBe(false);
    const resumedFrom: number[] = [];
    await downloadEncryptedFile(ref, dest, http, { onProgress: (done) => resumedFrom.push(done) });
    expect(resumedFrom[0]).toBeGreaterThan(partial);
    expect(readFileSync(dest).equals(bytes)).toBe(true);
  });

  it('a wrong hash, a wrong key or sizes that do not fit leave nothing at the destination', async () => {
    const s = await server({ blobs: true });
    const ref = await uploadEncryptedFile(fileOf('c.bin', randomBytes(100_000)), s.url, http);
    const cases: [string, EncryptedFileRef][] = [
      ['hash', { ...ref, hash: ref.hash.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) }],
      ['key', { ...ref, key: randomBytes(32).toString('base64url') }],
      ['sizes', { ...ref, size: ref.size + 1 }],
    ];
    for (const [name, bad] of cases) {
      const dest = join(dir, `c-${name}.out`);
      expect((await failure(downloadEncryptedFile(bad, dest, http))).kind, name).toBe('corrupt');
      expect(existsSync(dest), name).toBe(false);
      expect(existsSync(`${dest}.part`), name).toBe(false);
      expect(existsSync(`${dest}.decrypting`), name).toBe(false);
    }
  });

  it('says what is wrong with the server: no blobs, file too large, file gone, destination refused', async () => {
    const plain = await server();
    expect((await failure(uploadEncryptedFile(fileOf('d.bin', randomBytes(10)), plain.url, http))).kind).toBe('noBlobs');
    const small = await server({ blobs: true, maxBlobBytes: 1000 });
    expect((await failure(uploadEncryptedFile(fileOf('e.bin', randomBytes(2000)), small.url, http))).kind).toBe('tooLarge');
    const ref = await uploadEncryptedFile(fileOf('f.bin', randomBytes(10)), small.url, http);
    const gone = { ...ref, url: ref.url.replace(/[A-Za-z0-9_-]{43}$/, 'x'.repeat(43)) };
    expect((await failure(downloadEncryptedFile(gone, join(dir, 'f.out'), http))).kind).toBe('gone');
    const refusing: BlobHttp = { dispatcher: agent, checkUrl: () => { throw new Error('Drop servers on this computer are not allowed'); } };
    expect((await failure(uploadEncryptedFile(fileOf('g.bin', randomBytes(10)), small.url, refusing))).kind).toBe('refused');
  });

  it('a server that sends other bytes, or more than the file holds, is caught before anything is decrypted', async () => {
    const s = await server({ blobs: true });
    const bytes = randomBytes(200_000);
    const ref = await uploadEncryptedFile(fileOf('h.bin', bytes), s.url, http);
    // A hostile server in front: flips one byte, or appends some.
    for (const mode of ['flip', 'append'] as const) {
      const liar = createServer((req, res) => {
        const upstream = httpRequest(ref.url, { headers: { range: req.headers.range ?? '' } }, (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (c: Buffer) => chunks.push(c));
          answer.on('end', () => {
            const body = Buffer.concat(chunks);
            if (mode === 'flip') body[body.length >> 1]! ^= 1;
            const sent = mode === 'append' ? Buffer.concat([body, Buffer.alloc(100)]) : body;
            res.writeHead(200, { 'content-length': String(sent.length) });
            res.end(sent);
          });
        });
        upstream.end();
      });
      await new Promise<void>((resolve) => liar.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => new Promise<void>((resolve) => liar.close(() => resolve())));
      const url = `http://127.0.0.1:${(liar.address() as AddressInfo).port}/blobs/${ref.url.slice(-43)}`;
      const dest = join(dir, `h-${mode}.out`);
      expect((await failure(downloadEncryptedFile({ ...ref, url }, dest, http))).kind, mode).toBe('corrupt');
      expect(existsSync(dest), mode).toBe(false);
    }
  });
});
