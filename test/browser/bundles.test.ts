// libsodium-wrappers ships ESM and CommonJS builds that bundlers treat differently; this proves the
// shared/ crypto works as the app ships it: bundled by Vite (renderer pages) and by esbuild as ESM
// (Electron main process and crypto worker), run in Chromium and in Node.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { chromium } from 'playwright';
import { build } from 'vite';
import { afterAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../support/chromium.js';

const ENTRY = path.resolve('test/browser/cryptoSmoke.page.ts');
const SMOKE_ORIGIN = 'https://crypto-smoke.invalid';
const hasChromium = existsSync(CHROMIUM_PATH);
if (!hasChromium) console.warn(`bundles.test: Chromium checks skipped: no Chromium at ${CHROMIUM_PATH} (install the Debian package "chromium")`);

const workDir = mkdtempSync(path.join(tmpdir(), 'deaddrop-bundles-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

async function viteIife(): Promise<string> {
  const result = await build({
    configFile: false,
    logLevel: 'silent',
    build: { write: false, minify: true, lib: { entry: ENTRY, formats: ['iife'], name: 'cryptoSmokeBundle' } },
  });
  const outputs = (Array.isArray(result) ? result : [result]) as { output: { type: string; code?: string }[] }[];
  const chunk = outputs.flatMap((o) => o.output).find((o) => o.type === 'chunk');
  if (!chunk?.code) throw new Error('vite produced no chunk');
  return chunk.code;
}

async function runInChromium(script: string): Promise<string> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    // WebCrypto's subtle API exists only in secure contexts (the app's own scheme, localhost), not
    // on about:blank: serve the page from an intercepted https origin.
    await page.route(`${SMOKE_ORIGIN}/**`, (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>crypto smoke</title>' }));
    await page.goto(`${SMOKE_ORIGIN}/`);
    await page.addScriptTag({ content: script });
    return await page.evaluate(() => (globalThis as { cryptoSmoke?: Promise<string> }).cryptoSmoke ?? 'not started');
  } finally {
    await browser.close();
  }
}

describe('shared crypto as bundled for shipping', () => {
  it('runs from an esbuild ESM bundle in Node (Electron main process and worker)', async () => {
    const outfile = path.join(workDir, 'smoke.mjs');
    await esbuild.build({ entryPoints: [ENTRY], bundle: true, platform: 'node', format: 'esm', outfile, logLevel: 'silent' });
    writeFileSync(path.join(workDir, 'run.mjs'), "import './smoke.mjs';\nconsole.log(await globalThis.cryptoSmoke);\n");
    const run = spawnSync(process.execPath, [path.join(workDir, 'run.mjs')], { encoding: 'utf8', timeout: 60_000 });
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('ok 2149');
  });

  it.skipIf(!hasChromium)('runs from a Vite production bundle in Chromium (renderer pages)', async () => {
    expect(await runInChromium(await viteIife())).toBe('ok 2149');
  });

  it.skipIf(!hasChromium)('runs from an esbuild browser bundle in Chromium', async () => {
    const result = await esbuild.build({ entryPoints: [ENTRY], bundle: true, platform: 'browser', format: 'iife', write: false, logLevel: 'silent' });
    expect(await runInChromium(result.outputFiles[0]!.text)).toBe('ok 2149');
  });
});
