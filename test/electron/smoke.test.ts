import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type ElectronApplication, type Page, _electron as electron } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PreloadApi } from '../../shared/ipc/contract.js';
import { startDropServer } from '../../server/index.js';

// Playwright Electron smoke test of the packaged shape (bundles + built UI), run wherever Electron's
// binary is installed. Two profiles on one machine talk through a drop server started here.

function electronBinary(): string | null {
  try {
    const binary = createRequire(import.meta.url)('electron') as unknown;
    return typeof binary === 'string' && existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

function xvfbBinary(): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (existsSync(path.join(dir, 'Xvfb'))) return path.join(dir, 'Xvfb');
  }
  return null;
}

const binary = electronBinary();
const needsDisplay = process.platform === 'linux' && !process.env.DISPLAY;
const xvfb = needsDisplay ? xvfbBinary() : null;
const skipReason =
  binary === null
    ? 'the Electron binary is not installed (node_modules/electron has no dist/; ELECTRON_SKIP_BINARY_DOWNLOAD)'
    : needsDisplay && xvfb === null
      ? 'no DISPLAY and no Xvfb to give Electron a screen'
      : null;
if (skipReason) console.warn(`Electron smoke test skipped: ${skipReason}`);

type ShellProbe = { trayCreated: boolean; notifications: { title: string; body: string }[]; unread: number };
type DeaddropWindow = { deaddrop: PreloadApi };

const PASSPHRASE = 'correct horse battery staple';
const BOUND_MS = 60_000;

describe.skipIf(skipReason !== null)('Electron app smoke test', () => {
  let userData: string;
  let appDir: string;
  let server: { url: string; close(): Promise<void> };
  let display: ChildProcess | null = null;
  let env: Record<string, string>;
  const apps: ElectronApplication[] = [];

  beforeAll(async () => {
    // An app folder laid out like the packaged app (package.json, dist-electron, dist-renderer), built
    // here so the test never races other builds of the project's own dist folders.
    const root = path.resolve('.');
    appDir = await mkdtemp(path.join(os.tmpdir(), 'deaddrop-smoke-app-'));
    await symlink(path.join(root, 'node_modules'), path.join(appDir, 'node_modules'), 'dir');
    const { version } = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { version: string };
    await writeFile(path.join(appDir, 'package.json'), JSON.stringify({ name: 'deaddrop', version, type: 'module', main: 'dist-electron/main.js' }));
    const { build } = await import('vite');
    await build({ configFile: path.join(root, 'renderer/vite.config.ts'), logLevel: 'warn', build: { outDir: path.join(appDir, 'dist-renderer'), emptyOutDir: true } });
    const { buildElectron } = (await import(pathToFileURL(path.join(root, 'scripts/electronBundles.mjs')).href)) as {
      buildElectron(options: { outDir: string }): Promise<unknown>;
    };
    await buildElectron({ outDir: path.join(appDir, 'dist-electron') });
    userData = await mkdtemp(path.join(os.tmpdir(), 'deaddrop-electron-'));
    server = await startDropServer({ host: '127.0.0.1', port: 0, db: 'sqlite::memory:', logLevel: 'warn' });
    env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
    Object.assign(env, { DEADDROP_USER_DATA_DIR: userData, DEADDROP_E2E_PROBE: '1', ELECTRON_ENABLE_LOGGING: '1' });
    if (xvfb) {
      const number = 90 + (process.pid % 100);
      display = spawn(xvfb, [`:${number}`, '-screen', '0', '1280x900x24', '-nolisten', 'tcp'], { stdio: 'ignore' });
      env.DISPLAY = `:${number}`;
    }
  }, 300_000);

  afterAll(async () => {
    await Promise.allSettled(apps.map((app) => app.close()));
    await server?.close();
    display?.kill();
    if (userData) await rm(userData, { recursive: true, force: true });
    if (appDir) await rm(appDir, { recursive: true, force: true });
  });

  async function launch(profile: string): Promise<{ app: ElectronApplication; page: Page }> {
    const app = await electron.launch({
      executablePath: binary!,
      args: [appDir, '--profile', profile, ...(process.platform === 'linux' ? ['--no-sandbox'] : [])],
      env,
      timeout: BOUND_MS,
    });
    apps.push(app);
    const page = await app.firstWindow();
    return { app, page };
  }

  /** First run: choose a passphrase where no keyring exists, then the onboarding screen must show. */
  async function firstRun(page: Page, alias: string): Promise<string> {
    const welcome = page.getByRole('heading', { name: 'Welcome to Deaddrop' });
    const choose = page.getByRole('heading', { name: 'Choose a passphrase' });
    await expect.poll(async () => (await welcome.isVisible()) || (await choose.isVisible()), { timeout: BOUND_MS }).toBe(true);
    if (await choose.isVisible()) {
      await page.getByLabel('New passphrase').fill(PASSPHRASE);
      await page.getByLabel('Repeat the passphrase').fill(PASSPHRASE);
      await page.getByRole('button', { name: 'Set passphrase' }).click();
    }
    await welcome.waitFor({ timeout: BOUND_MS });
    await page.getByLabel('Your name, as contacts will see it').fill(alias);
    await page.getByLabel('Drop server').fill(server.url);
    await page.getByRole('button', { name: 'Create identity' }).click();
    let identityId = '';
    await expect
      .poll(
        async () => {
          const list = await page.evaluate(() => (globalThis as unknown as DeaddropWindow).deaddrop['identities/list']({}));
          identityId = list.ok && list.value[0] ? list.value[0].id : '';
          return identityId !== '';
        },
        { timeout: BOUND_MS },
      )
      .toBe(true);
    return identityId;
  }

  const probe = (app: ElectronApplication) =>
    app.evaluate(() => (globalThis as unknown as { __deaddropProbe?: ShellProbe }).__deaddropProbe ?? null);

  it('opens, shows first run, creates identities, has a tray, and delivers a message with a notification', async () => {
    const alice = await launch('alice');
    const bob = await launch('bob');
    expect(await alice.page.title()).toBe('Deaddrop');
    expect(alice.page.url()).toMatch(/^deaddrop:\/\/app\//);
    const aliceId = await firstRun(alice.page, 'Alice');
    const bobId = await firstRun(bob.page, 'Bob');
    expect((await probe(alice.app))?.trayCreated).toBe(true);

    const card = await bob.page.evaluate(
      (id) => (globalThis as unknown as DeaddropWindow).deaddrop['identities/contactCard']({ identityId: id }),
      bobId,
    );
    if (!card.ok) throw new Error(card.error.message);
    const [, , urls, publicKey] = card.value.contactString.split('\n');
    const recipient = { publicKey: publicKey ?? '', dropUrls: (urls ?? '').split(', ') };
    await bob.app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().forEach((w) => w.blur()));
    const sent = await alice.page.evaluate(
      ([identityId, to]) =>
        (globalThis as unknown as DeaddropWindow).deaddrop['messages/send']({ identityId, localId: 'smoke-1', recipient: to, text: 'Hello Bob' }),
      [aliceId, recipient] as const,
    );
    expect(sent.ok).toBe(true);
    await expect
      .poll(async () => (await probe(bob.app))?.notifications.some((n) => n.title.startsWith('Alice')) ?? false, { timeout: BOUND_MS })
      .toBe(true);
    // Windows shows the count as a taskbar overlay, not a badge: the probe sees badges only.
    if (process.platform !== 'win32') {
      await expect.poll(async () => (await probe(bob.app))?.unread ?? 0, { timeout: BOUND_MS }).toBeGreaterThan(0);
    }
  }, 240_000);
});
