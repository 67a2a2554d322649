import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IncomingHttpHeaders, type Server, type ServerResponse, createServer } from 'node:http';
import { Agent } from 'undici';
import { generateDropId } from '../../shared/protocol/dropId.js';
import { DropClient, DropRequestError } from '../../electron/core/net/dropClient.js';
import { randomPdu } from './helpers/craft.js';
import { type ServerProcess, startServerProcess } from './helpers/serverProcess.js';

const dispatcher = new Agent();
const bytes = (text: string) => new Uint8Array(Buffer.from(text));
afterAll(() => dispatcher.close());

describe('drop client against the real server', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess();
  });
  afterAll(() => server?.stop());

  it('posts, probes with HEAD and fetches with a cursor', async () => {
    const client = new DropClient({ dispatcher });
    const dropUrl = `${server.url}/${generateDropId()}`;
    expect(await client.fetch(dropUrl, null)).toEqual({ status: 'empty' });
    expect(await client.probe(dropUrl, null)).toEqual({ hasNew: false, latest: null });
    const first = randomPdu(2149);
    await client.post(dropUrl, first);
    const probe = await client.probe(dropUrl, null);
    expect(probe.hasNew).toBe(true);
    const fetched = await client.fetch(dropUrl, null);
    if (fetched.status !== 'messages') throw new Error('expected messages');
    expect(Buffer.from(fetched.items[0]!.body).equals(Buffer.from(first))).toBe(true);
    expect(fetched.latest).toBe(probe.latest);
    expect(await client.fetch(dropUrl, fetched.latest)).toEqual({ status: 'unchanged' });
    await expect(client.post(`${server.url}/not-a-drop`, first)).rejects.toMatchObject({ kind: 'http', status: 400, retryable: false });
  });
});

describe('drop client hygiene and bounds', () => {
  let fake: Server;
  let base: string;
  const seen: IncomingHttpHeaders[] = [];
  let answer: (res: ServerResponse) => void = (res) => res.end();

  beforeAll(async () => {
    fake = createServer((req, res) => {
      seen.push(req.headers);
      answer(res);
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(fake.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => fake.close(() => resolve())));

  it('sends only fixed generic headers and never a cookie', async () => {
    answer = (res) => res.writeHead(200, { 'set-cookie': 'track=me' }).end();
    const client = new DropClient({ dispatcher });
    await client.post(`${base}/${generateDropId()}`, randomPdu(2149));
    await client.post(`${base}/${generateDropId()}`, randomPdu(2149));
    expect(seen.at(-1)!['cookie']).toBeUndefined();
    expect(seen.at(-1)).toMatchObject({ 'user-agent': 'Mozilla/5.0', authorization: 'Client Qabel', 'content-type': 'application/octet-stream' });
    expect(Object.keys(seen.at(-1)!).sort()).toEqual(['accept', 'authorization', 'connection', 'content-length', 'content-type', 'host', 'user-agent']);
  });

  it('gives up on a server that never answers', async () => {
    answer = () => undefined;
    const client = new DropClient({ dispatcher, timeoutMs: 300 });
    await expect(client.fetch(`${base}/${generateDropId()}`, null)).rejects.toMatchObject({ kind: 'timeout', retryable: true });
  });

  it('skips oversized parts, stops at its byte and part bounds, and refuses truncated bodies', async () => {
    const part = (body: string) => `--b\r\nContent-Type: application/octet-stream\r\n\r\n${body}\r\n`;
    const multipart = { 'content-type': 'multipart/mixed; boundary=b', 'x-qabel-latest': '7' };
    answer = (res) => res.writeHead(200, multipart).end(part('x'.repeat(5000)) + part('ok') + '--b--\r\n');
    const bounded = new DropClient({ dispatcher, limits: { maxPartBytes: 4096 } });
    expect(await bounded.fetch(`${base}/${generateDropId()}`, null)).toMatchObject({ status: 'messages', complete: true, skippedParts: 1, latest: '7', items: [{ body: bytes('ok') }] });
    answer = (res) => res.writeHead(200, multipart).end(part('a') + part('b') + part('c') + '--b--\r\n');
    const fewParts = await new DropClient({ dispatcher, limits: { maxParts: 2 } }).fetch(`${base}/${generateDropId()}`, null);
    expect(fewParts).toMatchObject({ status: 'messages', complete: false, items: [{ body: bytes('a') }, { body: bytes('b') }] });
    const fewBytes = await new DropClient({ dispatcher }).fetch(`${base}/${generateDropId()}`, null, { maxBytes: part('a').length + 4 });
    expect(fewBytes).toMatchObject({ status: 'messages', complete: false, bytes: part('a').length + 4, items: [{ body: bytes('a') }] });
    answer = (res) => res.writeHead(200, multipart).end(part('short'));
    await expect(new DropClient({ dispatcher }).fetch(`${base}/${generateDropId()}`, null)).rejects.toMatchObject({ kind: 'protocol' });
    await expect(new DropClient({ dispatcher }).fetch(`${base}/${generateDropId()}`, null)).rejects.toBeInstanceOf(DropRequestError);
  });
});
