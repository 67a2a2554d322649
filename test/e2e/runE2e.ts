/**
 * `npm run test:e2e`: builds the renderer, then runs the Playwright suite in the system Chromium.
 * Where no Chromium exists the suite is skipped with the reason printed (exit 0).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CHROMIUM_PATH } from '../../playwright.config.js';

if (!existsSync(CHROMIUM_PATH)) {
  console.warn(`e2e: skipped: no Chromium at ${CHROMIUM_PATH} (install the Debian package "chromium")`);
  process.exit(0);
}
const run = (command: string, args: string[]) => spawnSync(command, args, { stdio: 'inherit' }).status ?? 1;
const built = run('npm', ['run', '--silent', 'build:renderer']);
if (built !== 0) process.exit(built);
process.exit(run('npx', ['playwright', 'test', ...process.argv.slice(2)]));
