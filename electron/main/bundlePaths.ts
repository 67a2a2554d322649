import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Main runs as one bundle in dist-electron/: the preload and icons lie beside it, the UI in dist-renderer/ next to it.
const bundleDir = path.dirname(fileURLToPath(import.meta.url));

/** The built UI the app scheme serves. */
export const rendererDir = path.join(bundleDir, '..', 'dist-renderer');
export const preloadPath = path.join(bundleDir, 'preload.cjs');

/** An icon copied beside the bundle by the Electron build. */
export function iconPath(name: string): string {
  return path.join(bundleDir, 'icons', name);
}
