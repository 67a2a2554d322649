/** Bearer access tokens, and the operational endpoints /health and /metrics. */
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { deposit, fetchDrop, newDropId, postMessage } from './dropClient.js';
import { metricsText, metricValue, serversPerTest, TEST_METRICS_TOKEN } from './inProcessServer.js';
import { subscribe } from './pushClient.js';

const { server, cleanups } = serversPerTest(afterEach);

const TOKEN = 'correct-horse-battery-staple';
const bearer = { Authorization: `Bearer ${TOKEN}` };

describe('access tokens', () => {
  it('requires a valid Bearer token on every drop request (401 otherwise)', async () => {
    const s = await server({ tokens: ['another-token-of-16+', TOKEN] });
    const url = `${s.url}/${newDropId()}`;
    const attempts: Record<string, string>[] = [{}, { Authorization: 'Client Qabel' }, { Authorization: 'Bearer wrong-token-value!' }, { Authorization: `bearer ${TOKEN}` }];
    for (const headers of attempts) {
      const post = await postMessage(url, Uint8Array.of(1), headers);
      expect(post.status).toBe(401);
      expect(post.headers.get('www-authenticate')).toBe('Bearer');
      expect(await post.json()).toEqual({ error: 'Unauthorized' });
      expect((await fetch(url, { headers })).status).toBe(401);
      expect((await fetch(url, { method: 'HEAD', headers })).status).toBe(401);
    }
    expect((await fetchDrop(url, bearer)).status).toBe(204);
    expect((await postMessage(url, Uint8Array.of(1), bearer)).status).toBe(200);
    expect((await fetchDrop(url, bearer)).parts).toHaveLength(1);
  });

  it('requires the token for WebSocket push, not for health; metrics want their own token', async () => {
    const s = await server({ tokens: [TOKEN] });
    const url = `${s.url}/${newDropId()}`;
    await expect(subscribe(url)).rejects.toThrow('401');
    const sub = await subscribe(url, bearer);
    cleanups.push(() => sub.close());
    await postMessage(url, Uint8Array.of(42), bearer);
    expect(Array.from((await sub.next()).body)).toEqual([42]);
    expect((await fetch(`${s.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${s.url}/metrics`, { headers: bearer })).status).toBe(401);
    expect((await fetch(`${s.url}/metrics`, { headers: { Authorization: `Bearer ${TEST_METRICS_TOKEN}` } })).status).toBe(200);
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
  });
});

describe('where /metrics is served', () => {
  it('nowhere by default: its counters would tell anyone when messages are posted and fetched', async () => {
    const s = await server({ metricsToken: null });
    expect((await fetch(`${s.url}/metrics`)).status).toBe(404);
    expect(s.metricsUrl).toBeNull();
  });

  it('on a listener of its own that serves nothing else', async () => {
    const s = await server({ metricsToken: null, metricsPort: 0 });
    expect(s.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const res = await fetch(s.metricsUrl!);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('deaddrop_messages_received_total 0');
    expect((await fetch(s.metricsUrl!.replace('/metrics', `/${newDropId()}`))).status).toBe(404);
    expect((await fetch(s.metricsUrl!.replace('/metrics', '/health'))).status).toBe(404);
    expect((await fetch(`${s.url}/metrics`)).status).toBe(404);
  });
});

describe('the service path itself', () => {
  it('names the service and protocol, and nothing about any drop', async () => {
    const s = await server({ basePath: '/tools/drop' });
    await postMessage(`${s.url}/${newDropId()}`, Uint8Array.of(1));
    for (const url of [s.url, `${s.url}/`]) {
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(await res.json()).toEqual({ service: 'deaddrop-server', protocol: 'qabel-drop', protocolVersion: 1, push: 'websocket' });
    }
    expect((await fetch(`http://127.0.0.1:${s.port}/`)).status).toBe(404);
    expect((await fetch(s.url, { method: 'POST', body: 'x' })).status).toBe(405);
  });
});

describe('health and metrics', () => {
  it('answers /health at the root and under the service path', async () => {
    const s = await server({ basePath: '/drop' });
    for (const url of [`http://127.0.0.1:${s.port}/health`, `${s.url}/health`]) {
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(await res.json()).toEqual({ status: 'ok' });
    }
  });

  it('counts received and delivered messages, stored bytes and WebSocket connections, without drop IDs', async () => {
    const s = await server();
    const id = newDropId();
    const url = `${s.url}/${id}`;
    const sub = await subscribe(url);
    cleanups.push(() => sub.close());
    await deposit(url, new Uint8Array(100));
    await deposit(url, new Uint8Array(50));
    await sub.next();
    await sub.next();
    await fetchDrop(url);
    const text = await metricsText(s.url);
    expect(metricValue(text, 'deaddrop_messages_received_total')).toBe(2);
    expect(metricValue(text, 'deaddrop_messages_delivered_total')).toBe(4);
    expect(metricValue(text, 'deaddrop_stored_bytes')).toBe(150);
    expect(metricValue(text, 'deaddrop_websocket_connections')).toBe(1);
    expect(text).toContain('# TYPE deaddrop_messages_received_total counter');
    expect(text).not.toContain(id);
    await sub.close();
    await expect.poll(async () => metricValue(await metricsText(s.url), 'deaddrop_websocket_connections')).toBe(0);
  });
});

/** Whether this machine can listen on IPv6 loopback (some containers cannot). */
const ipv6Loopback = await new Promise<boolean>((resolve) => {
  const probe = createServer();
  probe.once('error', () => resolve(false));
  probe.listen(0, '::1', () => probe.close(() => resolve(true)));
});
if (!ipv6Loopback) console.warn('IPv6 server URL test skipped: cannot listen on ::1 here');

describe.skipIf(!ipv6Loopback)('server URL', () => {
  it('brackets an IPv6 host and keeps the service path without trailing slash', async () => {
    const s = await server({ host: '::1', basePath: '/tools/drop/' });
    expect(s.url).toBe(`http://[::1]:${s.port}/tools/drop`);
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
  });
});
