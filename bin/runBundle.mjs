// Loads a command's bundle from dist-node/, or says in one line how to build it.
import { existsSync } from 'node:fs';

/** @param {string} name */
export async function runBundle(name) {
  const bundle = new URL(`../dist-node/${name}.js`, import.meta.url);
  if (!existsSync(bundle)) {
    process.stderr.write(`${name}: not built yet: run "npm run build:node" in ${new URL('..', import.meta.url).pathname}\n`);
    process.exit(2);
  }
  await import(bundle.href);
}
