/** Minimal local proxies for tests: an HTTP CONNECT proxy and a SOCKS5 (no auth, CONNECT) proxy. */
import { createServer as createHttpServer } from 'node:http';
import { type Server, type Socket, connect, createServer } from 'node:net';

export interface TestProxy {
  url: string;
  /** host:port of every tunnel opened through the proxy. */
  targets: string[];
  close(): Promise<void>;
}

function tunnel(client: Socket, host: string, port: number, onOpen: (upstream: Socket) => void): void {
  const upstream = connect(port, host, () => {
    onOpen(upstream);
    upstream.pipe(client);
    client.pipe(upstream);
  });
  upstream.on('error', () => client.destroy());
  client.on('error', () => upstream.destroy());
}

async function listen(server: Server, scheme: string, targets: string[], sockets: Set<Socket>): Promise<TestProxy> {
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `${scheme}://127.0.0.1:${address.port}`,
    targets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export function startHttpProxy(): Promise<TestProxy> {
  const targets: string[] = [];
  const server = createHttpServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req, client: Socket) => {
    const [host, port] = (req.url ?? '').split(':');
    targets.push(req.url ?? '');
    tunnel(client, host!, Number(port), () => client.write('HTTP/1.1 200 Connection Established\r\n\r\n'));
  });
  return listen(server, 'http', targets, new Set());
}

export function startSocksProxy(): Promise<TestProxy> {
  const targets: string[] = [];
  const server = createServer((client) => {
    let buffer = Buffer.alloc(0);
    let stage: 'greeting' | 'request' | 'done' = 'greeting';
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (stage === 'greeting' && buffer.length >= 2 && buffer.length >= 2 + buffer[1]!) {
        if (buffer[0] !== 5) return client.destroy();
        buffer = buffer.subarray(2 + buffer[1]!);
        stage = 'request';
        client.write(Buffer.from([5, 0]));
      }
      if (stage !== 'request' || buffer.length < 5) return;
      const type = buffer[3];
      const addressLength = type === 1 ? 4 : type === 4 ? 16 : 1 + buffer[4]!;
      if (buffer.length < 4 + addressLength + 2) return;
      const address = buffer.subarray(4, 4 + addressLength);
      const host = type === 1 ? [...address].join('.') : type === 3 ? address.subarray(1).toString() : '::1';
      const port = buffer.readUInt16BE(4 + addressLength);
      stage = 'done';
      client.off('data', onData);
      targets.push(`${host}:${port}`);
      tunnel(client, host, port, () => client.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0])));
    };
    client.on('data', onData);
  });
  return listen(server, 'socks5', targets, new Set());
}
