// Import rules of DESIGN.md's layout table, enforced here rather than by goodwill.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)].filter(
  (m) => !m.startsWith('_'),
);
const nodeImports = { group: ['node:*'], message: 'Node built-ins are not allowed in this runtime.' };
const electronImport = { name: 'electron', message: 'Only electron/main and electron/preload may import electron.' };
const bannedNodeNames = nodeBuiltins
  .filter((m) => !m.startsWith('node:'))
  .map((name) => ({ name, message: 'Node built-ins are not allowed in this runtime.' }));
const outside = (folders, why) => ({ group: folders.map((f) => `**/${f}/**`), message: why });

/** Globals that exist only in Node or only in a DOM page: shared/ must run in both. */
const runtimeSpecificGlobals = [
  'window', 'document', 'navigator', 'localStorage', 'sessionStorage', 'indexedDB', 'location',
  'Buffer', 'process', 'require', '__dirname', '__filename', 'global', 'setImmediate',
].map((name) => ({ name, message: 'shared/ runs in Node and the browser alike: no runtime-specific globals.' }));

export default tseslint.config(
  {
    ignores: [
      'node_modules/**', 'dist/**', 'dist-electron/**', 'dist-renderer/**', 'release/**',
      'test-results/**', 'playwright-report/**', 'artifacts/**', 'deaddrop-data/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.es2022 } },
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['shared/**/*.ts'],
    ignores: ['shared/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [electronImport, ...bannedNodeNames],
        patterns: [nodeImports, outside(['electron', 'server', 'renderer', 'test'], 'shared/ imports nothing outside shared/.')],
      }],
      'no-restricted-globals': ['error', ...runtimeSpecificGlobals],
    },
  },
  {
    files: ['electron/core/**/*.ts', 'electron/workers/**/*.ts'],
    languageOptions: { globals: { ...globals.node } },
    rules: {
      'no-restricted-imports': ['error', {
        paths: [electronImport],
        patterns: [outside(['renderer', 'main', 'preload', 'server'], 'core and workers import only shared/ and Node.')],
      }],
    },
  },
  {
    files: ['electron/main/**/*.ts'],
    languageOptions: { globals: { ...globals.node } },
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [outside(['renderer', 'preload'], 'main imports electron/core, shared/ and electron.')],
      }],
    },
  },
  {
    files: ['electron/preload/**/*.ts'],
    languageOptions: { globals: { ...globals.node } },
    rules: {
      'no-restricted-imports': ['error', {
        paths: bannedNodeNames,
        patterns: [nodeImports, outside(['renderer', 'main', 'core', 'workers', 'server'], 'preload imports only shared/ and electron.')],
      }],
    },
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.tsx'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': ['error', {
        paths: [electronImport, ...bannedNodeNames],
        patterns: [nodeImports, outside(['electron', 'server'], 'renderer talks to core only through the bridge.')],
      }],
    },
  },
  {
    files: ['server/**/*.ts'],
    languageOptions: { globals: { ...globals.node } },
    rules: {
      'no-restricted-imports': ['error', {
        paths: [electronImport],
        patterns: [outside(['electron', 'renderer'], 'server imports only shared/ and Node.')],
      }],
    },
  },
  {
    files: ['test/**/*.ts', 'bin/**/*.mjs', '**/*.test.ts', '*.config.ts', '*.config.js', 'scripts/**/*'],
    languageOptions: { globals: { ...globals.node } },
    rules: { 'no-console': 'off' },
  },
);
