/**
 * Runs the real main entry under Node: bundled by the shipping esbuild configuration, with `electron`
 * replaced by the recording fake. Used by the headless main test and the UI-in-Chromium test.
 * One per process (main is a singleton, as in Electron); vitest runs each test file in its own fork.
 */
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BuildOptions } from 'esbuild';
import type { FakeElectronState } from './fakeElectron.js';

const projectRoot = path.resolve('.');

/** A Result as it crossed IPC; tests read the few fields they need from `value`. */
export interface Answer {
  ok: boolean;
  value?: Record<string, unknown> & { id: string; url: string; contactString: string; publicKey: string };
  error?: { code: string };
}

export interface HeadlessMain {
  fake: FakeElectronState;
  /** The folder holding dist-electron/ and dist-renderer/, like the packaged app. */
  appRoot: string;
  userData: string;
  /** Calls a main IPC handler as our window's main frame (or as `frame`). */
  call(channel: string, request: unknown, frame?: unknown): Promise<Answer>;
  /** Quits main (engine and local server stop) and removes the folders. */
  stop(): Promise<void>;
}

/** Polls a condition every 25 ms, up to a bound; the error names what was awaited. */
export async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function bundleMainWithFakeElectron(outDir: string): Promise<string> {
  const esbuild = await import('esbuild');
  const { bundleOptions } = (await import(pathToFileURL(path.join(projectRoot, 'scripts/electronBundles.mjs')).href)) as {
    bundleOptions(outDir: string, o: { copies: Map<string, string> }): BuildOptions[];
  };
  const copies = new Map<string, string>();
  const [main] = bundleOptions(outDir, { copies });
  await esbuild.build({
    ...main,
    external: (main?.external ?? []).filter((name) => name !== 'electron'),
    alias: { electron: path.join(projectRoot, 'test/electron/fakes/fakeElectron.ts') },
    sourcemap: false,
    logLevel: 'error',
  });
  for (const [from, to] of copies) {
    await mkdir(path.dirname(to), { recursive: true });
    await writeFile(to, await readFile(from));
  }
  return path.join(outDir, 'main.js');
}

/**
 * Bundles and starts main with profile `profile`. `prepareRenderer` fills `<appRoot>/dist-renderer`
 * (a stub page, or a real Vite build).
 */
export async function startHeadlessMain(
  profile: string,
  prepareRenderer: (dir: string) => Promise<void>,
  seedProfile?: (profileDir: string) => Promise<void>,
): Promise<HeadlessMain> {
  const appRoot = await mkdtemp(path.join(os.tmpdir(), 'deaddrop-app-'));
  // The bundle keeps better-sqlite3 external: let it resolve from the project's node_modules.
  await symlink(path.join(projectRoot, 'node_modules'), path.join(appRoot, 'node_modules'), 'dir');
  const userData = await mkdtemp(path.join(os.tmpdir(), 'deaddrop-headless-'));
  await mkdir(path.join(appRoot, 'dist-renderer'), { recursive: true });
  await prepareRenderer(path.join(appRoot, 'dist-renderer'));
  if (seedProfile) {
    const profileDir = path.join(userData, 'profiles', profile);
    await mkdir(profileDir, { recursive: true });
    await seedProfile(profileDir);
  }
  const mainFile = await bundleMainWithFakeElectron(path.join(appRoot, 'dist-electron'));
  process.env.FAKE_ELECTRON_USER_DATA = userData;
  process.env.DEADDROP_PROFILE = profile;
  process.env.XDG_CONFIG_HOME = path.join(userData, 'xdg-config');
  await import(pathToFileURL(mainFile).href);
  const fake = (globalThis as unknown as { __fakeElectron: FakeElectronState }).__fakeElectron;
  fake.ready();
  await until('main to finish starting', () => {
    if (fake.errors.length > 0) throw new Error(`main failed to start: ${fake.errors.join('; ')}`);
    return fake.trays.length === 1 && fake.ipcHandlers.has('app/info') && fake.windows.length === 1;
  });

  const call = async (channel: string, request: unknown, frame: unknown = fake.windows[0]?.webContents.mainFrame) => {
    const handler = fake.ipcHandlers.get(channel);
    if (!handler) throw new Error(`main registered no handler for ${channel}`);
    return (await handler({ senderFrame: frame }, request)) as Answer;
  };
  const stop = async () => {
    if (fake.app.quitRequested === 0) {
      fake.app.quit();
      await until('main to shut down', () => fake.app.quitRequested >= 2);
    }
    await rm(appRoot, { recursive: true, force: true });
    await rm(userData, { recursive: true, force: true });
    delete process.env.DEADDROP_PROFILE;
    delete process.env.FAKE_ELECTRON_USER_DATA;
    delete process.env.XDG_CONFIG_HOME;
  };
  return { fake, appRoot, userData, call, stop };
}
