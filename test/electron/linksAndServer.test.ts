import { mkdtemp, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiFailure } from '../../shared/ipc/result.js';
import { startDropServer } from '../../server/index.js';
import { createLinkOpener, safeExternalUrl } from '../../electron/main/externalLinks.js';
import { type StartServer, createLocalServerController, lanAddresses, startFailureMessage } from '../../electron/main/localDropServer.js';
import { createCameraGate } from '../../electron/main/cameraGate.js';
import { installPermissionPolicy, type PermissionSession } from '../../electron/main/permissionPolicy.js';
import { appUrlMatcher } from '../../electron/main/navigationGuard.js';

describe('external links', () => {
  it('opens only http and https, in canonical form', async () => {
    const opened: string[] = [];
    const open = createLinkOpener(async (url) => {
      opened.push(url);
    });
    expect(await open({ url: 'https://Example.com/a%20b?q=1' })).toEqual({ opened: true });
    expect(await open({ url: 'HTTP://example.com' })).toEqual({ opened: true });
    expect(opened).toEqual(['https://example.com/a%20b?q=1', 'http://example.com/']);
    const refused = [
      'file:///etc/passwd', 'javascript:alert(1)', 'smb://host/share', 'deaddrop://app/', 'mailto:a@b.c',
      'https://user:pw@example.com/', 'https://exa mple.com/', 'https://a.example/x y', 'not a url', '', ' https://x.example/\nfile:///', 'http://a.example/' + 'x'.repeat(5000),
    ];
    for (const url of refused) {
      await expect(open({ url }), url).rejects.toBeInstanceOf(ApiFailure);
      expect(safeExternalUrl(url), url).toBeNull();
    }
    expect(opened).toHaveLength(2);
  });
});

describe('permission policy installed on a session', () => {
  it('answers requests and checks from the same rules', async () => {
    const installed: Record<string, (...args: never[]) => unknown> = {};
    const session = {
      setPermissionRequestHandler: (f: never) => (installed.request = f),
      setPermissionCheckHandler: (f: never) => (installed.check = f),
      setDevicePermissionHandler: (f: never) => (installed.device = f),
    } as unknown as PermissionSession;
    const camera = createCameraGate();
    installPermissionPolicy(session, { isAppUrl: appUrlMatcher(['deaddrop://app']), camera });
    const request = (permission: string, details: object) =>
      new Promise<boolean>((resolve) => (installed.request as (...a: unknown[]) => void)(null, permission, resolve, details));
    const video = { requestingUrl: 'deaddrop://app/index.html', isMainFrame: true, mediaTypes: ['video'] };
    expect(await request('media', video)).toBe(false);
    camera.allowFor(5);
    expect(await request('media', video)).toBe(true);
    expect(await request('notifications', video)).toBe(false);
    const check = installed.check as (...a: unknown[]) => boolean;
    expect(check(null, 'media', 'deaddrop://app', { isMainFrame: true, mediaType: 'video', securityOrigin: 'deaddrop://app/' })).toBe(true);
    expect(check(null, 'media', 'deaddrop://app', { isMainFrame: true, mediaType: 'audio' })).toBe(false);
    expect((installed.device as () => boolean)()).toBe(false);
    // Copy buttons write to the clipboard from our main frame only; nobody reads it.
    expect(await request('clipboard-sanitized-write', { requestingUrl: 'deaddrop://app/index.html', isMainFrame: true })).toBe(true);
    expect(await request('clipboard-sanitized-write', { requestingUrl: 'https://evil.example/', isMainFrame: true })).toBe(false);
    expect(await request('clipboard-sanitized-write', { requestingUrl: 'deaddrop://app/index.html', isMainFrame: false })).toBe(false);
    expect(await request('clipboard-read', { requestingUrl: 'deaddrop://app/index.html', isMainFrame: true })).toBe(false);
    expect(check(null, 'clipboard-sanitized-write', 'deaddrop://app', { isMainFrame: true, securityOrigin: 'deaddrop://app/' })).toBe(true);
    expect(check(null, 'clipboard-sanitized-write', 'https://evil.example', { isMainFrame: true })).toBe(false);
    expect(check(null, 'clipboard-read', 'deaddrop://app', { isMainFrame: true, securityOrigin: 'deaddrop://app/' })).toBe(false);
  });
  it('asks the user for the camera when the gate is closed, and only for our own video asks', async () => {
    const installed: Record<string, (...args: never[]) => unknown> = {};
    const session = {
      setPermissionRequestHandler: (f: never) => (installed.request = f),
      setPermissionCheckHandler: () => undefined,
      setDevicePermissionHandler: () => undefined,
    } as unknown as PermissionSession;
    const asked: string[] = [];
    let answer = true;
    installPermissionPolicy(session, {
      isAppUrl: appUrlMatcher(['deaddrop://app']),
      camera: createCameraGate(),
      confirmCamera: async () => {
        asked.push('camera');
        return answer;
      },
    });
    const request = (permission: string, details: object) =>
      new Promise<boolean>((resolve) => (installed.request as (...a: unknown[]) => void)(null, permission, resolve, details));
    const video = { requestingUrl: 'deaddrop://app/index.html', isMainFrame: true, mediaTypes: ['video'] };
    expect(await request('media', video)).toBe(true);
    answer = false;
    expect(await request('media', video)).toBe(false);
    expect(await request('media', { ...video, mediaTypes: ['audio'] })).toBe(false);
    expect(await request('media', { ...video, requestingUrl: 'https://evil.example/' })).toBe(false);
    expect(await request('geolocation', video)).toBe(false);
    expect(asked).toEqual(['camera', 'camera']);
  });
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'deaddrop-localserver-'));
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

const noLan = () => ({});

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

describe('local drop server', () => {
  it('starts on loopback with its data in the profile, answers, and stops freeing the port', async () => {
    const controller = createLocalServerController({ startServer: startDropServer, dataDir: path.join(dir, 'drop-server'), networkInterfaces: noLan });
    expect(await controller.status()).toEqual({ running: false, url: null, shareUrls: [] });
    const started = await controller.start({ port: 0, expose: false });
    expect(started.running).toBe(true);
    expect(started.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(started.shareUrls).toEqual([]);
    const health = await fetch(`${started.url}/health`);
    expect(health.ok).toBe(true);
    expect((await stat(path.join(dir, 'drop-server', 'drops.db'))).isFile()).toBe(true);
    expect(await controller.start({ port: 0, expose: false })).toEqual(started);
    const port = Number(new URL(started.url!).port);
    expect(await controller.stop()).toEqual({ running: false, url: null, shareUrls: [] });
    expect(await portIsFree(port)).toBe(true);
    expect(await controller.stop()).toEqual({ running: false, url: null, shareUrls: [] });
  });
  it('reports a port in use as unavailable', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const controller = createLocalServerController({ startServer: startDropServer, dataDir: dir, networkInterfaces: noLan });
      await expect(controller.start({ port, expose: false })).rejects.toMatchObject({ code: 'unavailable' });
      expect((await controller.status()).running).toBe(false);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
  it('listens on all interfaces only when exposed, lists LAN URLs, and restarts on changed settings', async () => {
    const hosts: string[] = [];
    let closed = 0;
    const startServer: StartServer = async (options) => {
      hosts.push(options.host);
      return { url: `http://${options.host}:4321/drops`, port: 4321, close: async () => void closed++ };
    };
    const lan = () => ({
      lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }],
      eth0: [{ address: '192.168.1.20', family: 'IPv4', internal: false }, { address: 'fe80::1', family: 'IPv6', internal: false }],
      wlan0: [{ address: '169.254.3.3', family: 'IPv4', internal: false }, { address: '10.0.0.7', family: 'IPv4', internal: false }],
    });
    const controller = createLocalServerController({ startServer, dataDir: dir, networkInterfaces: lan as never });
    expect(await controller.start({ port: 4321, expose: false })).toEqual({ running: true, url: 'http://127.0.0.1:4321/drops', shareUrls: [] });
    const exposed = await controller.start({ port: 4321, expose: true });
    expect(hosts).toEqual(['127.0.0.1', '0.0.0.0']);
    expect(closed).toBe(1);
    expect(exposed.shareUrls).toEqual(['http://10.0.0.7:4321/drops', 'http://192.168.1.20:4321/drops']);
    expect(lanAddresses(lan() as never)).toEqual(['10.0.0.7', '192.168.1.20']);
  });
  it('reports starts and stops for the next launch, but not the shutdown close', async () => {
    const changes: unknown[] = [];
    const startServer: StartServer = async () => ({ url: 'http://127.0.0.1:6001', port: 6001, close: async () => undefined });
    const controller = createLocalServerController({ startServer, dataDir: dir, networkInterfaces: noLan, onChange: (c) => void changes.push(c) });
    await controller.start({ port: 0, expose: false });
    await controller.stop();
    await controller.start({ port: 0, expose: true });
    await controller.close();
    expect(changes).toEqual([{ port: 6001, expose: false }, null, { port: 6001, expose: true }]);
    expect((await controller.status()).running).toBe(false);
  });
  it('explains the usual start failures', () => {
    const coded = (message: string, code: string) => Object.assign(new Error(message), { code });
    expect(startFailureMessage(coded('listen EACCES: permission denied 0.0.0.0:80', 'EACCES'), 80)).toMatch(/above 1024/);
    expect(startFailureMessage(new Error('The module was compiled against a different Node.js version using NODE_MODULE_VERSION 115'), 0)).toMatch(/electron-rebuild/);
    expect(startFailureMessage('weird', 0)).toBe('The local drop server could not start.');
  });
  it('never starts two servers on concurrent starts', async () => {
    let starts = 0;
    const startServer: StartServer = async () => {
      starts++;
      await new Promise((resolve) => setImmediate(resolve));
      return { url: 'http://127.0.0.1:5555', port: 5555, close: async () => undefined };
    };
    const controller = createLocalServerController({ startServer, dataDir: dir, networkInterfaces: noLan });
    await Promise.all([controller.start({ port: 0, expose: false }), controller.start({ port: 0, expose: false })]);
    expect(starts).toBe(1);
  });
});
