/**
 * `npm run bench:protocol`: throughput of the portable protocol library under Node and in Chromium
 * (the same code, bundled with esbuild for the page). Prints rates and the trial-open / raw X25519
 * ratio measured in the same run. Chromium is skipped with a printed reason when it is missing.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { chromium } from 'playwright';
import type { ProtocolBenchResult } from './protocolBench.page.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../support/chromium.js';

const ENTRY = path.resolve('test/browser/protocolBench.page.ts');
const BENCH_ORIGIN = 'https://protocol-bench.invalid';

type BenchGlobal = { protocolBench?: () => Promise<ProtocolBenchResult> };

async function inNode(): Promise<ProtocolBenchResult> {
  await import('./protocolBench.page.js');
  return (globalThis as BenchGlobal).protocolBench!();
}

async function inChromium(): Promise<ProtocolBenchResult> {
  const bundle = await esbuild.build({ entryPoints: [ENTRY], bundle: true, platform: 'browser', format: 'iife', write: false, logLevel: 'silent' });
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    // crypto.subtle needs a secure context: serve the page from an intercepted https origin.
    await page.route(`${BENCH_ORIGIN}/**`, (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>bench</title>' }));
    await page.goto(`${BENCH_ORIGIN}/`);
    await page.addScriptTag({ content: bundle.outputFiles[0]!.text });
    return await page.evaluate(() => (globalThis as BenchGlobal).protocolBench!());
  } finally {
    await browser.close();
  }
}

function print(runtime: string, r: ProtocolBenchResult): void {
  console.log(`${runtime}:`);
  console.log(`  raw X25519 (libsodium WASM)   ${r.rawX25519PerSecond.toFixed(0)} /s`);
  console.log(`  portable trialOpen            ${r.trialOpenPerSecond.toFixed(0)} msgs/s  (ratio to raw X25519: ${r.trialToRawRatio.toFixed(2)})`);
  console.log(`  portable sealPdu              ${r.sealPerSecond.toFixed(0)} PDUs/s`);
  console.log(`  multipart parse (64 KiB chunks) ${r.multipartMegabytesPerSecond.toFixed(0)} MB/s`);
  console.log(`  split a 100,000-character text ${r.splitTextMilliseconds.toFixed(1)} ms`);
}

print('Node', await inNode());
if (existsSync(CHROMIUM_PATH)) print('Chromium', await inChromium());
else console.warn(`Chromium skipped: no Chromium at ${CHROMIUM_PATH} (install the Debian package "chromium")`);
