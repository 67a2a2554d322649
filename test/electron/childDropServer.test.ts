import { access, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { PARENT_WATCH_IMPORT, childProcessServerStarter } from '../../electron/main/childDropServer.js';
import { startFailureMessage } from '../../electron/main/localDropServer.js';

// The from-source path of the local drop server: the project's server CLI in a Node child process.
const start = childProcessServerStarter({ node: process.execPath, serverScript: path.resolve('bin/deaddrop-server.mjs'), cwd: process.cwd() });

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'deaddrop-child-server-'));
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

describe('drop server in a Node child process', () => {
  it('starts on loopback with its database where asked, answers, and frees the port on close', async () => {
    const server = await start({ host: '127.0.0.1', port: 0, db: `sqlite:${path.join(dir, 'drops.db')}` });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
      expect(server.port).toBeGreaterThan(0);
      expect((await fetch(`${server.url.replace(/\/+$/, '')}/health`)).status).toBe(200);
      await access(path.join(dir, 'drops.db'));
    } finally {
      await server.close();
    }
    expect(await portIsFree(server.port)).toBe(true);
    await server.close();
  }, 60_000);
  it('rejects with words the shell turns into "port in use"', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const failure = await start({ host: '127.0.0.1', port, db: `sqlite:${path.join(dir, 'drops.db')}` }).then(
        () => null,
        (err: unknown) => err,
      );
      expect(failure).toBeInstanceOf(Error);
      expect(startFailureMessage(failure, port)).toBe(`Port ${port} is already in use.`);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  }, 60_000);
  it('rejects when the binary cannot run', async () => {
    const broken = childProcessServerStarter({ node: path.join(dir, 'no-node'), serverScript: 'x.mjs', cwd: dir });
    await expect(broken({ host: '127.0.0.1', port: 0, db: 'sqlite::memory:' })).rejects.toThrow(/ENOENT/);
  });
  it('stops a child whose app went away (its stdin pipe ended) through its SIGTERM handler', async () => {
    const child = spawn(process.execPath, ['--import', PARENT_WATCH_IMPORT, '-e', 'process.on("SIGTERM", () => { process.stdout.write("clean stop"); process.exit(0); }); setInterval(() => {}, 1000);'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    child.stdin.end();
    expect(await exited).toBe(0);
    expect(output).toBe('clean stop');
  }, 30_000);
});
