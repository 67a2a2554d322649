/**
 * Vitest global setup: the `deaddrop` and `deaddrop-server` commands run their dist-node/ bundles
 * (as installed packages do), so build them from the current sources before any test spawns one.
 */
// @ts-expect-error: a plain .mjs build script without type declarations
import { buildNodeCommands } from '../../scripts/nodeBundles.mjs';

export default async function setup(): Promise<void> {
  await (buildNodeCommands as (options?: { minify?: boolean }) => Promise<unknown>)({ minify: false });
}
