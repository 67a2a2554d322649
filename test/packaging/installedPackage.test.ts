/**
 * The package as a user installs it: `npm pack`, then the tarball installed into an empty folder
 * without devDependencies (no tsx, no esbuild), and the two commands run from there: the server
 * starts, and two identities made with the installed CLI exchange a message through it.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnDropServer } from '../../server/index.js';
import { repoRoot } from '../server/serverProcess.js';

const run = promisify(execFile);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

describe('the packed package, installed without devDependencies', { timeout: 600_000 }, () => {
  let dir: string;
  let bin: (name: string) => string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'deaddrop-installed-'));
    const { stdout } = await run(npm, ['pack', '--silent', '--pack-destination', dir], { cwd: repoRoot, maxBuffer: 1 << 24 });
    const tarball = join(dir, stdout.trim().split('\n').at(-1)!);
    const app = join(dir, 'app');
    await run('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), '{"name":"installed-app","private":true}');
    await run(npm, ['install', tarball, '--omit=dev', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: app,
      maxBuffer: 1 << 24,
      env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' },
    });
    bin = (name) => join(app, 'node_modules', '.bin', name);
  }, 600_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('holds the compiled commands and no TypeScript loader', () => {
    const installed = join(dir, 'app', 'node_modules');
    expect(existsSync(join(installed, 'deaddrop', 'dist-node', 'deaddrop.js'))).toBe(true);
    expect(existsSync(join(installed, 'deaddrop', 'dist-node', 'workers', 'cryptoWorker.js'))).toBe(true);
    expect(existsSync(join(installed, 'tsx'))).toBe(false);
    expect(existsSync(join(installed, 'esbuild'))).toBe(false);
  });

  it('runs deaddrop-server and deaddrop: help, start, send and fetch', async () => {
    const help = await run(bin('deaddrop-server'), ['--help']);
    expect(help.stdout).toContain('Usage: deaddrop-server');

    const server = await spawnDropServer({
      command: bin('deaddrop-server'),
      args: ['--port', '0', '--db', `sqlite:${join(dir, 'data', 'drops.db')}`, '--log-level', 'warn'],
      startTimeoutMs: 20_000,
    });
    try {
      const { url } = server;
      const env = { ...process.env, DEADDROP_PASSPHRASE: 'installed package passphrase' };
      const cli = (args: string[]) => run(bin('deaddrop'), args, { cwd: dir, env });
      await cli(['id', 'new', '--alias', 'alice', '--server', url, '--out', 'alice.qid']);
      await cli(['id', 'new', '--alias', 'bob', '--server', url, '--out', 'bob.qid']);
      await cli(['id', 'card', '--id', 'bob.qid', '--qco', 'bob.qco']);
      expect(JSON.parse(readFileSync(join(dir, 'bob.qco'), 'utf8')).contacts[0].alias).toBe('bob');
      await cli(['send', '--id', 'alice.qid', '--to', 'bob.qco', '--text', 'hello from an installed package']);
      const fetched = await cli(['fetch', '--id', 'bob.qid', '--json']);
      const first = JSON.parse(fetched.stdout.split('\n')[0]!) as { text: string; alias: string };
      expect(first).toMatchObject({ text: 'hello from an installed package', alias: 'alice' });
    } finally {
      await server.stop();
    }
  });
});
