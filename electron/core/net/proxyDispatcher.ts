/**
 * The HTTP dispatcher for all drop traffic: direct, through an HTTP proxy (CONNECT tunnel), or through
 * a SOCKS5 proxy such as Tor (host names are resolved by the proxy, so no DNS query leaks).
 */
import { connect as tlsConnect } from 'node:tls';
import { Agent, type Dispatcher, ProxyAgent, buildConnector } from 'undici';
import type { EngineSettings } from '../../../shared/ipc/contract.js';
import { ApiFailure } from '../../../shared/ipc/result.js';
import { type DestinationGuard, httpOrigin } from './destinationGuard.js';
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

/**
 * Direct connections under the destination guard: literal hosts are judged before connecting, names
 * after DNS by the lookup the socket itself uses, so the address checked is the address connected to.
 */
function guardedConnector(guard: DestinationGuard): buildConnector.connector {
  const open = buildConnector({ timeout: CONNECT_TIMEOUT_MS });
  const publicOnly = buildConnector({ timeout: CONNECT_TIMEOUT_MS, lookup: guard.publicOnlyLookup });
  return (options, callback) => {
    try {
      const origin = httpOrigin(new URL(`${options.protocol}//${options.host}`));
      guard.checkHost(origin, options.hostname);
      return (guard.restricted(origin) ? publicOnly : open)(options, callback);
    } catch (err) {
      return callback(err as Error, null);
    }
  };
}

export interface DispatcherLimits {
  /** Open connections per origin (undici keeps at most this many sockets to one server). */
  connectionsPerOrigin: number;
}

/** Builds the dispatcher for a proxy setting. @throws ApiFailure 'bad_input' for a malformed proxy URL */
export function createDispatcher(proxy: ProxySetting, guard: DestinationGuard, limits: DispatcherLimits): Dispatcher {
  validateProxy(proxy);
  const connections = limits.connectionsPerOrigin;
  switch (proxy.kind) {
    case 'none':
      return new Agent({ connect: guardedConnector(guard), connections });
    case 'http':
      return new ProxyAgent({ uri: proxy.url, proxyTunnel: true, connections });
    case 'socks5':
      return new Agent({ connect: socksConnector(parseProxyUrl(proxy.url, ['socks5:', 'socks5h:', 'socks:'])), connections });
  }
}
