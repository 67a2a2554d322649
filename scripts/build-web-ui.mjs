// `npm run web`'s build of the UI: the renderer is built into a sibling of dist-renderer/ and swapped in
// by rename, so a web host already serving dist-renderer/ (a second `npm run web` on another profile)
// never finds it emptied or half written. The host reads each file per request and serves the new build
// from then on; a page it served before gets its old assets once more from the browser's memory, or reloads.
//
//   node scripts/build-web-ui.mjs [--out dist-renderer]
import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'vite';
import { projectRoot } from './electronBundles.mjs';

/** Builds the renderer into `outDir`, replacing what it held in one rename. */
export async function buildWebUi(outDir) {
  const unique = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const building = `${outDir}.building-${unique}`;
  try {
    await build({
      configFile: path.join(projectRoot, 'renderer', 'vite.config.ts'),
      root: path.join(projectRoot, 'renderer'),
      logLevel: 'warn',
      build: { outDir: building, emptyOutDir: true },
    });
  } catch (error) {
    await rm(building, { recursive: true, force: true });
    throw error;
  }
  const old = `${outDir}.old-${unique}`;
  await rename(outDir, old).catch((error) => {
    if (error.code !== 'ENOENT') throw error;
  });
  await rename(building, outDir);
  await rm(old, { recursive: true, force: true });
}

const { values } = parseArgs({ options: { out: { type: 'string', default: 'dist-renderer' } } });
try {
  await buildWebUi(path.resolve(projectRoot, values.out));
} catch (error) {
  process.stderr.write(`deaddrop web: the UI could not be built: ${String(error?.message ?? error).split('\n')[0]}\n`);
  process.exit(1);
}
