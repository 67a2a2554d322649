/** Running the server as users do: first line, flags and environment, crashes, signals, bad input. */
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { deposit, fetchDrop, newDropId, postMessage } from './dropClient.js';
import { metricsText, TEST_METRICS_TOKEN } from './inProcessServer.js';
import { makeDataDir, removeDataDir, runCli, startServerProcess, type ServerProcess } from './serverProcess.js';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function started(args: string[] = [], env: NodeJS.ProcessEnv = {}, dataDir = makeDataDir()): Promise<ServerProcess> {
  const server = await startServerProcess(dataDir, args, env);
  cleanups.push(() => removeDataDir(dataDir), () => server.kill9());
  return server;
}

describe('deaddrop-server process', () => {
  it('prints exactly "listening on <url>" first, with the service path', async () => {
    const server = await started(['--base-path', '/tools/drop']);
    expect(server.output().split('\n')[0]).toBe(`listening on http://127.0.0.1:${server.port}/tools/drop`);
  });

  it('keeps a message that got its 200 through kill -9 and a restart', async () => {
    const dataDir = makeDataDir();
    const first = await started([], {}, dataDir);
    const id = newDropId();
    const body = new Uint8Array(2149).map((_, i) => (i * 7) % 256);
    await deposit(`${first.url}/${id}`, body);
    await first.kill9();
    const second = await started([], {}, dataDir);
    const { parts } = await fetchDrop(`${second.url}/${id}`);
    expect(parts).toHaveLength(1);
    expect(Buffer.from(parts[0]!.body).equals(Buffer.from(body))).toBe(true);
  });

  it('refuses a second server on the same SQLite file, and frees it when the first dies', async () => {
    const dataDir = makeDataDir();
    const first = await started([], {}, dataDir);
    const db = `sqlite:${join(dataDir, 'drops.db')}`;
    const second = await runCli(['--port', '0', '--db', db]);
    expect(second.code).not.toBe(0);
    expect(second.stderr.trim().split('\n')).toHaveLength(1);
    expect(second.stderr).toContain('in use by another drop server');
    await first.kill9();
    const third = await started([], {}, dataDir);
    expect((await fetch(`${third.url}/health`)).status).toBe(200);
  });

  it('finishes a request in flight on SIGTERM, then exits 0', async () => {
    const server = await started(['--metrics-token', TEST_METRICS_TOKEN]);
    const id = newDropId();
    const socket = connect(server.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let response = '';
    socket.on('data', (d: Buffer) => (response += d.toString()));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write(`POST /${id} HTTP/1.1\r\nHost: x\r\nAuthorization: Client Qabel\r\nContent-Length: 10\r\n\r\n12345`);
    // Wait until the server has read the partial request (it shows up as an open connection).
    await expect.poll(async () => (await metricsText(server.url)).includes('deaddrop_http_connections 2')).toBe(true);
    const exitCode = server.stop();
    socket.write('67890');
    await closed;
    expect(response).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(await exitCode).toBe(0);
  });

  it('exits 0 on SIGINT', async () => {
    const server = await started();
    const exited = new Promise((resolve) => server.child.once('exit', (code, signal) => resolve({ code, signal })));
    server.child.kill('SIGINT');
    expect(await exited, server.output()).toEqual({ code: 0, signal: null });
  });

  it('reads every setting from its environment twin', async () => {
    const server = await started([], { DEADDROP_BASE_PATH: '/env', DEADDROP_MAX_MESSAGE_BYTES: '100', DEADDROP_LOG_LEVEL: 'warn' });
    expect(server.url).toMatch(/\/env$/);
    expect((await postMessage(`${server.url}/${newDropId()}`, new Uint8Array(100))).status).toBe(200);
    expect((await postMessage(`${server.url}/${newDropId()}`, new Uint8Array(101))).status).toBe(413);
  });

  it('prints usage for --help', async () => {
    const { code, stdout } = await runCli(['--help']);
    expect(code).toBe(0);
    for (const flag of ['--host', '--port', '--db', '--base-path', '--max-message-bytes', '--ttl', '--quota', '--token', '--log-level']) {
      expect(stdout).toContain(flag);
    }
  });

  it.each([
    [['--port', 'abc'], '--port'],
    [['--port', '70000'], '--port'],
    [['--ttl', '5 fortnights'], '--ttl'],
    [['--quota', 'lots'], '--quota'],
    [['--base-path', 'no-slash'], '--base-path'],
    [['--db', 'mysql://x'], '--db'],
    [['--log-level', 'loud'], '--log-level'],
    [['--token', 'short'], '--token'],
    [['--frobnicate'], 'frobnicate'],
    [['--db', 'postgres://postgres@127.0.0.1:1/none'], 'database'],
    [['--host', '203.0.113.1'], 'cannot start'],
  ])('refuses %j with one clear line and a non-zero exit', async (args, mention) => {
    const withDb = args.includes('--db') ? args : [...args, '--db', 'sqlite::memory:'];
    const { code, stdout, stderr } = await runCli(withDb);
    expect(code).not.toBe(0);
    expect(stdout).toBe('');
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^deaddrop-server: /);
    expect(lines[0]).toContain(mention);
  });

  it('refuses a port that is taken', async () => {
    const server = await started();
    const { code, stderr } = await runCli(['--port', String(server.port), '--db', 'sqlite::memory:']);
    expect(code).not.toBe(0);
    expect(stderr.trim()).toBe(
      `deaddrop-server: cannot start: port ${server.port} is already in use: stop the program using it, or choose another with --port (0 picks a free one)`,
    );
  });

  it('never logs drop IDs or client addresses', async () => {
    const server = await started(['--log-level', 'debug']);
    const id = newDropId();
    await deposit(`${server.url}/${id}`, Uint8Array.of(1));
    await postMessage(`${server.url}/${id}`, new Uint8Array(5000));
    await fetchDrop(`${server.url}/${id}`);
    await fetch(`${server.url}/${id}`, { method: 'PUT' });
    await server.stop();
    const log = server.output().split('\n').slice(1).join('\n');
    expect(log).toContain('shutting down');
    expect(log).not.toContain(id);
    expect(log).not.toContain('127.0.0.1');
  });
});
