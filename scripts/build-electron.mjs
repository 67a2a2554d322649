#!/usr/bin/env node
// `npm run build:electron`: bundles main, preload and the crypto worker into dist-electron/.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { buildElectron, projectRoot } from './electronBundles.mjs';

const outDir = path.join(projectRoot, 'dist-electron');
const minify = process.argv.includes('--minify');
await rm(outDir, { recursive: true, force: true });
const started = Date.now();
const results = await buildElectron({ outDir, minify });
const bytes = results.flatMap((r) => Object.values(r.metafile.outputs)).reduce((sum, o) => sum + o.bytes, 0);
console.log(`dist-electron built in ${Date.now() - started} ms (${(bytes / 1024).toFixed(0)} KiB with source maps)`);
