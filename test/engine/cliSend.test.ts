/**
 * `deaddrop send` to a closed drop (a real server process with stamps and a daily introduction quota):
 * the proof of work it computes is reported on stderr; once the quota is used up it stops at once
 * with what to do instead of waiting for the next day; a server that does not answer ends at
 * --timeout; one that refuses is retried with the reason on stderr.
 */
import { createServer } from 'node:net';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatQco } from '../../shared/protocol/contacts.js';
import { generateNativeKeyPair } from '../../electron/core/state/nativeKeyPair.js';
import { toHex } from '../../shared/protocol/encoding.js';
import { claimedDrop } from '../server/spamSupport.js';
import { type ServerProcess, makeDataDir, removeDataDir, startServerProcess } from '../server/serverProcess.js';
import { deaddrop, lines } from './helpers/cliRun.js';
import { removeDir, tempDir } from './helpers/testEngine.js';

describe('deaddrop send to a closed drop', { timeout: 180_000 }, () => {
  let server: ServerProcess;
  let serverDir: string;
  let dir: string;
  const file = (name: string) => join(dir, name);

  beforeAll(async () => {
    serverDir = makeDataDir();
    server = await startServerProcess(serverDir, ['--pow-bits', '8', '--intro-per-day', '1', '--log-level', 'warn']);
    dir = tempDir('deaddrop-cli-send-');
  });
  afterAll(async () => {
    await server?.stop();
    if (serverDir) removeDataDir(serverDir);
    if (dir) removeDir(dir);
  });

  it('reports the stamp, then refuses at once when the drop takes no more introductions today, saying when and what else to do', async () => {
    const owner = await claimedDrop(server.url, 5);
    const contact = { alias: 'Erin', publicKey: toHex(generateNativeKeyPair().publicKey), dropUrls: [owner.dropUrl] };
    writeFileSync(file('erin.qco'), formatQco([contact]));
    const created = await deaddrop(['id', 'new', '--alias', 'frank', '--server', server.url, '--out', file('frank.qid')]);
    expect(created.code, created.stderr).toBe(0);

    const first = await deaddrop(['send', '--id', file('frank.qid'), '--to', file('erin.qco'), '--text', 'introduction']);
    expect(first.code, first.stderr).toBe(0);
    expect(lines(first)[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.stderr).toMatch(/^deaddrop: the drop 127\.0\.0\.1:\d+ asks for proof of work before it takes a message from a stranger; computing it \(about 256 hashes on average\)\.\.\.$/m);

    // The server's Retry-After points at the next UTC day, far beyond the default --timeout: no waiting.
    const second = await deaddrop(['send', '--id', file('frank.qid'), '--to', file('erin.qco'), '--text', 'one more']);
    expect(second.code).toBe(1);
    const nextDay = new Date((Math.floor(Date.now() / 86_400_000) + 1) * 86_400_000);
    const [, when] = /Try again after (\S+), or ask Erin for tickets/.exec(second.stderr) ?? [];
    expect(second.stderr, second.stderr).toMatch(/^deaddrop: Not sent: .*introductions.* Try again after \S+, or ask Erin for tickets \(a contact's tickets skip the daily quota\)\.$/m);
    expect(Math.abs(new Date(when!).getTime() - nextDay.getTime())).toBeLessThan(60_000);
    expect(second.stdout).toBe('');
  });

  it('stops at --timeout when the drop server never answers, without waiting for the request to end', async () => {
    // A port that accepts connections and never answers: each request runs into the engine's own timeout.
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as { port: number }).port;
      const dropUrl = `http://127.0.0.1:${port}/${'A'.repeat(43)}`;
      writeFileSync(file('gone.qco'), formatQco([{ alias: 'Gone', publicKey: toHex(generateNativeKeyPair().publicKey), dropUrls: [dropUrl] }]));
      const run = await deaddrop(['send', '--id', file('frank.qid'), '--to', file('gone.qco'), '--text', 'anyone?', '--timeout', '3']);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^deaddrop: Not sent within --timeout 3 s.*; try again later, or with a longer --timeout\.$/m);
      expect(run.stdout).toBe('');
    } finally {
      silent.close();
    }
  });

  it('says on stderr why it retries, and stops with that reason', async () => {
    // A port nobody listens on: every try is refused at once.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const dropUrl = `http://127.0.0.1:${port}/${'B'.repeat(43)}`;
    writeFileSync(file('refused.qco'), formatQco([{ alias: 'Refused', publicKey: toHex(generateNativeKeyPair().publicKey), dropUrls: [dropUrl] }]));
    const run = await deaddrop(['send', '--id', file('frank.qid'), '--to', file('refused.qco'), '--text', 'hello?', '--timeout', '5']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    const notes = run.stderr.trim().split('\n');
    expect(notes[0]).toMatch(/^deaddrop: waiting: The drop server cannot be reached \(connect ECONNREFUSED 127\.0\.0\.1:\d+\).* Retrying in \d+ s\.$/);
    expect(notes.at(-1)).toMatch(/^deaddrop: Not sent(:| within --timeout 5 s \(last:) The drop server cannot be reached/);
  });
});
