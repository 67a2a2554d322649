#!/usr/bin/env node
// `npm run dev [-- --profile NAME]`: Vite's dev server with hot reload for the UI, esbuild in watch mode
// for main/preload/worker, and Electron restarted whenever those bundles change.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { createServer } from 'vite';
import { buildElectron, bundleOptions, projectRoot } from './electronBundles.mjs';
import { buildNodeCommands } from './nodeBundles.mjs';

const require = createRequire(import.meta.url);
let electronBinary;
try {
  electronBinary = require('electron');
} catch {
  console.error('npm run dev needs the Electron binary, which is not installed (ELECTRON_SKIP_BINARY_DOWNLOAD?).');
  console.error('Use `npm run dev:web` for the UI alone, or reinstall electron where it can be downloaded.');
  process.exit(1);
}

const outDir = path.join(projectRoot, 'dist-electron');
await buildElectron({ outDir });
// From source the local drop server runs `bin/deaddrop-server.mjs`, which loads dist-node/.
await buildNodeCommands({ minify: false });
const vite = await createServer({ configFile: path.join(projectRoot, 'renderer', 'vite.config.ts') });
await vite.listen();
const devServerUrl = vite.resolvedUrls?.local[0];
if (!devServerUrl) throw new Error('Vite did not report its URL');
console.log(`renderer dev server: ${devServerUrl}`);

let child = null;
let restarting = false;
let stopping = false;
const launch = () => {
  child = spawn(electronBinary, ['.', ...process.argv.slice(2)], {
    cwd: projectRoot,
    stdio: 'inherit',
    env: { ...process.env, DEADDROP_DEV_SERVER_URL: devServerUrl },
  });
  child.on('exit', () => {
    if (restarting) {
      restarting = false;
      launch();
    } else void stop();
  });
};

const stop = async () => {
  if (stopping) return;
  stopping = true;
  await Promise.all(contexts.map((context) => context.dispose()));
  await vite.close();
  if (child && child.exitCode === null) child.kill();
};

// Rebuild the Electron side on change and restart the app; the UI reloads itself through Vite.
let builds = 0;
const restartPlugin = {
  name: 'restart-electron',
  setup(build) {
    build.onEnd((result) => {
      if (result.errors.length > 0 || ++builds <= contextsCount) return;
      if (child && child.exitCode === null) {
        restarting = true;
        child.kill();
      }
    });
  },
};
const options = bundleOptions(outDir);
const contextsCount = options.length;
const contexts = await Promise.all(
  options.map((o) => esbuild.context({ ...o, plugins: [...(o.plugins ?? []), restartPlugin] })),
);
await Promise.all(contexts.map((context) => context.watch()));
launch();
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
// Vite's own signal handling may end the process first: Electron must not outlive the runner.
process.on('exit', () => {
  if (child && child.exitCode === null) child.kill();
});
