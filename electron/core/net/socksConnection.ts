/** One SOCKS5 CONNECT through a proxy URL; the proxy resolves host names, so no DNS query leaks. */
import type { Socket } from 'node:net';
import { SocksClient } from 'socks';

/** Opens a TCP connection to `host:port` through the SOCKS5 proxy at `proxy` (credentials from its URL). */
export async function openSocksConnection(proxy: URL, host: string, port: number, timeoutMs: number): Promise<Socket> {
  const { socket } = await SocksClient.createConnection({
    proxy: {
      host: proxy.hostname.replace(/^\[|\]$/g, ''),
      port: Number(proxy.port),
      type: 5,
      userId: proxy.username ? decodeURIComponent(proxy.username) : undefined,
      password: proxy.password ? decodeURIComponent(proxy.password) : undefined,
    },
    command: 'connect',
    destination: { host: host.replace(/^\[|\]$/g, ''), port },
    timeout: timeoutMs,
  });
  return socket;
}
