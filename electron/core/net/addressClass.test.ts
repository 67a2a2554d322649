import { BlockList } from 'node:net';
import { describe, expect, it } from 'vitest';
import { type AddressClass, classifyAddress, classifyHost, normaliseHost } from './addressClass.js';

/** Host spellings as they may appear in a drop URL, and what they are. */
const HOSTS: [host: string, expected: AddressClass | null][] = [
  // Loopback in every spelling the URL parser accepts.
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['127.1', 'loopback'],
  ['2130706433', 'loopback'],
  ['0x7f.1', 'loopback'],
  ['0x7f000001', 'loopback'],
  ['0177.0.0.1', 'loopback'],
  ['017700000001', 'loopback'],
  ['127.0.0.1.', 'loopback'],
  ['localhost', 'loopback'],
  ['LOCALHOST', 'loopback'],
  ['localhost.', 'loopback'],
  ['admin.localhost', 'loopback'],
  ['[::1]', 'loopback'],
  ['::1', 'loopback'],
  ['[0:0:0:0:0:0:0:1]', 'loopback'],
  ['[::ffff:127.0.0.1]', 'loopback'],
  ['[::ffff:7f00:1]', 'loopback'],
  ['[::127.0.0.1]', 'loopback'],
  ['[64:ff9b::7f00:1]', 'loopback'],
  ['[2002:7f00:1::]', 'loopback'],
  // Unspecified.
  ['0.0.0.0', 'unspecified'],
  ['0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['[::]', 'unspecified'],
  ['[::ffff:0.0.0.0]', 'unspecified'],
  // Private networks.
  ['10.0.0.1', 'private'],
  ['10.255.255.255', 'private'],
  ['012.1', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.1.1', 'private'],
  ['0xc0a80101', 'private'],
  ['[::ffff:192.168.1.1]', 'private'],
  ['[::ffff:c0a8:101]', 'private'],
  ['[fc00::1]', 'private'],
  ['[fd12:3456:789a::1]', 'private'],
  ['[fec0::1]', 'private'],
  ['[64:ff9b:1::1]', 'private'],
  // Link-local.
  ['169.254.169.254', 'link-local'],
  ['169.254.0.1', 'link-local'],
  ['[fe80::1]', 'link-local'],
  ['[febf::1]', 'link-local'],
  ['[::ffff:169.254.169.254]', 'link-local'],
  // Carrier-grade NAT.
  ['100.64.0.1', 'shared'],
  ['100.127.255.255', 'shared'],
  // Multicast and reserved.
  ['224.0.0.1', 'multicast'],
  ['[ff02::1]', 'multicast'],
  ['255.255.255.255', 'reserved'],
  ['240.0.0.1', 'reserved'],
  ['192.0.2.1', 'reserved'],
  ['198.18.0.1', 'reserved'],
  ['[2001:db8::1]', 'reserved'],
  ['[100::1]', 'reserved'],
  ['[4000::1]', 'reserved'],
  // Public: just outside the special ranges, and ordinary addresses.
  ['8.8.8.8', 'public'],
  ['1.1.1.1', 'public'],
  ['9.255.255.255', 'public'],
  ['11.0.0.0', 'public'],
  ['100.63.255.255', 'public'],
  ['100.128.0.0', 'public'],
  ['126.255.255.255', 'public'],
  ['128.0.0.0', 'public'],
  ['169.253.255.255', 'public'],
  ['172.15.255.255', 'public'],
  ['172.32.0.0', 'public'],
  ['192.167.255.255', 'public'],
  ['192.169.0.0', 'public'],
  ['223.255.255.255', 'public'],
  ['[2001:4860:4860::8888]', 'public'],
  ['[2606:4700::1111]', 'public'],
  ['[::ffff:8.8.8.8]', 'public'],
  ['[2002:808:808::]', 'public'],
  ['[fe7f::1]', 'reserved'],
  // Names: decided after DNS.
  ['example.org', null],
  ['localhost.example.org', null],
  ['127.0.0.1.nip.io', null],
];

describe('classifyHost', () => {
  it.each(HOSTS)('%s is %s', (host, expected) => {
    expect(classifyHost(host)).toBe(expected);
  });

  it('treats a host the URL parser rejects as not contactable', () => {
    expect(classifyHost('[fe80::1%25eth0]')).toBe('reserved');
    expect(classifyHost('a b')).toBe('reserved');
  });
});

describe('classifyAddress', () => {
  it('reads resolver answers (canonical forms, zone indexes) and nothing else', () => {
    expect(classifyAddress('fe80::1%eth0')).toBe('link-local');
    expect(classifyAddress('::ffff:10.1.2.3')).toBe('private');
    expect(classifyAddress('2a00:1450:4001:82b::200e')).toBe('public');
    for (const notAnAddress of ['example.org', '1.2.3', '1.2.3.4.5', '01.2.3.4', '256.1.1.1', ':::', '1::2::3', '1:2:3:4:5:6:7:8:9', 'g::1', '']) {
      expect(classifyAddress(notAnAddress)).toBeNull();
    }
  });

  it('agrees with node:net BlockList on every IPv4 range, IPv4-mapped included', () => {
    const nonPublic = new BlockList();
    for (const [net, bits] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24],
      ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4]] as const) {
      nonPublic.addSubnet(net, bits, 'ipv4');
    }
    for (let i = 0; i < 20_000; i++) {
      const address = Array.from({ length: 4 }, () => Math.floor(Math.random() * 256)).join('.');
      const expected = nonPublic.check(address, 'ipv4');
      expect(classifyAddress(address) !== 'public', address).toBe(expected);
      expect(classifyAddress(`::ffff:${address}`) !== 'public', address).toBe(expected);
    }
  });
});

describe('normaliseHost', () => {
  it('uses the WHATWG URL spelling', () => {
    expect(normaliseHost('0x7f.1')).toBe('127.0.0.1');
    expect(normaliseHost('[::ffff:127.0.0.1]')).toBe('::ffff:7f00:1');
    expect(normaliseHost('::1')).toBe('::1');
    expect(normaliseHost('Example.ORG')).toBe('example.org');
  });
});
