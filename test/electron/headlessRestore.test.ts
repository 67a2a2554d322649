import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HeadlessMain, startHeadlessMain } from './fakes/headlessMain.js';

// A profile whose local drop server ran at the last shutdown gets it back at launch, on the same port.

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('main restores the local drop server at launch', () => {
  let main: HeadlessMain;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    main = await startHeadlessMain(
      'restore',
      (dir) => writeFile(path.join(dir, 'index.html'), '<!doctype html><title>Deaddrop</title>'),
      (profileDir) => writeFile(path.join(profileDir, 'desktop-settings.json'), JSON.stringify({ localServer: { port, expose: false } })),
    );
  }, 120_000);
  afterAll(async () => main?.stop());

  it('is running on the saved port and answers', async () => {
    const status = await main.call('localServer/status', {});
    expect(status).toMatchObject({ ok: true, value: { running: true, url: `http://127.0.0.1:${port}` } });
    expect((await fetch(`http://127.0.0.1:${port}/health`)).ok).toBe(true);
  });
});
