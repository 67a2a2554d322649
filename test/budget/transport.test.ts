/**
 * The budget's requests on the wire (electron/core/budget/slotTransport.ts): one connection per
 * request, through SOCKS5 with credentials of its own (a Tor circuit of its own), the user's own
 * credentials kept; padded GETs skip filler by its flag; a server answering far more than asked is refused.
 */
import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlotTransport, isolatedSocksUrl, parseDiscovery } from '../../electron/core/budget/slotTransport.js';
import { PDU_BYTES } from '../../shared/budget/model.js';
import { formatDropUrl, generateDropId } from '../../shared/protocol/dropId.js';
import { type ServerProcess, makeDataDir, removeDataDir, startServerProcess } from '../server/serverProcess.js';
import { loopbackGuard } from './budgetHarness.js';
import { type RecordingProxy, startRecordingProxy } from './recordingProxy.js';
import { type SocksAuthProxy, startSocksAuthProxy } from './socksAuthProxy.js';

let dataDir: string;
let server: ServerProcess;
let recorder: RecordingProxy;
let socks: SocksAuthProxy;

beforeAll(async () => {
  dataDir = makeDataDir();
  server = await startServerProcess(dataDir);
  recorder = await startRecordingProxy(server.url);
  socks = await startSocksAuthProxy();
});
afterAll(async () => {
  await socks?.close();
  await recorder?.close();
  await server?.stop();
  removeDataDir(dataDir);
});

const pdu = (tag: number) => new Uint8Array(PDU_BYTES).fill(tag);

describe('SlotTransport', () => {
  it('opens a connection per request, and through SOCKS5 each with fresh credentials (its own Tor circuit)', async () => {
    const transport = new SlotTransport({ proxy: () => ({ kind: 'socks5', url: socks.url }), guard: loopbackGuard() });
    const dropUrl = formatDropUrl(recorder.url, generateDropId());
    await transport.discover(recorder.url);
    for (let i = 0; i < 4; i++) await transport.post(dropUrl, pdu(i), i % 2 === 0);
    const page = await transport.fetchPage(dropUrl, null, 4);
    await transport.fetchPage(dropUrl, page.latest, 4);
    await recorder.quiet();
    // 7 requests, 7 connections at the server's side, 7 SOCKS connections with 7 usernames.
    expect(recorder.records).toHaveLength(7);
    expect(socks.connections).toHaveLength(7);
    expect(new Set(socks.connections.map((c) => c.username)).size).toBe(7);
    expect(new Set(socks.connections.map((c) => c.password)).size).toBe(7);
    expect(new Set(socks.connections.map((c) => c.target))).toEqual(new Set([new URL(recorder.url).host]));
    // Two mail PDUs stored, two cover PDUs discarded; filler skipped without looking at it.
    expect(page.items.map((item) => item.body[0])).toEqual([1, 3]);
    expect(page.more).toBe(false);
  });

  it('keeps credentials the user gave the proxy (it may check them)', () => {
    expect(isolatedSocksUrl('socks5://me:secret@127.0.0.1:9050')).toBe('socks5://me:secret@127.0.0.1:9050');
    const a = new URL(isolatedSocksUrl('socks5h://127.0.0.1:9050'));
    const b = new URL(isolatedSocksUrl('socks5h://127.0.0.1:9050'));
    expect(a.username).not.toBe(b.username);
    expect(a.host).toBe('127.0.0.1:9050');
  });

  it('reads discovery documents defensively', () => {
    expect(parseDiscovery('{"v":1,"features":["page","cover"],"max_page":8}')).toEqual({ page: true, cover: true, maxPage: 8 });
    expect(parseDiscovery('{"features":["page"]}')).toEqual({ page: false, cover: false, maxPage: 0 });
    expect(parseDiscovery('{"features":"page cover","max_page":8}')).toEqual({ page: false, cover: false, maxPage: 0 });
    expect(parseDiscovery('not json')).toEqual({ page: false, cover: false, maxPage: 0 });
    // The introductions a day of a server that offers closed drops (tickets); nothing from one that does not, or nonsense.
    expect(parseDiscovery('{"features":["page","tickets"],"max_page":4,"intro_per_day":20}')).toEqual({ page: true, cover: false, maxPage: 4, introPerDay: 20 });
    expect(parseDiscovery('{"features":["page"],"max_page":4,"intro_per_day":20}')).toEqual({ page: true, cover: false, maxPage: 4 });
    expect(parseDiscovery('{"features":["tickets"],"intro_per_day":-1}')).toEqual({ page: false, cover: false, maxPage: 0 });
    expect(parseDiscovery('{"features":["cover"],"max_page":8}')).toEqual({ page: false, cover: true, maxPage: 0 });
    expect(parseDiscovery('{"features":["page"],"max_page":1000}')).toEqual({ page: true, cover: false, maxPage: 64 });
  });

  it('refuses a padded answer far larger than asked for, and one without a boundary', async () => {
    const hostile = createServer((req, res) => {
      if (req.headers['x-qabel-page'] === '2') {
        res.writeHead(200, { 'content-type': 'multipart/mixed; boundary="b"' });
        res.end(Buffer.alloc(1 << 20));
      } else {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end('x');
      }
    });
    await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(hostile.address() as { port: number }).port}/${generateDropId()}`;
      const transport = new SlotTransport({ proxy: () => ({ kind: 'none' }), guard: loopbackGuard() });
      await expect(transport.fetchPage(url, null, 2)).rejects.toThrow(/far larger answer/);
      await expect(transport.fetchPage(url, null, 3)).rejects.toThrow(/multipart boundary/);
    } finally {
      await new Promise<void>((resolve) => hostile.close(() => resolve()));
    }
  });
});
