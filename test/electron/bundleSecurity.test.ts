import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channels } from '../../shared/ipc/channels.js';

// Builds the real bundles with the same esbuild configuration `npm run build:electron` uses (no Electron
// binary needed) and scans what would ship for weakened window security.
const bundles = pathToFileURL(path.resolve('scripts/electronBundles.mjs')).href;

interface Built {
  main: string;
  preload: string;
}
const built: Record<'plain' | 'minified', Built> = { plain: { main: '', preload: '' }, minified: { main: '', preload: '' } };
let outRoot: string;

beforeAll(async () => {
  const { buildElectron } = (await import(bundles)) as { buildElectron(o: { outDir: string; minify: boolean }): Promise<unknown> };
  outRoot = await mkdtemp(path.join(os.tmpdir(), 'deaddrop-bundle-'));
  for (const variant of ['plain', 'minified'] as const) {
    const outDir = path.join(outRoot, variant);
    await buildElectron({ outDir, minify: variant === 'minified' });
    built[variant] = {
      main: await readFile(path.join(outDir, 'main.js'), 'utf8'),
      preload: await readFile(path.join(outDir, 'preload.cjs'), 'utf8'),
    };
  }
}, 120_000);
afterAll(async () => rm(outRoot, { recursive: true, force: true }));

/** `name: value` in plain output, `name:!0` / `name:!1` once minified. */
function setting(name: string, value: boolean): RegExp {
  const spelled = value ? '(?:true|!0)' : '(?:false|!1)';
  return new RegExp(`["']?${name}["']?\\s*:\\s*${spelled}(?![\\w$])`);
}

describe.each(['plain', 'minified'] as const)('built main bundle (%s)', (variant) => {
  it('never weakens window security', () => {
    const { main } = built[variant];
    expect(main).not.toMatch(setting('nodeIntegration', true));
    expect(main).not.toMatch(setting('nodeIntegrationInWorker', true));
    expect(main).not.toMatch(setting('nodeIntegrationInSubFrames', true));
    expect(main).not.toMatch(setting('contextIsolation', false));
    expect(main).not.toMatch(setting('sandbox', false));
    expect(main).not.toMatch(setting('webSecurity', false));
    expect(main).not.toMatch(setting('allowRunningInsecureContent', true));
    expect(main).not.toMatch(setting('webviewTag', true));
  });
  it('really contains the secure settings (the scan is not looking at the wrong file)', () => {
    const { main } = built[variant];
    expect(main).toMatch(setting('sandbox', true));
    expect(main).toMatch(setting('contextIsolation', true));
    expect(main).toMatch(setting('nodeIntegration', false));
    expect(main).toMatch(/Content-Security-Policy/);
  });
  it('has a preload that exposes named functions, never ipcRenderer itself', () => {
    const { preload } = built[variant];
    const exposures = [...preload.matchAll(/exposeInMainWorld\(\s*["'](\w+)["']\s*,\s*([^)]*)\)/g)];
    expect(exposures.map((m) => m[1])).toEqual(['deaddrop']);
    for (const exposure of exposures) expect(exposure[2]).not.toMatch(/^\s*\w*ipcRenderer\s*$/);
    expect(preload).not.toMatch(/require\(["'](?:node:)?(?:fs|child_process|path|os)["']\)/);
  });
  it('runs as a sandboxed preload would, requiring only electron, and exposes every channel', async () => {
    const { preload } = built[variant];
    const exposed: Record<string, Record<string, unknown>> = {};
    const invoked: string[] = [];
    const electron = {
      contextBridge: { exposeInMainWorld: (key: string, api: Record<string, unknown>) => (exposed[key] = api) },
      ipcRenderer: { invoke: async (channel: string) => (invoked.push(channel), { ok: true, value: null }), on() {}, removeListener() {} },
    };
    const module = { exports: {} };
    const require = (name: string) => {
      if (name !== 'electron') throw new Error(`the preload required ${name}`);
      return electron;
    };
    vm.runInNewContext(preload, { require, module, exports: module.exports });
    expect(Object.keys(exposed).sort()).toEqual(['deaddrop']);
    expect(Object.keys(exposed.deaddrop ?? {}).sort()).toEqual([...channels, 'on'].sort());
    await (exposed.deaddrop?.['messages/send'] as (r: unknown) => Promise<unknown>)({});
    await (exposed.deaddrop?.['notifications/show'] as (r: unknown) => Promise<unknown>)({});
    expect(invoked).toEqual(['messages/send', 'notifications/show']);
    // The preload imports the channel list only, never the schemas (main validates): no zod in the
    // script that runs on every page load, which stays small.
    expect(preload).not.toMatch(/ZodError|safeParse/);
    expect(preload.length).toBeLessThan(20_000);
  });
});
