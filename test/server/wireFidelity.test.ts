/** Raw bytes in, the same raw bytes out: the multipart stream and the WebSocket frames. */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHttpDate } from '../../shared/protocol/httpDate.js';
import { deposit, fetchDrop, newDropId } from './dropClient.js';
import { subscribe } from './pushClient.js';
import { makeDataDir, removeDataDir, startServerProcess, type ServerProcess } from './serverProcess.js';

let server: ServerProcess;
let dataDir: string;

beforeAll(async () => {
  dataDir = makeDataDir();
  server = await startServerProcess(dataDir);
});
afterAll(async () => {
  await server?.stop();
  removeDataDir(dataDir);
});

const allByteValues = Uint8Array.from({ length: 512 }, (_, i) => i % 256);
const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('multipart stream', () => {
  it('returns every byte value, CRLF and dashes inside messages unchanged', async () => {
    const url = `${server.url}/${newDropId()}`;
    const messages = [
      allByteValues,
      ascii('\r\n--\r\n--boundary--\r\n\r\n'),
      ascii('--'),
      ascii('\r\n'),
      ascii('\r\n\r\nContent-Type: text/plain\r\n\r\n--'),
      Uint8Array.of(0),
      ...Array.from({ length: 10 }, () => new Uint8Array(randomBytes(2149))),
    ];
    for (const m of messages) await deposit(url, m);
    const { parts } = await fetchDrop(url);
    expect(parts.map((p) => Buffer.from(p.body).toString('hex'))).toEqual(messages.map((m) => Buffer.from(m).toString('hex')));
  });

  it('picks a boundary that occurs in no message', async () => {
    const url = `${server.url}/${newDropId()}`;
    await deposit(url, allByteValues);
    const first = await fetchDrop(url);
    const boundary = /boundary="([^"]+)"/.exec(first.response.headers.get('content-type')!)![1]!;
    // A message that contains the boundary just used must make the server choose another.
    await deposit(url, ascii(`\r\n--${boundary}\r\n--${boundary}--\r\n`));
    const second = await fetchDrop(url);
    expect(second.response.headers.get('content-type')).not.toContain(boundary);
    expect(Buffer.from(second.parts[1]!.body).toString()).toBe(`\r\n--${boundary}\r\n--${boundary}--\r\n`);
  });
});

describe('WebSocket push', () => {
  it('sends one binary frame per message stored after the socket opened', async () => {
    const url = `${server.url}/${newDropId()}`;
    await deposit(url, ascii('before'));
    const sub = await subscribe(url);
    expect(sub.upgradeHeaders['cache-control']).toBe('no-store');
    expect(sub.upgradeHeaders['set-cookie']).toBeUndefined();
    try {
      await deposit(url, allByteValues);
      await deposit(url, ascii('\n\nsecond'));
      const first = await sub.next();
      const second = await sub.next();
      expect(Buffer.from(first.body).equals(Buffer.from(allByteValues))).toBe(true);
      expect(second.body.toString()).toBe('\n\nsecond');
      const got = await fetchDrop(url);
      expect(second.latest).toBe(got.latest);
      expect(Number(first.latest)).toBe(Number(second.latest) - 1);
      expect(second.lastModified).toBe(got.response.headers.get('last-modified'));
      expect(parseHttpDate(first.lastModified)).not.toBeNull();
    } finally {
      await sub.close();
    }
  });

  it('ignores client frames and does not push other drops', async () => {
    const url = `${server.url}/${newDropId()}`;
    const sub = await subscribe(url);
    try {
      sub.socket.send('hello server');
      sub.socket.send(Buffer.alloc(100));
      await deposit(`${server.url}/${newDropId()}`, ascii('not yours'));
      await deposit(url, ascii('yours'));
      expect((await sub.next()).body.toString()).toBe('yours');
    } finally {
      await sub.close();
    }
  });

  it('refuses an upgrade for an invalid drop ID with 400', async () => {
    await expect(subscribe(`${server.url}/not-a-drop`)).rejects.toThrow('400');
  });
});
