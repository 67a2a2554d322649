/**
 * A SOCKS5 proxy for the budget tests that asks for a username and password (RFC 1929), as Tor
 * accepts any and isolates circuits by them: it records the credentials and target of every
 * connection, so a test can see whether each request came with credentials of its own.
 */
import { type Socket, connect, createServer } from 'node:net';

export interface SocksConnection {
  username: string;
  password: string;
  target: string;
}

export interface SocksAuthProxy {
  url: string;
  connections: SocksConnection[];
  close(): Promise<void>;
}

export async function startSocksAuthProxy(): Promise<SocksAuthProxy> {
  const connections: SocksConnection[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    let buffer = Buffer.alloc(0);
    let stage: 'greeting' | 'auth' | 'request' | 'done' = 'greeting';
    const credentials = { username: '', password: '' };
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (stage === 'greeting') {
        if (buffer.length < 2 || buffer.length < 2 + buffer[1]!) return;
        const methods = [...buffer.subarray(2, 2 + buffer[1]!)];
        buffer = buffer.subarray(2 + buffer[1]!);
        // Username and password when offered (what Tor isolates by), else no authentication.
        stage = methods.includes(2) ? 'auth' : 'request';
        client.write(Buffer.from([5, methods.includes(2) ? 2 : 0]));
      }
      if (stage === 'auth') {
        if (buffer.length < 2) return;
        const userLength = buffer[1]!;
        if (buffer.length < 3 + userLength || buffer.length < 3 + userLength + buffer[2 + userLength]!) return;
        const passwordLength = buffer[2 + userLength]!;
        credentials.username = buffer.subarray(2, 2 + userLength).toString();
        credentials.password = buffer.subarray(3 + userLength, 3 + userLength + passwordLength).toString();
        buffer = buffer.subarray(3 + userLength + passwordLength);
        stage = 'request';
        client.write(Buffer.from([1, 0]));
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
      connections.push({ ...credentials, target: `${host}:${port}` });
      const upstream = connect(port, host, () => {
        client.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
        upstream.pipe(client);
        client.pipe(upstream);
      });
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    };
    client.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `socks5://127.0.0.1:${port}`,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
