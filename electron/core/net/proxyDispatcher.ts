/**
 * The HTTP dispatcher for all drop traffic: direct, through an HTTP proxy (CONNECT tunnel), or through
 * a SOCKS5 proxy such as Tor (host names are resolved by the proxy, so no DNS query leaks).
 */
import { connect as tlsConnect } from 'node:tls';
import { Agent, type Dispatcher, ProxyAgent, type buildConnector } from 'undici';
import type { EngineSettings } from '../../../shared/ipc/contract.js';
import { ApiFailure } from '../../../shared/ipc/result.js';
import { openSocksConnection } from './socksConnection.js';

export type ProxySetting = EngineSettings['proxy'];

const CONNECT_TIMEOUT_MS = 15_000;

function parseProxyUrl(raw: string, schemes: string[]): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ApiFailure('bad_input', 'The proxy address is not a valid URL.');
  }
  if (!schemes.includes(url.protocol)) {
    throw new ApiFailure('bad_input', `The proxy address must start with ${schemes.map((s) => `${s}//`).join(' or ')}.`);
  }
  if (!url.hostname || !url.port) throw new ApiFailure('bad_input', 'The proxy address needs a host and a port.');
  return url;
}

/** Checks a proxy setting without building anything. @throws ApiFailure 'bad_input' */
export function validateProxy(proxy: ProxySetting): void {
  if (proxy.kind === 'http') parseProxyUrl(proxy.url, ['http:', 'https:']);
  if (proxy.kind === 'socks5') parseProxyUrl(proxy.url, ['socks5:', 'socks5h:', 'socks:']);
}

function socksConnector(proxy: URL): buildConnector.connector {
  return (options, callback) => {
    const secure = options.protocol === 'https:';
    openSocksConnection(proxy, options.hostname, Number(options.port) || (secure ? 443 : 80), CONNECT_TIMEOUT_MS).then(
      (socket) => {
        if (!secure) return callback(null, socket);
        const tls = tlsConnect({ socket, servername: options.servername ?? options.hostname });
        tls.once('secureConnect', () => callback(null, tls));
        tls.once('error', (err) => callback(err, null));
      },
      (err: Error) => callback(err, null),
    );
  };
}

/** Builds the dispatcher for a proxy setting. @throws ApiFailure 'bad_input' for a malformed proxy URL */
export function createDispatcher(proxy: ProxySetting): Dispatcher {
  validateProxy(proxy);
  switch (proxy.kind) {
    case 'none':
      return new Agent({ connect: { timeout: CONNECT_TIMEOUT_MS } });
    case 'http':
      return new ProxyAgent({ uri: proxy.url, proxyTunnel: true });
    case 'socks5':
      return new Agent({ connect: socksConnector(parseProxyUrl(proxy.url, ['socks5:', 'socks5h:', 'socks:'])) });
  }
}
