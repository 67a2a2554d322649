/**
 * Keeps drop traffic away from the user's own computer and local network unless the user agreed.
 * A drop URL whose host is loopback, private, link-local, CGNAT, unspecified or otherwise not public
 * (checked on the literal in every spelling, and for names on every address DNS returns, at connect
 * time, so a name that rebinds to 127.0.0.1 after a first check gets nowhere) is refused unless:
 * - the user turned on `allowLocalNetwork` (the host application may force it, e.g. test hosts), or
 * - its origin is trusted: the origin of one of the user's own drops (a server they chose for
 *   themselves), or one the host application declares (the desktop app's own local drop server, the
 *   contact files named on the CLI's command line).
 * With a proxy, names are resolved by the proxy, so only literals and `localhost` can be judged here.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { type AddressClass, classifyAddress, classifyHost } from './addressClass.js';

export interface DestinationRules {
  allowLocalNetwork(): boolean;
  /** Origins (`scheme://host[:port]`, as `URL.origin` spells them) the user chose for themselves. */
  trustedOrigins(): ReadonlySet<string>;
}

/** A connection the guard refused; never retried. */
export class DestinationRefusedError extends Error {
  readonly code = 'EDROPREFUSED';
  constructor(host: string, kind: AddressClass) {
    super(
      `Refused to contact ${host}: it is ${DESCRIPTION[kind]}. A drop server there is used only when it holds one of your own drops, or after you allow drop servers on the local network in the settings.`,
    );
    this.name = 'DestinationRefusedError';
  }
}

const DESCRIPTION: Record<AddressClass, string> = {
  public: 'a public address',
  unspecified: 'an unspecified address',
  loopback: 'this computer (a loopback address)',
  private: 'a private network address',
  'link-local': 'a link-local address',
  shared: 'a carrier-grade NAT address',
  multicast: 'a multicast address',
  reserved: 'a reserved address',
};

/** The first refusal among `err` and its causes (undici wraps connection errors). */
export function refusalOf(err: unknown): DestinationRefusedError | null {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof DestinationRefusedError) return e;
  }
  return null;
}

export type Resolve = (hostname: string, callback: (err: Error | null, addresses: LookupAddress[]) => void) => void;

const resolveAll: Resolve = (hostname, callback) => dnsLookup(hostname, { all: true }, callback);

export class DestinationGuard {
  /** Passed as `lookup` to connections that must reach public addresses only. */
  readonly publicOnlyLookup: LookupFunction;

  constructor(
    private readonly rules: DestinationRules,
    resolve: Resolve = resolveAll,
  ) {
    this.publicOnlyLookup = ((hostname: string, options: { all?: boolean; family?: number | string }, callback: (...args: unknown[]) => void) => {
      const family = options.family === 4 || options.family === 'IPv4' ? 4 : options.family === 6 || options.family === 'IPv6' ? 6 : 0;
      resolve(hostname, (err, addresses) => {
        if (err) return callback(err);
        const usable = addresses.filter((a) => classifyAddress(a.address) === 'public' && (family === 0 || a.family === family));
        if (usable.length === 0) {
          const kind = classifyAddress(addresses[0]?.address ?? '') ?? 'reserved';
          return callback(new DestinationRefusedError(hostname, kind));
        }
        if (options.all) callback(null, usable);
        else callback(null, usable[0]!.address, usable[0]!.family);
      });
    }) as LookupFunction;
  }

  /** Whether connections to `origin` must reach public addresses only. */
  restricted(origin: string): boolean {
    return !this.rules.allowLocalNetwork() && !this.rules.trustedOrigins().has(origin);
  }

  /**
   * Checks what can be judged before connecting: a literal or `localhost` host of a restricted
   * origin that is not public. @throws DestinationRefusedError
   */
  checkHost(origin: string, host: string): void {
    const kind = classifyHost(host);
    if (kind !== null && kind !== 'public' && this.restricted(origin)) throw new DestinationRefusedError(host, kind);
  }

  /** `checkHost` for a whole URL. @throws DestinationRefusedError, TypeError for an unparsable URL */
  checkUrl(url: string): void {
    const parsed = new URL(url);
    this.checkHost(httpOrigin(parsed), parsed.hostname);
  }
}

/** The http(s) origin of a URL; `ws:`/`wss:` count as their http twins (the push socket of a drop). */
export function httpOrigin(url: URL): string {
  const protocol = url.protocol === 'ws:' ? 'http:' : url.protocol === 'wss:' ? 'https:' : url.protocol;
  const defaultPort = protocol === 'https:' ? '443' : '80';
  return `${protocol}//${url.hostname}${url.port && url.port !== defaultPort ? `:${url.port}` : ''}`;
}

/** The origins of `urls` (skipping any that do not parse). */
export function originsOf(urls: Iterable<string>): Set<string> {
  const origins = new Set<string>();
  for (const url of urls) {
    try {
      origins.add(httpOrigin(new URL(url)));
    } catch {
      // not a URL: nothing to trust
    }
  }
  return origins;
}
