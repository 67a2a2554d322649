// esbuild configuration of the desktop app: main (ESM), preload (CommonJS: sandboxed preloads cannot be
// ESM) and the crypto and stamp workers (their own entries, so the packaged app never needs tsx). Shared by
// `build-electron.mjs` and the bundle security test, so the test scans exactly what ships.
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Native or optional modules that stay in node_modules (rebuilt for Electron by electron-builder). */
export const external = ['electron', 'better-sqlite3', 'pg-native', 'bufferutil', 'utf-8-validate'];

/** Worker entries bundled on their own; a `new URL('…/x.ts', import.meta.url)` in core points at them. */
export const workerEntries = {
  'workers/cryptoWorker': 'electron/workers/cryptoWorker.ts',
  // Proof-of-work stamps (electron/core/spam/stamper.ts), computed only when a drop server asks.
  'workers/stampWorker': 'electron/workers/stampWorker.ts',
};

// CommonJS dependencies bundled into ESM still call require() for Node built-ins.
export const esmRequireBanner =
  "import { createRequire as __deaddropCreateRequire } from 'node:module';\n" +
  'const require = __deaddropCreateRequire(import.meta.url);';

const assetUrlPattern = /new URL\(\s*(['"])(\.{1,2}\/[^'"]+)\1\s*,\s*import\.meta\.url\s*\)/g;

/**
 * esbuild leaves `new URL('./relative', import.meta.url)` alone, but after bundling `import.meta.url` is
 * the bundle's, not the source file's. This plugin rewrites each such URL in our sources to a path next
 * to the bundle: `.ts` targets must be worker entries (bundled as `.js`), other files are copied.
 * An unknown `.ts` target fails the build instead of shipping a path that cannot exist.
 */
export function relocateAssetUrls(outDir, copies) {
  const workerOutputs = new Map(
    Object.entries(workerEntries).map(([out, source]) => [path.join(projectRoot, source), `./${out}.js`]),
  );
  return {
    name: 'relocate-asset-urls',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, async (args) => {
        if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
        const source = await readFile(args.path, 'utf8');
        if (!source.includes('import.meta.url')) return undefined;
        const errors = [];
        const contents = source.replace(assetUrlPattern, (whole, quote, relative) => {
          const target = path.resolve(path.dirname(args.path), relative);
          let rewritten = workerOutputs.get(target);
          if (!rewritten) {
            if (target.endsWith('.ts')) {
              errors.push({ text: `${path.relative(projectRoot, target)} is not a bundled worker entry` });
              return whole;
            }
            rewritten = `./workers/${path.basename(target)}`;
            copies.set(target, path.join(outDir, 'workers', path.basename(target)));
          }
          return `new URL(${quote}${rewritten}${quote}, import.meta.url)`;
        });
        return { contents, loader: 'ts', errors };
      });
    },
  };
}

/** The three esbuild builds; `copies` collects files the bundles reference at run time. */
export function bundleOptions(outDir, { minify = false, copies = new Map() } = {}) {
  const common = {
    absWorkingDir: projectRoot,
    bundle: true,
    platform: 'node',
    target: 'node22',
    sourcemap: true,
    minify,
    legalComments: 'none',
    external,
    logLevel: 'warning',
  };
  return [
    {
      ...common,
      entryPoints: { main: 'electron/main/main.ts', ...workerEntries },
      outdir: outDir,
      format: 'esm',
      outExtension: { '.js': '.js' },
      banner: { js: esmRequireBanner },
      plugins: [relocateAssetUrls(outDir, copies)],
    },
    {
      ...common,
      entryPoints: { preload: 'electron/preload/preload.ts' },
      outdir: outDir,
      format: 'cjs',
      outExtension: { '.js': '.cjs' },
      target: 'chrome130',
    },
  ];
}

/** Icons main loads at run time: [file in build/icons, name in dist-electron/icons]. */
const iconFiles = [
  ['256x256.png', 'icon.png'],
  ['tray.png', 'tray.png'],
  ['trayTemplate.png', 'trayTemplate.png'],
  ['trayTemplate@2x.png', 'trayTemplate@2x.png'],
  ['overlay.png', 'overlay.png'],
];

/** Builds every bundle into `outDir` (default `dist-electron/`) and copies run-time files next to them. */
export async function buildElectron({ outDir = path.join(projectRoot, 'dist-electron'), minify = false } = {}) {
  const copies = new Map();
  const results = [];
  for (const options of bundleOptions(outDir, { minify, copies })) results.push(await esbuild.build({ ...options, metafile: true }));
  for (const [from, to] of copies) {
    await mkdir(path.dirname(to), { recursive: true });
    await copyFile(from, to);
  }
  await mkdir(path.join(outDir, 'icons'), { recursive: true });
  for (const [from, to] of iconFiles) await copyFile(path.join(projectRoot, 'build', 'icons', from), path.join(outDir, 'icons', to));
  return results;
}
