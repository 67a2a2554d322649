import { describe, expect, it } from 'vitest';
import { clientKey, requestClient } from './clientAddress.js';

describe('clientKey', () => {
  it('keeps IPv4, maps IPv4-mapped IPv6 to IPv4 and counts IPv6 by /64', () => {
    expect(clientKey('127.0.0.1')).toBe('127.0.0.1');
    expect(clientKey('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(clientKey('::ffff:7f00:2')).toBe('127.0.0.2');
    expect(clientKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:2::9')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:0db8:0001:0002::1%eth0')).toBe('2001:db8:1:2::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey(undefined)).toBe('unknown');
  });
});

describe('requestClient', () => {
  const proxies = new Set(['10.0.0.5']);
  it('believes X-Forwarded-For only from a trusted proxy, and only its last entry', () => {
    expect(requestClient('10.0.0.5', '203.0.113.9', proxies)).toBe('203.0.113.9');
    expect(requestClient('10.0.0.5', '1.1.1.1, 203.0.113.9', proxies)).toBe('203.0.113.9');
    expect(requestClient('10.0.0.5', ['1.1.1.1', '203.0.113.9'], proxies)).toBe('203.0.113.9');
    expect(requestClient('198.51.100.7', '203.0.113.9', proxies)).toBe('198.51.100.7');
    expect(requestClient('10.0.0.5', 'garbage', proxies)).toBe('10.0.0.5');
    expect(requestClient('10.0.0.5', undefined, proxies)).toBe('10.0.0.5');
  });
});
