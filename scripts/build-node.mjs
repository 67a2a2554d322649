#!/usr/bin/env node
// `npm run build:node` (and `prepare`, so `npm ci` builds it): bundles the `deaddrop` and
// `deaddrop-server` commands into dist-node/. Without devDependencies (`npm ci --omit=dev` in a
// checkout) there is no esbuild: then say so and leave whatever dist-node/ holds.
let build;
try {
  ({ buildNodeCommands: build } = await import('./nodeBundles.mjs'));
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
  console.log('build:node skipped: esbuild is not installed (devDependencies omitted)');
  process.exit(0);
}
const started = Date.now();
const result = await build();
const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
console.log(`dist-node built in ${Date.now() - started} ms (${(bytes / 1024).toFixed(0)} KiB with source maps)`);
