/**
 * What a network observer sees of the budget's traffic: a TCP proxy on 127.0.0.1 in front of a drop
 * server that records every connection's bytes in each direction, exactly as they crossed the wire
 * (TLS would add a constant per record; Tor pads to cells). It peeks at the plain HTTP only to label
 * the record for the test (method, path, `X-Qabel-Cover`, status): the observer's view is `up`/`down`.
 */
import { type Socket, connect, createServer } from 'node:net';

export interface ConnectionRecord {
  /** Whatever the test says is going on when the connection opens (e.g. the slot number). */
  label: number;
  method: string;
  path: string;
  cover: string | null;
  status: number;
  up: number;
  down: number;
}

export interface RecordingProxy {
  url: string;
  records: ConnectionRecord[];
  /** Resolves when every connection opened so far has closed. */
  quiet(): Promise<void>;
  close(): Promise<void>;
}

/** The answer of a server from before the traffic-budget extensions to `GET <base>/.well-known/deaddrop`. */
const NOT_FOUND = 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';

/**
 * @param target `http://127.0.0.1:<port>` of the server
 * @param label called when a connection opens
 * @param options.oldServer answer discovery 404 like a server without the extensions (the requests
 *   themselves still reach the real server, which a client that read no discovery never asks to pad)
 */
export async function startRecordingProxy(target: string, label: () => number = () => 0, options: { oldServer?: boolean } = {}): Promise<RecordingProxy> {
  const { hostname, port } = new URL(target);
  const records: ConnectionRecord[] = [];
  const open = new Set<Promise<void>>();
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const record: ConnectionRecord = { label: label(), method: '', path: '', cover: null, status: 0, up: 0, down: 0 };
    const upstream = connect(Number(port), hostname);
    sockets.add(client).add(upstream);
    let head = '';
    let answer = '';
    client.on('data', (chunk: Buffer) => {
      record.up += chunk.length;
      const first = head.length === 0;
      if (head.length < 4096) head += chunk.toString('latin1');
      if (first && options.oldServer && / \S*\/\.well-known\/deaddrop /.test(head.split('\r\n', 1)[0]!)) {
        upstream.destroy();
        answer = NOT_FOUND;
        record.down += NOT_FOUND.length;
        client.end(NOT_FOUND);
        return;
      }
      if (!upstream.destroyed) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      record.down += chunk.length;
      if (answer.length < 64) answer += chunk.toString('latin1');
      client.write(chunk);
    });
    const done = new Promise<void>((resolve) => {
      let closed = 0;
      const onClose = () => {
        if (++closed < 2) return;
        const [method = '', path = ''] = head.split(' ', 2);
        Object.assign(record, { method, path, cover: /\r\nx-qabel-cover: ?(\S+)/i.exec(head)?.[1] ?? null, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0) });
        records.push(record);
        sockets.delete(client);
        sockets.delete(upstream);
        resolve();
      };
      client.on('close', onClose);
      upstream.on('close', onClose);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    open.add(done);
    void done.finally(() => open.delete(done));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    records,
    async quiet() {
      while (open.size > 0) await Promise.all([...open]);
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
