import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, test } from '@playwright/test';
import { type WebSocket, WebSocketServer } from 'ws';
import { harnessCall as call, serveDbHarness } from './support/dbHarness.js';

/**
 * The renderer's WebSocket bridge in Chromium against a scripted host: request ids, per-call
 * timeouts, failure of calls in flight when the connection drops, reconnection, events, and
 * malformed frames.
 */
test.describe('WebSocket bridge', () => {
  let harness: Awaited<ReturnType<typeof serveDbHarness>>;
  let wss: WebSocketServer;
  let url = '';
  const sockets: WebSocket[] = [];
  const received: Array<{ id: number; channel: string }> = [];

  test.beforeAll(async () => {
    harness = await serveDbHarness();
    const server = createServer();
    wss = new WebSocketServer({ server, path: '/ws' });
    wss.on('connection', (socket) => {
      sockets.push(socket);
      socket.send('not json');
      socket.send(JSON.stringify({ event: 'no/such-event', payload: 1 }));
      socket.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as { id: number; channel: string; request: { url?: string } };
        received.push({ id: frame.id, channel: frame.channel });
        // links/open is left unanswered (to test timeouts); poller/pollNow drops the connection.
        if (frame.channel === 'links/open') return;
        if (frame.channel === 'poller/pollNow') return socket.terminate();
        socket.send(JSON.stringify({ event: 'servers/status', payload: [{ serverUrl: 'http://x' }] }));
        socket.send(JSON.stringify({ id: frame.id, result: { ok: true, value: { echo: frame.channel } } }));
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`;
  });
  test.afterAll(async () => {
    for (const socket of sockets) socket.terminate();
    await new Promise((done) => wss?.close(done));
    await harness?.close();
  });

  test('answers by id, times out unanswered calls, fails calls in flight on a drop, reconnects', async ({ page }) => {
    await page.goto(harness.url);
    await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
    await call(page, 'connectBridge', url, 1500);

    const [info, settings] = await Promise.all([
      call<{ ok: boolean; value: { echo: string } }>(page, 'bridgeInvoke', 'app/info', {}),
      call<{ ok: boolean; value: { echo: string } }>(page, 'bridgeInvoke', 'settings/get', {}),
    ]);
    expect([info.value.echo, settings.value.echo]).toEqual(['app/info', 'settings/get']);
    expect(new Set(received.map((r) => r.id)).size).toBe(received.length);

    const unanswered = await call<{ ok: boolean; error: { code: string } }>(page, 'bridgeInvoke', 'links/open', { url: 'https://example.org' });
    expect(unanswered).toMatchObject({ ok: false, error: { code: 'timeout' } });

    const dropped = await call<{ ok: boolean; error: { code: string } }>(page, 'bridgeInvoke', 'poller/pollNow', {});
    expect(dropped).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    await expect.poll(() => call<string>(page, 'bridgeState')).toBe('open');
    const log = await call<{ states: string[]; events: unknown[] }>(page, 'bridgeLog');
    expect(log.states).toEqual(expect.arrayContaining(['open', 'closed', 'connecting']));
    // One event per answered request; the malformed frames and the unknown event were dropped.
    expect(log.events).toEqual([[{ serverUrl: 'http://x' }], [{ serverUrl: 'http://x' }]]);

    const after = await call<{ ok: boolean; value: { echo: string } }>(page, 'bridgeInvoke', 'identities/list', {});
    expect(after.value.echo).toBe('identities/list');
    expect(sockets.length).toBe(2);
  });
});
