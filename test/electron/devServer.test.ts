import { describe, expect, it } from 'vitest';
import { devServerUrlFrom } from '../../electron/main/devServer.js';

describe('dev server URL', () => {
  it('is honoured unpackaged on loopback http(s)', () => {
    expect(devServerUrlFrom('http://localhost:5173/', false)).toBe('http://localhost:5173/');
    expect(devServerUrlFrom('http://127.0.0.1:5173', false)).toBe('http://127.0.0.1:5173/');
    expect(devServerUrlFrom('https://[::1]:5173/', false)).toBe('https://[::1]:5173/');
  });
  it('is ignored in a packaged app, off loopback, with credentials, other schemes or malformed', () => {
    expect(devServerUrlFrom('http://localhost:5173/', true)).toBeNull();
    for (const raw of [undefined, '', 'http://evil.example:5173/', 'http://localhost.evil.example/', 'http://192.168.1.2:5173/',
      'http://user:pw@localhost:5173/', 'file:///tmp/index.html', 'javascript:alert(1)', 'not a url', 'http://127.0.0.2/']) {
      expect(devServerUrlFrom(raw, false), String(raw)).toBeNull();
    }
  });
});
