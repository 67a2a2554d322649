import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_ENTRY_URL, createAppProtocolHandler, resolveAssetPath } from '../../electron/main/appProtocol.js';
import { APP_CSP } from '../../electron/main/contentSecurityPolicy.js';

let root: string;
let outside: string;
let handler: (request: Request) => Promise<Response>;

beforeAll(async () => {
  const base = await mkdtemp(path.join(os.tmpdir(), 'deaddrop-scheme-'));
  root = path.join(base, 'dist-renderer');
  outside = path.join(base, 'secret.txt');
  await mkdir(path.join(root, 'assets'), { recursive: true });
  await writeFile(path.join(root, 'index.html'), '<!doctype html><title>ui</title>');
  await writeFile(path.join(root, 'assets', 'app.js'), 'console.log(1)');
  await writeFile(path.join(root, 'assets', 'data.bin'), '<script>alert(1)</script>');
  await writeFile(outside, 'do not serve');
  handler = createAppProtocolHandler(root, (file) => readFile(file));
});
afterAll(async () => rm(path.dirname(root), { recursive: true, force: true }));

describe('app scheme handler', () => {
  it('serves index.html for the entry URL and the bare origin, with the CSP header', async () => {
    for (const url of [APP_ENTRY_URL, 'deaddrop://app/']) {
      const response = await handler(new Request(url));
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(response.headers.get('content-security-policy')).toBe(APP_CSP);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(await response.text()).toContain('<title>ui</title>');
    }
  });
  it('serves assets with their content type', async () => {
    const response = await handler(new Request('deaddrop://app/assets/app.js'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/javascript/);
  });
  it('serves unknown types as opaque bytes the browser may not sniff, and a folder as not found', async () => {
    const response = await handler(new Request('deaddrop://app/assets/data.bin'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('content-security-policy')).toBe(APP_CSP);
    expect((await handler(new Request('deaddrop://app/assets/'))).status).toBe(404);
    expect((await handler(new Request('deaddrop://app:8080/index.html'))).status).toBe(404);
  });
  it('refuses path traversal in every spelling', async () => {
    const attempts = [
      'deaddrop://app/../secret.txt',
      'deaddrop://app/assets/../../secret.txt',
      'deaddrop://app/%2e%2e/secret.txt',
      'deaddrop://app/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
      'deaddrop://app/..%5csecret.txt',
      'deaddrop://app/%00index.html',
      'deaddrop://app/%E0%A4%A',
      `deaddrop://app/${encodeURIComponent(outside)}`,
      `deaddrop://app/${outside}`,
    ];
    for (const url of attempts) {
      const response = await handler(new Request(url));
      expect(response.status, url).toBe(404);
      expect(await response.text()).not.toContain('do not serve');
    }
  });
  it('answers 404 for other hosts, missing files and 405 for writes', async () => {
    expect((await handler(new Request('deaddrop://evil/index.html'))).status).toBe(404);
    expect((await handler(new Request('deaddrop://app/missing.js'))).status).toBe(404);
    expect((await handler(new Request('deaddrop://app/index.html', { method: 'POST', body: 'x' }))).status).toBe(405);
  });
  it('resolves only inside the root', () => {
    expect(resolveAssetPath(root, 'deaddrop://app/assets/app.js')).toBe(path.join(root, 'assets', 'app.js'));
    expect(resolveAssetPath(root, 'https://app/index.html')).toBeNull();
    expect(resolveAssetPath(root, 'not a url')).toBeNull();
  });
});

describe('content security policy', () => {
  it('allows no inline or remote script, no eval, no framing and no plugins', () => {
    const directives = new Map(APP_CSP.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
    expect(directives.get('default-src')).toEqual(["'none'"]);
    expect(directives.get('script-src')).toEqual(["'self'"]);
    expect(directives.get('object-src')).toEqual(["'none'"]);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(directives.get('connect-src')).toEqual(["'self'"]);
    // Script may only come from our files: no workers built from blobs, no base or form tricks.
    expect(directives.get('worker-src')).toEqual(["'self'"]);
    expect(directives.get('base-uri')).toEqual(["'none'"]);
    expect(directives.get('form-action')).toEqual(["'none'"]);
    expect(APP_CSP).not.toMatch(/unsafe-eval|unsafe-inline|https?:|\*/);
  });
});
