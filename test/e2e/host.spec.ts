import { expect, test } from '@playwright/test';
import { WebSocket } from 'ws';
import { startEngineHost } from './support/services.js';

/** The engine host itself: who may connect, what it serves, and that bad requests do not hurt it. */
test('the engine host refuses foreign pages, serves only the UI and survives malformed requests', async () => {
  const host = await startEngineHost('host-check');
  try {
    const wsUrl = host.httpUrl.replace('http://', 'ws://') + 'ws';
    const outcome = (origin: string | undefined) =>
      new Promise<string>((resolve) => {
        const socket = new WebSocket(wsUrl, origin ? { origin } : {});
        socket.once('open', () => {
          socket.close();
          resolve('open');
        });
        socket.once('unexpected-response', (_req, res) => resolve(`refused ${res.statusCode}`));
        socket.once('error', () => resolve('error'));
      });
    expect(await outcome('http://evil.example')).toBe('refused 401');
    expect(await outcome(host.httpUrl.replace(/\/$/, ''))).toBe('open');
    expect(await outcome(undefined)).toBe('open');

    expect((await fetch(host.httpUrl)).status).toBe(200);
    expect((await fetch(`${host.httpUrl}%E0%A4%A`)).status).toBe(404);
    expect((await fetch(`${host.httpUrl}..%2f..%2fpackage.json`)).status).toBe(404);
    expect((await fetch(host.httpUrl, { method: 'POST' })).status).toBe(404);

    // Still answering after all that: a request over the socket gets its result.
    const answer = await new Promise<unknown>((resolve, reject) => {
      const socket = new WebSocket(wsUrl);
      socket.once('open', () => {
        socket.send('{ not json');
        socket.send(JSON.stringify({ id: 7, channel: 'no/such', request: {} }));
        socket.send(JSON.stringify({ id: 8, channel: 'app/info', request: {} }));
      });
      const results: unknown[] = [];
      socket.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as { id?: number };
        if (frame.id === undefined) return;
        results.push(frame);
        if (results.length === 2) {
          socket.close();
          resolve(results);
        }
      });
      socket.once('error', reject);
    });
    expect(answer).toEqual([
      { id: 7, result: { ok: false, error: { code: 'invalid_request', message: 'Unknown request channel.' } } },
      { id: 8, result: { ok: true, value: expect.objectContaining({ host: 'websocket', locked: false }) } },
    ]);
  } finally {
    await host.stop();
  }
});
