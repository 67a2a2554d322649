/**
 * Node http(s) agents that open every connection through the configured proxy, for the one client
 * that does not use undici: the WebSocket push socket. HTTP proxies get a CONNECT tunnel, SOCKS5
 * proxies a CONNECT with the host name resolved by the proxy. TLS, when needed, runs inside the tunnel.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { openSocksConnection } from './socksConnection.js';
import type { ProxySetting } from './proxyDispatcher.js';

type Callback = (err: Error | null, socket?: Socket) => void;
interface Target {
  host?: string | null;
  hostname?: string | null;
  port?: number | string | null;
  servername?: string;
}

const TUNNEL_TIMEOUT_MS = 15_000;

function openSocksTunnel(proxy: URL, host: string, port: number): Promise<Socket> {
  return openSocksConnection(proxy, host, port, TUNNEL_TIMEOUT_MS);
}

function openHttpTunnel(proxy: URL, host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const request = (proxy.protocol === 'https:' ? httpsRequest : httpRequest)({
      host: proxy.hostname.replace(/^\[|\]$/g, ''),
      port: Number(proxy.port),
      method: 'CONNECT',
      path: `${host.includes(':') ? `[${host}]` : host}:${port}`,
      headers: proxy.username
        ? { 'proxy-authorization': `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}` }
        : {},
      timeout: TUNNEL_TIMEOUT_MS,
    });
    request.once('connect', (response, socket) => {
      if (response.statusCode === 200) resolve(socket);
      else {
        socket.destroy();
        reject(new Error(`The proxy refused the tunnel (HTTP ${response.statusCode}).`));
      }
    });
    request.once('timeout', () => request.destroy(new Error('The proxy did not answer in time.')));
    request.once('error', reject);
    request.end();
  });
}

function tunnelledConnection(proxy: ProxySetting & { kind: 'http' | 'socks5' }, secure: boolean) {
  const proxyUrl = new URL(proxy.url);
  return (options: Target, callback: Callback): undefined => {
    const host = (options.hostname ?? options.host ?? 'localhost').replace(/^\[|\]$/g, '');
    const port = Number(options.port) || (secure ? 443 : 80);
    const open = proxy.kind === 'socks5' ? openSocksTunnel(proxyUrl, host, port) : openHttpTunnel(proxyUrl, host, port);
    open.then(
      (socket) => {
        if (!secure) return callback(null, socket);
        const tls = tlsConnect({ socket, servername: options.servername ?? host });
        tls.once('secureConnect', () => callback(null, tls));
        tls.once('error', (err) => callback(err));
      },
      (err: Error) => callback(err),
    );
    return undefined;
  };
}

/** An agent for `ws`/`wss` URLs through `proxy`; undefined when there is no proxy (direct). */
export function createTunnelAgent(proxy: ProxySetting, secure: boolean): HttpAgent | undefined {
  if (proxy.kind === 'none') return undefined;
  const agent = secure ? new HttpsAgent({ keepAlive: false }) : new HttpAgent({ keepAlive: false });
  // Node's agents accept an asynchronous createConnection that reports through its callback.
  (agent as unknown as { createConnection: unknown }).createConnection = tunnelledConnection(proxy, secure);
  return agent;
}
