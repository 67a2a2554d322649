import { existsSync } from 'node:fs';
import { playwright } from '@vitest/browser-playwright';
import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './test/support/chromium.js';

const nodeProject: TestProjectInlineConfiguration = {
  extends: true,
  test: {
    name: 'node',
    include: ['shared/**/*.test.ts', 'server/**/*.test.ts', 'electron/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['node_modules/**', 'test/e2e/**'],
    pool: 'forks',
    // GitHub's workflow parser imports its JSON schema without an import attribute, which Node's own
    // loader refuses: let Vite load it.
    server: { deps: { inline: ['@actions/workflow-parser'] } },
  },
};

/**
 * The shared/protocol tests again, in real Chromium: proves shared/ is runtime-neutral (WebCrypto,
 * libsodium WASM, no Node APIs). `*.browser.ts` files under test/browser run only here, and so do the
 * renderer's own tests (real Chromium, real IndexedDB).
 */
const browserProject: TestProjectInlineConfiguration = {
  extends: true,
  test: {
    name: 'browser',
    include: ['shared/protocol/**/*.test.ts', 'test/browser/**/*.browser.ts', 'renderer/**/*.test.ts', 'renderer/**/*.test.tsx'],
    browser: {
      enabled: true,
      headless: true,
      screenshotFailures: false,
      provider: playwright({ launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS } }),
      instances: [{ browser: 'chromium' }],
    },
  },
};

const hasChromium = existsSync(CHROMIUM_PATH);
if (!hasChromium) {
  console.warn(`vitest: browser project skipped: no Chromium at ${CHROMIUM_PATH} (install the Debian package "chromium")`);
}

export default defineConfig({
  test: {
    globalSetup: ['test/setup/buildNodeCommands.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: hasChromium ? [nodeProject, browserProject] : [nodeProject],
  },
});
