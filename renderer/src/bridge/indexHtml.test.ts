/**
 * renderer/index.html as Chromium reads it: every source in its Content-Security-Policy is one the
 * CSP grammar allows (an invalid one is logged as an error on every load), the page may connect to
 * each engine host selectBridge accepts, and the favicon is inline (no request, no 404).
 */
import { describe, expect, it } from 'vitest';
import { LOOPBACK_WEBSOCKET_HOSTS, isLoopbackWebSocketUrl } from './selectBridge.js';

async function indexHtml(): Promise<Document> {
  const response = await fetch('/renderer/index.html');
  expect(response.ok).toBe(true);
  return new DOMParser().parseFromString(await response.text(), 'text/html');
}

/** CSP Level 3 source-expression: keywords, schemes, and host-sources (no IPv6 literal among them). */
const KEYWORD = /^'(self|none|unsafe-inline|unsafe-eval|strict-dynamic|unsafe-hashes|wasm-unsafe-eval|report-sample)'$/;
const SCHEME = /^[a-z][a-z0-9+.-]*:$/i;
const HOST_SOURCE = /^(?:[a-z][a-z0-9+.-]*:\/\/)?(?:\*|(?:\*\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*)(?::(?:\d+|\*))?(?:\/[^\s;,]*)?$/i;

function policy(doc: Document): Map<string, string[]> {
  const content = doc.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? '';
  const directives = new Map<string, string[]>();
  for (const directive of content.split(';')) {
    const [name, ...sources] = directive.trim().split(/\s+/);
    if (name) directives.set(name, sources);
  }
  return directives;
}

describe('renderer/index.html', () => {
  it('has only valid CSP sources', async () => {
    const directives = policy(await indexHtml());
    expect(directives.get('connect-src')).toBeDefined();
    for (const [name, sources] of directives) {
      for (const source of sources) {
        expect(KEYWORD.test(source) || SCHEME.test(source) || HOST_SOURCE.test(source), `${name} ${source}`).toBe(true);
      }
    }
    expect(HOST_SOURCE.test('ws://[::1]:*')).toBe(false);
  });

  it('lets the page connect to every engine host selectBridge accepts, and selectBridge accepts no other', async () => {
    const connect = policy(await indexHtml()).get('connect-src') ?? [];
    for (const host of LOOPBACK_WEBSOCKET_HOSTS) {
      expect(connect).toContain(`ws://${host}:*`);
      expect(isLoopbackWebSocketUrl(`ws://${host}:4810/ws`)).toBe(true);
    }
    expect(isLoopbackWebSocketUrl('ws://[::1]:4810/ws')).toBe(false);
    expect(isLoopbackWebSocketUrl('ws://evil.example:4810/ws')).toBe(false);
  });

  it('has an inline favicon that decodes as an image', async () => {
    const href = (await indexHtml()).querySelector('link[rel="icon"]')?.getAttribute('href') ?? '';
    expect(href.startsWith('data:image/')).toBe(true);
    const image = new Image();
    image.src = href;
    await image.decode();
    expect(image.naturalWidth).toBeGreaterThan(0);
  });
});
