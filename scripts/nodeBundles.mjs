// esbuild configuration of the two commands, `deaddrop` and `deaddrop-server`, and the crypto worker
// the CLI starts: plain Node ESM bundles in dist-node/, so an installed package runs compiled
// JavaScript and needs no TypeScript loader (tsx is a devDependency).
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { esmRequireBanner, external, projectRoot, relocateAssetUrls, workerEntries } from './electronBundles.mjs';

export const nodeOutDir = path.join(projectRoot, 'dist-node');

/**
 * Builds dist-node/ from scratch; resolves with esbuild's results. The bundles are written to a
 * sibling folder and swapped in by rename: several test runs and `npm start` in one checkout each
 * build, and a command started meanwhile must find a whole dist-node/, never an emptied one.
 */
export async function buildNodeCommands({ outDir = nodeOutDir, minify = true } = {}) {
  const unique = `${process.pid}-${Date.now().toString(36)}`;
  const building = `${outDir}.building-${unique}`;
  const result = await buildInto(building, minify).catch(async (err) => {
    await rm(building, { recursive: true, force: true });
    throw err;
  });
  const old = `${outDir}.old-${unique}`;
  await rename(outDir, old).catch((err) => {
    if (err.code !== 'ENOENT') throw err;
  });
  await rename(building, outDir);
  await rm(old, { recursive: true, force: true });
  return result;
}

async function buildInto(outDir, minify) {
  const copies = new Map();
  const result = await esbuild.build({
    absWorkingDir: projectRoot,
    entryPoints: { deaddrop: 'electron/core/cli/bin.ts', 'deaddrop-server': 'server/cli.ts', ...workerEntries },
    outdir: outDir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    outExtension: { '.js': '.js' },
    banner: { js: esmRequireBanner },
    sourcemap: true,
    minify,
    legalComments: 'none',
    external,
    logLevel: 'warning',
    metafile: true,
    plugins: [relocateAssetUrls(outDir, copies)],
  });
  for (const [from, to] of copies) {
    await mkdir(path.dirname(to), { recursive: true });
    await copyFile(from, to);
  }
  return result;
}
