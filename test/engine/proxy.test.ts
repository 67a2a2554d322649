import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProcess, startServerProcess } from './helpers/serverProcess.js';
import { type TestProxy, startHttpProxy, startSocksProxy } from './helpers/proxies.js';
import { type TestEngine, removeDir, startTestEngine } from './helpers/testEngine.js';
import { waitFor } from './helpers/waitFor.js';

describe('all drop traffic through a proxy', () => {
  let server: ServerProcess;
  let httpProxy: TestProxy;
  let socksProxy: TestProxy;
  let alice: TestEngine;
  let bob: TestEngine;

  beforeAll(async () => {
    server = await startServerProcess();
    httpProxy = await startHttpProxy();
    socksProxy = await startSocksProxy();
    alice = await startTestEngine();
    bob = await startTestEngine();
  });
  afterAll(async () => {
    await alice?.close();
    await bob?.close();
    await httpProxy?.close();
    await socksProxy?.close();
    await server?.stop();
    for (const e of [alice, bob]) if (e) removeDir(e.dataDir);
  });

  it('sends through an HTTP proxy and receives through a SOCKS5 proxy', async () => {
    await alice.call('settings/set', { proxy: { kind: 'http', url: httpProxy.url } });
    await bob.call('settings/set', { proxy: { kind: 'socks5', url: socksProxy.url }, pollIntervalMs: 1000 });
    const aliceId = await alice.call('identities/create', { alias: 'alice', serverUrl: server.url });
    const bobId = await bob.call('identities/create', { alias: 'bob', serverUrl: server.url });
    await alice.call('messages/send', {
      identityId: aliceId.id,
      localId: 'via-proxy',
      recipient: { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls },
      text: 'through the tunnel',
      wantReceipt: false,
    });
    await waitFor(() => bob.of('inbox/batch').some((b) => b.messages.some((m) => m.text === 'through the tunnel')), 'message via proxies');
    // The push sockets go through the proxies too: one tunnel for HTTP, one for the WebSocket.
    for (const engine of [alice, bob]) await waitFor(async () => (await engine.call('servers/status', {}))[0]?.pushConnected, 'push through the proxy');
    const target = `127.0.0.1:${server.port}`;
    expect(httpProxy.targets.filter((t) => t === target).length).toBeGreaterThanOrEqual(2);
    expect(socksProxy.targets.filter((t) => t === target).length).toBeGreaterThanOrEqual(2);
    expect([...httpProxy.targets, ...socksProxy.targets].every((t) => t === target)).toBe(true);
  });

  it('rejects a malformed proxy address', async () => {
    await expect(alice.call('settings/set', { proxy: { kind: 'socks5', url: 'http://127.0.0.1:1080' } })).rejects.toThrow(/bad_input/);
  });
});
