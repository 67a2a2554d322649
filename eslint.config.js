// Import rules of DESIGN.md's layout table, enforced here rather than by goodwill.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import layering from './eslint/layering.mjs';

/** npm packages by where they run. A layer below may import only the packages its allow-list names. */
const packages = {
  /** Plain JavaScript and WASM that runs in Node, the browser and workers alike: what shared/ uses. */
  portable: ['zod', 'libsodium-wrappers', 'libsodium-wrappers-sumo'],
  /** Node only: HTTP client and proxies, WebSocket, databases. */
  node: ['undici', 'ws', 'socks', 'better-sqlite3', 'pg'],
  /** The renderer's UI, state, database and QR code libraries. */
  browser: ['react', 'react-dom', 'dexie', 'zustand', 'jsqr', 'qrcode', '@tanstack/react-virtual', '@noble/ciphers', 'confusables'],
  /** What unit tests beside the code may use on top of their folder's allow-list. */
  test: ['vitest', 'fast-check'],
};

/**
 * The layout table of DESIGN.md as allow-lists: a file belongs to the layer with the longest matching
 * `from` entry (a folder ends with `/`), and may import only what that layer's `may` lists. A file in no
 * layer is an error, so a new folder has to be placed here before it can hold code.
 */
const layers = [
  { from: ['shared/'], may: { folders: ['shared/'], packages: packages.portable } },
  {
    from: ['electron/core/'],
    may: {
      folders: ['electron/core/', 'shared/'],
      // The crypto worker's message protocol is the one contract between the pool in core and the worker
      // thread, and it belongs to the worker; core imports exactly that file, like main imports
      // server/index.ts and nothing else of server/.
      files: ['electron/workers/cryptoProtocol.ts'],
      node: true,
      packages: [...packages.portable, ...packages.node],
    },
  },
  { from: ['electron/workers/'], may: { folders: ['electron/workers/', 'shared/'], node: true, packages: packages.portable } },
  {
    // The worker bootstrap loads the entry module the pool names (the worker itself, or a test's
    // fault-injection entry), after registering tsx when that entry is TypeScript source.
    from: ['electron/workers/bootstrap.mjs'],
    may: { folders: ['electron/workers/'], node: true, packages: ['tsx'], computedImports: true },
  },
  {
    from: ['electron/main/'],
    may: { folders: ['electron/main/', 'electron/core/', 'shared/'], files: ['server/index.ts'], node: true, packages: ['electron', ...packages.portable] },
  },
  { from: ['electron/preload/'], may: { folders: ['electron/preload/', 'shared/'], packages: ['electron', ...packages.portable] } },
  { from: ['renderer/'], may: { folders: ['renderer/', 'shared/'], packages: [...packages.portable, ...packages.browser] } },
  { from: ['server/'], may: { folders: ['server/', 'shared/'], node: true, packages: [...packages.portable, ...packages.node] } },
  {
    from: ['tools/'],
    may: { folders: ['tools/', 'electron/core/', 'shared/'], files: ['server/index.ts'], node: true, packages: [...packages.portable, ...packages.node] },
  },
  // The commands' entry points start the bundles built into dist-node/, named by the command.
  { from: ['bin/'], may: { folders: ['bin/', 'dist-node/'], node: true, computedImports: true } },
  {
    // Tests, build scripts and tool configuration run in Node at development time and see everything.
    from: [
      'test/', 'scripts/', 'eslint/',
      'eslint.config.js', 'vitest.config.ts', 'playwright.config.ts', 'renderer/vite.config.ts',
    ],
    may: { everything: true },
  },
];

/** Globals that exist only in Node or only in a DOM page: shared/ must run in both. */
const runtimeSpecificGlobalNames = [
  'window', 'document', 'navigator', 'localStorage', 'sessionStorage', 'indexedDB', 'location',
  'Buffer', 'process', 'require', '__dirname', '__filename', 'global', 'self', 'setImmediate',
];
const sharedRuntimeMessage = 'shared/ runs in Node and the browser alike: no runtime-specific globals.';

export default tseslint.config(
  {
    ignores: [
      'node_modules/**', 'dist/**', 'dist-electron/**', 'dist-renderer/**', 'dist-node/**', 'release/**',
      'test-results/**', 'playwright-report/**', 'artifacts/**', 'deaddrop-data/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.es2022 } },
    plugins: { deaddrop: layering },
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'deaddrop/layering': ['error', {
        root: import.meta.dirname,
        layers,
        testFiles: String.raw`\.test\.tsx?$`,
        tests: { folders: ['test/'], packages: packages.test },
      }],
    },
  },
  {
    files: ['shared/**/*.ts'],
    ignores: ['shared/**/*.test.ts'],
    rules: {
      'no-restricted-globals': ['error', ...runtimeSpecificGlobalNames.map((name) => ({ name, message: sharedRuntimeMessage }))],
      // The same globals reached through globalThis (also `globalThis['process']` and destructuring).
      'no-restricted-properties': ['error', ...runtimeSpecificGlobalNames.map((property) => ({ object: 'globalThis', property, message: sharedRuntimeMessage }))],
    },
  },
  {
    files: ['electron/**/*.ts', 'electron/**/*.mjs', 'server/**/*.ts', 'tools/**/*.ts', 'bin/**/*.mjs'],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.tsx', 'test/dbHarness/dbHarness.ts'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['test/**/*.ts', 'bin/**/*.mjs', '**/*.test.ts', '*.config.ts', '*.config.js', 'scripts/**/*', 'eslint/**/*'],
    languageOptions: { globals: { ...globals.node } },
    rules: { 'no-console': 'off' },
  },
);
