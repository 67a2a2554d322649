/**
 * One client must not lock out everyone: idle connection floods, push subscriber floods and
 * stalled readers from one address, while a client at another address (127.0.0.2) keeps polling,
 * posting and subscribing. Plus the per-drop caps over HTTP.
 */
import { connect, type Socket } from 'node:net';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { deposit, fetchDrop, newDropId, postMessage, QABEL_AUTH } from './dropClient.js';
import { metricsText, metricValue, serversPerTest } from './inProcessServer.js';
import { subscribe, type Subscriber } from './pushClient.js';

const { server, cleanups } = serversPerTest(afterEach);
const FLOOD = 1024;
const OTHER_ADDRESS = '127.0.0.2';
/** Liveness, not speed: a request of the other client that takes longer than this has been locked out. */
const LOCKED_OUT_MS = 5000;

/** A client at another loopback address: its own per-client budget. */
function otherClient() {
  const dispatcher = new Agent({ localAddress: OTHER_ADDRESS });
  cleanups.push(() => dispatcher.close());
  const call = async (url: string, init: { method?: string; body?: Uint8Array; headers?: Record<string, string> } = {}) => {
    const started = performance.now();
    const res = await undiciFetch(url, { ...init, dispatcher, signal: AbortSignal.timeout(LOCKED_OUT_MS) });
    await res.arrayBuffer();
    return { status: res.status, ms: performance.now() - started };
  };
  return {
    post: (url: string) => call(url, { method: 'POST', body: new Uint8Array(2149), headers: QABEL_AUTH }),
    get: (url: string) => call(url),
  };
}

/** Opens `count` TCP connections that never send a byte; resolves once all are connected or refused. */
async function silentConnections(port: number, count: number): Promise<{ sockets: Socket[]; open(): number }> {
  const sockets: Socket[] = [];
  let open = 0;
  await Promise.all(
    Array.from({ length: count }, () => new Promise<void>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      sockets.push(socket);
      // It reads what it is sent (a refusal), so it notices the server closing; it never writes.
      socket.resume();
      socket.on('error', () => resolve());
      socket.once('connect', () => {
        open++;
        resolve();
      });
      socket.once('close', () => {
        open--;
        resolve();
      });
    })),
  );
  cleanups.push(() => sockets.forEach((s) => s.destroy()));
  return { sockets, open: () => open };
}

describe('a flood from one address', () => {
  it('idle connections: beyond the per-client cap refused at once, the rest closed after the idle time; others are served throughout', async () => {
    const s = await server({ maxConnectionsPerClient: 64, idleConnectionMs: 1500 });
    const dropUrl = `${s.url}/${newDropId()}`;
    const other = otherClient();
    const before = await other.get(`${s.url}/health`);
    const flood = await silentConnections(s.port, FLOOD);
    // Meanwhile the other client goes about its business, and is answered.
    const during = [await other.post(dropUrl), await other.get(dropUrl), await other.get(`${s.url}/health`)];
    expect(during.map((r) => r.status)).toEqual([200, 200, 200]);
    console.info(`idle flood: other client ${during.map((r) => r.ms.toFixed(1)).join(' / ')} ms during, ${before.ms.toFixed(1)} ms before`);
    // Every silent connection is gone soon after the idle time.
    await expect.poll(flood.open, { timeout: 10_000, interval: 100 }).toBe(0);
    expect(metricValue(await metricsText(s.url), 'deaddrop_connections_refused_total')).toBeGreaterThanOrEqual(FLOOD);
    expect((await other.get(dropUrl)).status).toBe(200);
  });

  it('push subscribers: beyond the per-client cap refused with 429; another address still subscribes, polls and posts', async () => {
    const s = await server({ maxConnectionsPerClient: 64, maxSubscribersPerClient: 32 });
    const dropUrl = `${s.url}/${newDropId()}`;
    const attempts = await Promise.allSettled(Array.from({ length: FLOOD }, () => subscribe(dropUrl)));
    const held = attempts.flatMap((a) => (a.status === 'fulfilled' ? [a.value] : []));
    cleanups.push(() => Promise.all(held.map((sub) => sub.close())));
    expect(held.length).toBeLessThanOrEqual(32);
    expect(held.length).toBeGreaterThan(0);
    const refusals = attempts.flatMap((a) => (a.status === 'rejected' ? [String(a.reason)] : []));
    expect(refusals.length).toBe(FLOOD - held.length);
    expect(refusals.some((r) => r.includes('429'))).toBe(true);

    const other = otherClient();
    const mine: Subscriber = await subscribe(dropUrl, {}, OTHER_ADDRESS);
    cleanups.push(() => mine.close());
    expect((await other.post(dropUrl)).status).toBe(200);
    expect((await mine.next(LOCKED_OUT_MS)).body).toHaveLength(2149);
    expect((await other.get(dropUrl)).status).toBe(200);
  });

  it('a client that stops reading its response loses the connection after the socket timeout', async () => {
    const s = await server({ socketTimeoutMs: 1000, pageSize: 10_000 });
    const dropUrl = `${s.url}/${newDropId()}`;
    // About 20 MB in one response: more than loopback buffers absorb.
    const count = 8000;
    const body = new Uint8Array(2573);
    for (let n = 0; n < count; n += 40) await Promise.all(Array.from({ length: 40 }, () => deposit(dropUrl, body)));
    const openConnections = async () => metricValue(await metricsText(s.url), 'deaddrop_http_connections');
    const idle = await openConnections();
    const socket = connect(s.port, '127.0.0.1');
    cleanups.push(() => void socket.destroy());
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`GET ${new URL(dropUrl).pathname} HTTP/1.1\r\nHost: x\r\n\r\n`);
    let received = 0;
    socket.on('data', (chunk: Buffer) => (received += chunk.length));
    socket.pause(); // and read nothing for now
    await expect.poll(openConnections, { timeout: 10_000, interval: 200 }).toBe(idle + 1);
    // The server gives up on the stalled response and closes its side...
    await expect.poll(openConnections, { timeout: 10_000, interval: 200 }).toBe(idle);
    // ...so the client, reading again, finds the response cut short.
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.resume();
    await closed;
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(count * 2573);
    // Filling the drop is 8,000 POSTs: on a loaded machine that alone can take most of the default 30 s.
  }, 120_000);
});

describe('behind a trusted reverse proxy', () => {
  it("exempts the proxy's connections from the per-client cap and counts push subscribers per X-Forwarded-For client", async () => {
    const s = await server({ maxConnectionsPerClient: 8, maxSubscribersPerClient: 2, trustedProxies: ['127.0.0.1'] });
    const dropUrl = `${s.url}/${newDropId()}`;
    // Twenty connections from the proxy's address at once: all served.
    const silent = await silentConnections(s.port, 20);
    expect(silent.open()).toBe(20);
    const statuses = await Promise.all(Array.from({ length: 20 }, () => fetch(dropUrl).then((r) => r.status)));
    expect(statuses.every((status) => status === 204)).toBe(true);
    // Each client behind the proxy has its own subscriber budget.
    const asClient = (address: string) => subscribe(dropUrl, { 'X-Forwarded-For': `198.51.100.1, ${address}` });
    const subs = await Promise.all([asClient('203.0.113.1'), asClient('203.0.113.1'), asClient('203.0.113.2')]);
    cleanups.push(() => Promise.all(subs.map((sub) => sub.close())));
    await expect(asClient('203.0.113.1')).rejects.toThrow('429');
  });

  it('ignores X-Forwarded-For from anyone else', async () => {
    const s = await server({ maxConnectionsPerClient: 8, maxSubscribersPerClient: 2 });
    const dropUrl = `${s.url}/${newDropId()}`;
    const forged = (address: string) => subscribe(dropUrl, { 'X-Forwarded-For': address });
    const subs = await Promise.all([forged('203.0.113.1'), forged('203.0.113.2')]);
    cleanups.push(() => Promise.all(subs.map((sub) => sub.close())));
    await expect(forged('203.0.113.3')).rejects.toThrow('429');
  });
});

describe('per-drop caps', () => {
  it('refuses a POST into a full drop with 507 and a JSON error, keeps what it holds, and serves other drops', async () => {
    const s = await server({ dropMaxMessages: 3, dropMaxBytes: 1_000_000 });
    const url = `${s.url}/${newDropId()}`;
    for (let i = 1; i <= 3; i++) await deposit(url, Uint8Array.of(i));
    const refused = await postMessage(url, Uint8Array.of(4));
    expect(refused.status).toBe(507);
    expect(refused.headers.get('content-type')).toBe('application/json');
    expect(await refused.json()).toEqual({ error: 'Drop is full' });
    expect((await fetchDrop(url)).parts.map((p) => p.body[0])).toEqual([1, 2, 3]);
    await deposit(`${s.url}/${newDropId()}`, Uint8Array.of(5));
    expect(metricValue(await metricsText(s.url), 'deaddrop_posts_rejected_total{reason="drop_full"}')).toBe(1);
  });

  it('counts bytes too', async () => {
    const s = await server({ dropMaxBytes: 5000 });
    const url = `${s.url}/${newDropId()}`;
    await deposit(url, new Uint8Array(2500));
    await deposit(url, new Uint8Array(2500));
    expect((await postMessage(url, new Uint8Array(1))).status).toBe(507);
  });
});
