import { defineConfig } from 'vite';

/**
 * A page that exposes the renderer's database layer to browser tests (test/e2e/db.spec.ts), kept out of the product's folder, so
 * IndexedDB code runs in real Chromium. Built only by that test; never part of the app bundle.
 */
export default defineConfig({
  root: 'test/dbHarness',
  base: './',
  logLevel: 'warn',
  build: { outDir: '../../test-results/db-harness', emptyOutDir: true, minify: false },
});
