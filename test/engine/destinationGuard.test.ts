/**
 * The destination guard against a real recording server on 127.0.0.1: every spelling of a loopback
 * address is refused before a connection is made, names are judged on what DNS answers when the
 * socket connects (a rebinding name gets nowhere), push sockets are held to the same rule, and the
 * user's own servers and an explicit allowance open the way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IncomingMessage, type Server, createServer } from 'node:http';
import type { LookupAddress } from 'node:dns';
import WebSocket from 'ws';
import { generateDropId } from '../../shared/protocol/dropId.js';
import { DestinationRefusedError } from '../../electron/core/net/destinationGuard.js';
import { Network } from '../../electron/core/net/network.js';
import { randomPdu } from './helpers/craft.js';

let recorder: Server;
let port: number;
const seen: IncomingMessage[] = [];

beforeAll(async () => {
  recorder = createServer((req, res) => {
    seen.push(req);
    res.writeHead(200).end();
  });
  recorder.on('upgrade', (req, socket) => {
    seen.push(req);
    socket.destroy();
  });
  await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve));
  port = (recorder.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((resolve) => recorder.close(() => resolve())));

function network(rules: { allowLocalNetwork?: boolean; trusted?: string[]; answers?: (name: string) => LookupAddress[] } = {}) {
  const lookups: string[] = [];
  const net = new Network({
    timeoutMs: 2000,
    rules: { allowLocalNetwork: () => rules.allowLocalNetwork === true, trustedOrigins: () => new Set(rules.trusted ?? []) },
    resolve: (name, callback) => {
      lookups.push(name);
      const answers = rules.answers?.(name);
      if (answers) callback(null, answers);
      else callback(Object.assign(new Error(`no such name ${name}`), { code: 'ENOTFOUND' }), []);
    },
  });
  return { net, lookups };
}

const SPELLINGS = ['127.0.0.1', '127.1', '2130706433', '0x7f.1', '0x7f000001', '0177.0.0.1', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', 'localhost', '[::1]', '0.0.0.0', '[::]'];

describe('destination guard', () => {
  it('refuses every spelling of a loopback address without connecting', async () => {
    const { net } = network();
    try {
      for (const host of SPELLINGS) {
        const url = `http://${host}:${port}/cgi-bin/admin/${generateDropId()}`;
        await expect(net.client.post(url, randomPdu(2149)), host).rejects.toMatchObject({ kind: 'refused', retryable: false });
        await expect(net.client.fetch(url, null), host).rejects.toMatchObject({ kind: 'refused' });
        expect(() => net.pushConnection(url.replace('http:', 'ws:') + '/ws'), host).toThrow(DestinationRefusedError);
      }
      expect(seen).toHaveLength(0);
    } finally {
      await net.close();
    }
  });

  it('judges names by the addresses DNS gives when the socket connects (rebinding gets nowhere)', async () => {
    let answer: LookupAddress[] = [{ address: '127.0.0.1', family: 4 }];
    const { net, lookups } = network({ answers: () => answer });
    try {
      const url = `http://rebind.example:${port}/${generateDropId()}`;
      await expect(net.client.post(url, randomPdu(2149))).rejects.toMatchObject({ kind: 'refused', message: expect.stringMatching(/rebind\.example.*loopback/) });
      answer = [{ address: '10.1.2.3', family: 4 }, { address: '::ffff:127.0.0.1', family: 6 }, { address: 'fe80::1', family: 6 }];
      await expect(net.client.post(url, randomPdu(2149))).rejects.toMatchObject({ kind: 'refused' });
      // Each connection asks DNS again at connect time: no answer from an earlier check is reused.
      expect(lookups).toEqual(['rebind.example', 'rebind.example']);

      const push = net.pushConnection(`ws://rebind.example:${port}/${generateDropId()}/ws`);
      expect(push.lookup).toBe(net.guard.publicOnlyLookup);
      const socket = new WebSocket(`ws://rebind.example:${port}/x/ws`, { lookup: push.lookup });
      const failure = await new Promise<Error>((resolve) => socket.once('error', resolve));
      expect(failure).toBeInstanceOf(DestinationRefusedError);
      expect(seen).toHaveLength(0);
    } finally {
      await net.close();
    }
  });

  it('hands out only the public addresses of a name', async () => {
    const { net } = network({ answers: () => [{ address: '127.0.0.1', family: 4 }, { address: '93.184.215.14', family: 4 }, { address: '2606:2800:21f:cb07::1', family: 6 }] });
    const lookup = (options: object) =>
      new Promise<unknown>((resolve, reject) =>
        (net.guard.publicOnlyLookup as unknown as (h: string, o: object, cb: (err: Error | null, ...rest: unknown[]) => void) => void)('mixed.example', options, (err, ...rest) =>
          err ? reject(err) : resolve(rest),
        ),
      );
    expect(await lookup({ all: true })).toEqual([[{ address: '93.184.215.14', family: 4 }, { address: '2606:2800:21f:cb07::1', family: 6 }]]);
    expect(await lookup({ family: 6 })).toEqual(['2606:2800:21f:cb07::1', 6]);
    await net.close();
  });

  it('lets requests through to the user’s own servers, and everywhere once local networks are allowed', async () => {
    const own = network({ trusted: [`http://127.0.0.1:${port}`] });
    const allowed = network({ allowLocalNetwork: true });
    try {
      await own.net.client.post(`http://127.0.0.1:${port}/${generateDropId()}`, randomPdu(2149));
      await expect(own.net.client.post(`http://127.1:${port}/${generateDropId()}`, randomPdu(2149))).resolves.toBeUndefined();
      await expect(own.net.client.post(`http://localhost:${port}/${generateDropId()}`, randomPdu(2149))).rejects.toMatchObject({ kind: 'refused' });
      await allowed.net.client.post(`http://[::ffff:7f00:1]:${port}/${generateDropId()}`, randomPdu(2149));
      expect(allowed.net.pushConnection(`ws://127.0.0.1:${port}/x/ws`)).toEqual({});
      expect(seen).toHaveLength(3);
    } finally {
      await own.net.close();
      await allowed.net.close();
    }
  });
});
