/** Clients that try to exhaust the server: huge bodies, slow headers, too many connections or sockets. */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchDrop, newDropId } from './dropClient.js';
import { subscribe } from './pushClient.js';
import { serversPerTest } from './inProcessServer.js';

const { server, cleanups } = serversPerTest(afterEach);

interface RawConnection {
  socket: Socket;
  /** Everything received so far. */
  received(): string;
  /** Resolves when the server has closed the connection. */
  closed: Promise<void>;
}

async function rawConnection(port: number): Promise<RawConnection> {
  const socket = connect(port, '127.0.0.1');
  cleanups.push(() => void socket.destroy());
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise((resolve) => socket.once('connect', resolve));
  return { socket, received: () => received, closed };
}

const postHead = (id: string, extra: string): string => `POST /${id} HTTP/1.1\r\nHost: x\r\nAuthorization: Client Qabel\r\n${extra}\r\n`;

describe('oversized bodies', () => {
  it('answers 413 on a too-large Content-Length before the body arrives, and closes', async () => {
    const s = await server();
    const conn = await rawConnection(s.port);
    conn.socket.write(postHead(newDropId(), 'Content-Length: 100000000\r\n') + 'x'.repeat(1000));
    await expect.poll(conn.received).toMatch(/^HTTP\/1\.1 413 /);
    expect(conn.received()).toContain('{"error":"Message too large"}');
    expect(conn.received()).toContain('Connection: close');
    await conn.closed;
  });

  it('answers 413 as soon as a chunked body without Content-Length passes the limit', async () => {
    const s = await server();
    const id = newDropId();
    const conn = await rawConnection(s.port);
    conn.socket.write(postHead(id, 'Transfer-Encoding: chunked\r\n'));
    const chunk = 'y'.repeat(1000);
    for (let i = 0; i < 3; i++) conn.socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    // The body is not finished (no last chunk), yet the refusal comes.
    await expect.poll(conn.received).toMatch(/^HTTP\/1\.1 413 /);
    await conn.closed;
    expect((await fetchDrop(`${s.url}/${id}`)).status).toBe(204);
  });
});

describe('slow clients', () => {
  it('drops a client that never finishes its headers (slowloris)', async () => {
    const s = await server({ headersTimeoutMs: 300, requestTimeoutMs: 600 });
    const conn = await rawConnection(s.port);
    conn.socket.write(`GET /${newDropId()} HTTP/1.1\r\nHost: x\r\n`);
    const trickle = setInterval(() => conn.socket.writable && conn.socket.write('X-a: b\r\n'), 100);
    cleanups.push(() => clearInterval(trickle));
    await conn.closed;
    expect(conn.received()).toMatch(/^(HTTP\/1\.1 408 |$)/);
  });

  it('drops a client that never finishes its body', async () => {
    const s = await server({ headersTimeoutMs: 300, requestTimeoutMs: 600 });
    const conn = await rawConnection(s.port);
    conn.socket.write(postHead(newDropId(), 'Content-Length: 100\r\n') + 'z'.repeat(10));
    await conn.closed;
  });
});

describe('bounds', () => {
  it('refuses connections beyond the bound and serves again when one closes', async () => {
    const s = await server({ maxConnections: 3 });
    const held = await Promise.all([1, 2, 3].map(() => rawConnection(s.port)));
    await expect.poll(async () => (await rawConnection(s.port).then((c) => c.closed.then(() => 'closed')))).toBe('closed');
    held[0]!.socket.destroy();
    await held[0]!.closed;
    await expect.poll(async () => (await fetch(`${s.url}/${newDropId()}`).catch(() => null))?.status).toBe(204);
  });

  it('refuses WebSocket subscribers beyond the bound with 503', async () => {
    const s = await server({ maxSubscribers: 2 });
    const url = `${s.url}/${newDropId()}`;
    const subs = await Promise.all([subscribe(url), subscribe(url)]);
    cleanups.push(() => Promise.all(subs.map((sub) => sub.close())));
    await expect(subscribe(url)).rejects.toThrow('503');
    await subs[0]!.close();
    await expect.poll(async () => (await subscribe(url).then((sub) => sub.close().then(() => 'ok')).catch(() => 'refused'))).toBe('ok');
  });
});
