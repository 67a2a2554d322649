/**
 * Which kind of network an address belongs to, so the engine can refuse to contact a drop server on
 * the user's own computer or local network unless the user agreed. Pure: parsing and tables only.
 * Every spelling of an address counts: host names go through the WHATWG URL parser first (it turns
 * `0x7f.1`, `2130706433`, `0177.0.0.1` and `127.1` into `127.0.0.1`), and IPv6 addresses that carry
 * an IPv4 address (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4
 * `2002::/16`) are judged by that IPv4 address.
 */

export type AddressClass = 'public' | 'unspecified' | 'loopback' | 'private' | 'link-local' | 'shared' | 'multicast' | 'reserved';

type Range = readonly [prefix: readonly number[], bits: number, kind: Exclude<AddressClass, 'public'>];

/** IPv4 special-purpose ranges (IANA registry); everything else is public. */
const IPV4_RANGES: readonly Range[] = [
  [[0], 8, 'unspecified'],
  [[10], 8, 'private'],
  [[100, 64], 10, 'shared'],
  [[127], 8, 'loopback'],
  [[169, 254], 16, 'link-local'],
  [[172, 16], 12, 'private'],
  [[192, 0, 0], 24, 'reserved'],
  [[192, 0, 2], 24, 'reserved'],
  [[192, 88, 99], 24, 'reserved'],
  [[192, 168], 16, 'private'],
  [[198, 18], 15, 'reserved'],
  [[198, 51, 100], 24, 'reserved'],
  [[203, 0, 113], 24, 'reserved'],
  [[224], 4, 'multicast'],
  [[240], 4, 'reserved'],
];

/** IPv6 special-purpose ranges, as bytes; global unicast outside them (2000::/3) is public. */
const IPV6_RANGES: readonly Range[] = [
  [[0x00, 0x64, 0xff, 0x9b, 0x00, 0x01], 48, 'private'],
  [[0x01, 0x00, 0, 0, 0, 0, 0, 0], 64, 'reserved'],
  [[0x20, 0x01, 0x0d, 0xb8], 32, 'reserved'],
  [[0x20, 0x01, 0x00], 23, 'reserved'],
  [[0xfc], 7, 'private'],
  [[0xfe, 0x80], 10, 'link-local'],
  [[0xfe, 0xc0], 10, 'private'],
  [[0xff], 8, 'multicast'],
];

function inRange(bytes: readonly number[], [prefix, bits]: Range): boolean {
  for (let i = 0; i * 8 < bits; i++) {
    const take = Math.min(8, bits - i * 8);
    const mask = (0xff << (8 - take)) & 0xff;
    if (((bytes[i] ?? 0) & mask) !== ((prefix[i] ?? 0) & mask)) return false;
  }
  return true;
}

function parseIpv4(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) return null;
  return parts.map(Number);
}

/** 16 bytes of an IPv6 address in any textual form (zone index ignored), or null. */
function parseIpv6(text: string): number[] | null {
  let address = text.replace(/%.*$/, '');
  if (address.includes('.')) {
    // A trailing dotted quad stands for the last two groups.
    const lastColon = address.lastIndexOf(':');
    const v4 = parseIpv4(address.slice(lastColon + 1));
    if (!v4) return null;
    address = `${address.slice(0, lastColon + 1)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const halves = address.split('::');
  if (halves.length > 2) return null;
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const front = groups(halves[0]!);
  const back = halves.length === 2 ? groups(halves[1]!) : [];
  if (![...front, ...back].every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return null;
  const missing = 8 - front.length - back.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...front, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...back];
  return all.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]);
}

function classifyIpv4(bytes: readonly number[]): AddressClass {
  return IPV4_RANGES.find((range) => inRange(bytes, range))?.[2] ?? 'public';
}

function classifyIpv6(bytes: readonly number[]): AddressClass {
  const zeros = (from: number, to: number) => bytes.slice(from, to).every((b) => b === 0);
  if (zeros(0, 16)) return 'unspecified';
  if (zeros(0, 15) && bytes[15] === 1) return 'loopback';
  // IPv4-mapped (::ffff:0:0/96) and the deprecated IPv4-compatible form (::/96).
  if (zeros(0, 10) && ((bytes[10] === 0xff && bytes[11] === 0xff) || zeros(10, 12))) return classifyIpv4(bytes.slice(12));
  // NAT64 well-known prefix 64:ff9b::/96 and 6to4 2002::/16 reach the IPv4 address they carry.
  if (inRange(bytes, [[0x00, 0x64, 0xff, 0x9b], 32, 'reserved']) && zeros(4, 12)) return classifyIpv4(bytes.slice(12));
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return classifyIpv4(bytes.slice(2, 6));
  const special = IPV6_RANGES.find((range) => inRange(bytes, range));
  if (special) return special[2];
  return (bytes[0]! & 0xe0) === 0x20 ? 'public' : 'reserved';
}

/** The class of an IP address in canonical or any other textual form; null when it is no IP address. */
export function classifyAddress(address: string): AddressClass | null {
  const text = address.replace(/^\[|\]$/g, '');
  const v4 = parseIpv4(text);
  if (v4) return classifyIpv4(v4);
  const v6 = text.includes(':') ? parseIpv6(text) : null;
  return v6 ? classifyIpv6(v6) : null;
}

/** A host as the WHATWG URL parser normalises it (`0x7f.1` becomes `127.0.0.1`); null when unparsable. */
export function normaliseHost(host: string): string | null {
  const bare = host.replace(/^\[|\]$/g, '');
  try {
    return new URL(`http://${bare.includes(':') ? `[${bare}]` : bare}/`).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return null;
  }
}

/**
 * The class of a URL's host before any DNS lookup: IP literals in every spelling, and `localhost`
 * names (RFC 6761: they always mean this computer). Null for other names: their addresses decide.
 */
export function classifyHost(host: string): AddressClass | null {
  const normal = normaliseHost(host);
  if (normal === null) return 'reserved';
  const name = normal.replace(/\.$/, '');
  if (name === 'localhost' || name.endsWith('.localhost')) return 'loopback';
  return classifyAddress(name);
}
