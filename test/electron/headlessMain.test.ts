import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeElectronState } from './fakes/fakeElectron.js';
import { type HeadlessMain, startHeadlessMain, until } from './fakes/headlessMain.js';

// The real main entry (electron/main/main.ts), bundled by the shipping esbuild configuration but with
// `electron` replaced by a recording fake, runs here under Node: real engine, real crypto worker bundle,
// real local drop server. It covers main's wiring, which the Electron smoke test covers only where
// Electron's binary is installed.

let main: HeadlessMain;
let fake: FakeElectronState;
let userData: string;
const call = (channel: string, request: unknown, frame?: unknown) => main.call(channel, request, ...(frame === undefined ? [] : [frame]));

beforeAll(async () => {
  main = await startHeadlessMain('headless', (dir) => writeFile(path.join(dir, 'index.html'), '<!doctype html><title>Deaddrop</title>'));
  fake = main.fake;
  userData = main.userData;
}, 120_000);

afterAll(async () => main?.stop());

describe('main entry under Node with a fake electron', () => {
  it('registers the privileged app scheme and a per-profile userData before ready', () => {
    expect(fake.privilegedSchemes).toEqual([{ scheme: 'deaddrop', privileges: expect.objectContaining({ standard: true, secure: true }) }]);
    expect(fake.app.paths.get('userData')).toBe(path.join(userData, 'profiles', 'headless'));
  });
  it('opens one secure window on the app scheme and a tray', () => {
    const [window] = fake.windows;
    expect(window?.options.webPreferences).toMatchObject({ sandbox: true, contextIsolation: true, nodeIntegration: false });
    expect(String((window?.options.webPreferences as { preload: string }).preload)).toMatch(/dist-electron[/\\]preload\.cjs$/);
    expect(window?.webContents.mainFrame.url).toBe('deaddrop://app/index.html');
    expect(window?.visible).toBe(true);
    expect(fake.trays[0]?.tooltip).toBe('Deaddrop');
  });
  it('serves the UI with its CSP and refuses traversal', async () => {
    const handler = fake.protocolHandlers.get('deaddrop')!;
    const page = await handler(new Request('deaddrop://app/index.html'));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect((await handler(new Request('deaddrop://app/..%2f..%2fpackage.json'))).status).toBe(404);
  });
  it('keeps the engine key in the keyring and starts unlocked', async () => {
    const sealed = await readFile(path.join(userData, 'profiles', 'headless', 'keystore-secret.bin'), 'utf8');
    expect(sealed).toMatch(/^sealed:[-_A-Za-z0-9]{43}$/);
    expect(await call('app/info', {})).toMatchObject({ ok: true, value: { host: 'electron', locked: false, version: '0.0.0-test' } });
  });
  it('answers only our main frame and validates payloads', async () => {
    expect(await call('app/info', {}, { url: 'https://evil.example/', processId: 7, routingId: 1 })).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    expect(await call('app/info', {}, { url: 'deaddrop://app/index.html', processId: 7, routingId: 2 })).toMatchObject({ ok: false });
    expect(await call('identities/create', { alias: '' })).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
  });
  it('guards the window\'s web contents: no navigation away, no new windows', () => {
    const contents = fake.windows[0]!.webContents;
    const navigation = { preventDefault: () => (navigation.prevented = true), prevented: false };
    contents.emit('will-navigate', navigation, 'https://evil.example/');
    expect(navigation.prevented).toBe(true);
    expect(contents.openHandler?.({ url: 'https://example.com/new' })).toEqual({ action: 'deny' });
  });
  it('cancels network requests of the UI session', () => {
    const answers: unknown[] = [];
    fake.beforeRequest?.({ url: 'https://tracker.example/pixel.gif' }, (answer: unknown) => answers.push(answer));
    fake.beforeRequest?.({ url: 'deaddrop://app/index.html' }, (answer: unknown) => answers.push(answer));
    expect(answers).toEqual([{ cancel: true }, { cancel: false }]);
  });
  it('opens http(s) links externally and nothing else', async () => {
    expect(await call('links/open', { url: 'https://example.com/x' })).toEqual({ ok: true, value: { opened: true } });
    expect(await call('links/open', { url: 'file:///etc/passwd' })).toMatchObject({ ok: false, error: { code: 'bad_input' } });
    await until('the window-open link to reach the system browser', () => fake.openedExternally.length === 2);
    expect(fake.openedExternally.sort()).toEqual(['https://example.com/new', 'https://example.com/x']);
  });
  it('reports its capabilities: everything the desktop shell serves', async () => {
    expect(await call('app/info', {})).toMatchObject({
      ok: true,
      value: { capabilities: { localServer: true, notifications: true, cameraGate: true, desktopSettings: true, externalLinks: true, debugLog: true } },
    });
  });
  it('runs its own drop server and forwards a message between two identities; notifies and counts only as the UI says', async () => {
    const server = await call('localServer/start', { port: 0 });
    expect(server).toMatchObject({ ok: true, value: { running: true, shareUrls: [] } });
    const serverUrl = server.value!.url;
    const alice = await call('identities/create', { alias: 'Alice', serverUrl });
    const bob = await call('identities/create', { alias: 'Bob', serverUrl });
    expect(alice.ok && bob.ok).toBe(true);
    const card = await call('identities/contactCard', { identityId: bob.value!.id });
    const [, , urls, publicKey] = card.value!.contactString.split('\n');
    const window = fake.windows[0]!;
    window.blur();
    const sent = await call('messages/send', {
      identityId: alice.value!.id,
      localId: 'headless-1',
      recipient: { publicKey, dropUrls: urls!.split(', ') },
      text: 'Hello Bob',
    });
    expect(sent.ok).toBe(true);
    await call('poller/pollNow', {});
    await until('the message to reach the window', () =>
      window.webContents.sent.some(([event, payload]) => event === 'inbox/batch' && (payload as { messages: { text: string }[] }).messages.some((m) => m.text === 'Hello Bob')),
    );
    // Main knows nothing of the UI's contacts (a blocked sender, an ignored one): it never notifies or
    // counts by itself. The UI, which stores the batch, asks for both (here: this test plays the UI).
    expect(fake.notifications).toEqual([]);
    expect(fake.trays[0]?.tooltip).toBe('Deaddrop');
    const conversation = { identityId: bob.value!.id, contactKey: alice.value!.publicKey };
    expect(await call('notifications/show', { title: 'Alice (unverified)', body: 'Hello Bob', conversation })).toEqual({ ok: true, value: null });
    expect(await call('unread/set', { count: 1 })).toEqual({ ok: true, value: null });
    expect(fake.notifications.map((n) => n.options)).toEqual([{ title: 'Alice (unverified)', body: 'Hello Bob', icon: expect.objectContaining({ file: expect.stringMatching(/icon\.png$/) }) }]);
    expect(fake.trays[0]?.tooltip).toBe('Deaddrop: 1 unread message');
    window.hide();
    fake.notifications[0]!.emit('click');
    expect(window.visible).toBe(true);
    expect(window.webContents.sent.at(-1)).toEqual(['app/openConversation', { identityId: bob.value!.id, contactKey: alice.value!.publicKey }]);
    expect(await call('unread/set', { count: 0 })).toEqual({ ok: true, value: null });
    expect(fake.trays[0]?.tooltip).toBe('Deaddrop');
  }, 60_000);
  it('keeps a redacted log in the profile and exports it: no message text, keys or drop IDs', async () => {
    const exported = await call('logs/export', {});
    expect(exported).toMatchObject({ ok: true, value: { fileName: expect.stringMatching(/^deaddrop-debug-[-0-9]+\.log$/) } });
    const content = String(exported.value!.content);
    expect(content).toMatch(/^Deaddrop 0\.0\.0-test on \w+ \w+, exported /);
    expect(content).toMatch(/info \[main\] Deaddrop starts \{"version":"0\.0\.0-test"/);
    const onDisk = await readFile(path.join(userData, 'profiles', 'headless', 'logs', 'deaddrop.log'), 'utf8');
    expect(content.endsWith(onDisk)).toBe(true);
    // The previous test sent 'Hello Bob' between two identities with their own keys and drops.
    const identities = await call('identities/list', {});
    const secrets = (identities.value as unknown as { publicKey: string; dropUrls: string[] }[]).flatMap((identity) => [
      identity.publicKey,
      ...identity.dropUrls.map((url) => url.slice(url.lastIndexOf('/') + 1)),
    ]);
    expect(secrets.length).toBeGreaterThanOrEqual(4);
    for (const text of ['Hello Bob', ...secrets]) expect(content).not.toContain(text);
    expect(content).not.toMatch(/[0-9a-fA-F]{64}|[-_A-Za-z0-9]{43}/);
  });
  it('hides the window to the tray on close, and on quit stops the engine and the drop server', async () => {
    const window = fake.windows[0]!;
    const closeEvent = { defaultPrevented: false, preventDefault: () => (closeEvent.defaultPrevented = true) };
    window.emit('close', closeEvent);
    expect(closeEvent.defaultPrevented).toBe(true);
    expect(window.visible).toBe(false);
    // A second launch of this profile (the single-instance lock sends it here) brings the window back.
    window.blur();
    fake.app.emit('second-instance', {}, ['deaddrop', '--profile', 'headless'], '/');
    expect(window.visible).toBe(true);
    expect(window.isFocused()).toBe(true);
    const status = await call('localServer/status', {});
    const port = Number(new URL(status.value!.url).port);
    fake.app.quit();
    await until('main to shut down', () => fake.app.quitRequested >= 2);
    expect(fake.ipcHandlers.size).toBe(0);
    // Shutdown keeps the local server for the next launch, on the same port (own drop URLs use it).
    const saved = JSON.parse(await readFile(path.join(userData, 'profiles', 'headless', 'desktop-settings.json'), 'utf8'));
    expect(saved.localServer).toEqual({ port, expose: false });
    const free = await new Promise<boolean>((resolve) => {
      const probe = net.createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    expect(free).toBe(true);
    expect(fake.errors).toEqual([]);
  });
});
