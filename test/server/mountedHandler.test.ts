/** The drop service mounted in an existing application (createDropHandler): beside the host's own routes, push included. */
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createDropHandler } from '../../server/index.js';
import { deposit, fetchDrop, newDropId } from './dropClient.js';
import { startExpressHost } from './expressHost.js';
import { serversPerTest } from './inProcessServer.js';
import { subscribe } from './pushClient.js';
import { makeDataDir, removeDataDir } from './serverProcess.js';

const { cleanups } = serversPerTest(afterEach);

describe.each(['/tools/drop', '/'])('mounted in Express with app.use(%s, middleware)', (mountPath) => {
  it('serves drops and push under /tools/drop and leaves every other path to the host', async () => {
    const host = await startExpressHost({ mountPath });
    cleanups.push(() => host.stop());
    const url = `${host.url}/${newDropId()}`;

    const sub = await subscribe(url);
    cleanups.push(() => sub.close());
    await deposit(url, Uint8Array.of(1, 2, 3));
    expect(Array.from((await sub.next()).body)).toEqual([1, 2, 3]);
    const got = await fetchDrop(url);
    expect(got.parts.map((p) => Array.from(p.body))).toEqual([[1, 2, 3]]);
    expect((await fetchDrop(url, { 'X-Qabel-New-Since': got.latest! })).status).toBe(304);

    expect(await (await fetch(`${host.origin}/`)).text()).toBe('host home');
    expect(await (await fetch(`${host.origin}/api/hello`)).json()).toEqual({ hello: 'world' });
    expect(await (await fetch(`${host.origin}/tools/after`)).text()).toBe('host route after the drops');
    // The root's /health is the host's business; the service's own answers under its path.
    expect((await fetch(`${host.origin}/health`)).status).toBe(404);
    expect(await (await fetch(`${host.url}/health`)).json()).toEqual({ status: 'ok' });
    expect(((await (await fetch(host.url)).json()) as { service: string }).service).toBe('deaddrop-server');
  });
});

describe('the plain request listener', () => {
  it('serves a node:http server of the host, with push attached', async () => {
    const dataDir = makeDataDir();
    const drops = await createDropHandler({ db: `sqlite:${join(dataDir, 'drops.db')}`, basePath: '/drops', logLevel: 'warn' });
    const server: Server = createServer(drops.listener);
    drops.attach(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await drops.close();
      removeDataDir(dataDir);
    });
    const address = server.address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const url = `${base}/drops/${newDropId()}`;
    const sub = await subscribe(url);
    cleanups.push(() => sub.close());
    await deposit(url, Uint8Array.of(9));
    expect(Array.from((await sub.next()).body)).toEqual([9]);
    expect((await fetch(`${base}/elsewhere`)).status).toBe(404);
  });
});
