/**
 * Which client a connection or request belongs to, for the per-client limits. One host easily has
 * a whole IPv6 /64, so IPv6 clients are counted by their /64; IPv4-mapped addresses as IPv4. Behind
 * a trusted reverse proxy the client is the last address the proxy appended to `X-Forwarded-For`.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** Expands an IPv6 address to its eight groups (without a zone). */
function ipv6Groups(address: string): string[] {
  const [head = '', tail] = address.split('%')[0]!.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const last = right.length > 0 ? right : left;
  // A trailing dotted IPv4 part stands for two groups.
  const dotted = last[last.length - 1];
  if (dotted?.includes('.')) {
    const [a, b, c, d] = dotted.split('.').map(Number) as [number, number, number, number];
    last.splice(last.length - 1, 1, ((a << 8) | b).toString(16), ((c << 8) | d).toString(16));
  }
  const missing = tail === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...Array<string>(missing).fill('0'), ...right].map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''));
}

/** The key the per-client limits count under; the raw text for anything that is not an IP address. */
export function clientKey(address: string | undefined): string {
  if (!address) return 'unknown';
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return address;
  const groups = ipv6Groups(address);
  if (groups.slice(0, 5).every((g) => g === '0') && groups[5] === 'ffff') {
    const [hi, lo] = [parseInt(groups[6]!, 16), parseInt(groups[7]!, 16)];
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return `${groups.slice(0, 4).join(':')}::/64`;
}

/**
 * The client behind a request: the peer itself, or, when the peer is a trusted proxy, the address
 * that proxy put last into `X-Forwarded-For` (earlier entries are the client's own word and can be
 * forged). Falls back to the peer when the header is missing or not an address.
 */
export function requestClient(peer: string | undefined, forwardedFor: string | string[] | undefined, trustedProxies: ReadonlySet<string>): string {
  const peerKey = clientKey(peer);
  if (!trustedProxies.has(peerKey) || forwardedFor === undefined) return peerKey;
  const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor;
  const last = header.split(',').pop()?.trim() ?? '';
  return isIPv4(last) || isIPv6(last) ? clientKey(last) : peerKey;
}
