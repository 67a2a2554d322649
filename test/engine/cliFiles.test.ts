/**
 * Files with the command-line client against a real drop server that stores them: `send --file`
 * uploads and announces, `fetch --download-dir` downloads, checks and decrypts into the folder under
 * a safe, unused name, and only from senders in a --contacts file.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deaddrop, lines } from './helpers/cliRun.js';
import { type ServerProcess, startServerProcess } from './helpers/serverProcess.js';
import { removeDir, tempDir } from './helpers/testEngine.js';

describe('files with the deaddrop command-line client', { timeout: 180_000 }, () => {
  let server: ServerProcess;
  let dir: string;
  const file = (name: string) => join(dir, name);

  beforeAll(async () => {
    server = await startServerProcess('sqlite::memory:', { blobs: true });
    dir = tempDir('deaddrop-cli-files-');
  });
  afterAll(async () => {
    await server?.stop();
    if (dir) removeDir(dir);
  });

  it('sends a file and downloads it on the other side, from contacts only, never replacing a file', async () => {
    for (const name of ['alice', 'bob', 'mallory']) {
      const made = await deaddrop(['id', 'new', '--alias', name, '--server', server.url, '--out', file(`${name}.qid`)]);
      expect(made.code, made.stderr).toBe(0);
      const card = await deaddrop(['id', 'card', '--id', file(`${name}.qid`), '--qco', file(`${name}.qco`)]);
      expect(card.code, card.stderr).toBe(0);
    }
    const original = randomBytes(2 * 1024 * 1024 + 7);
    writeFileSync(file('evil name.bin'), original);
    const sent = await deaddrop(['send', '--id', file('alice.qid'), '--to', file('bob.qco'), '--file', file('evil name.bin'), '--text', 'the data']);
    expect(sent.code, sent.stderr).toBe(0);
    expect(lines(sent)).toHaveLength(1); // the notice's receipt id
    writeFileSync(file('junk.bin'), randomBytes(1000));
    const fromStranger = await deaddrop(['send', '--id', file('mallory.qid'), '--to', file('bob.qco'), '--file', file('junk.bin')]);
    expect(fromStranger.code, fromStranger.stderr).toBe(0);

    const downloads = file('downloads');
    mkdirSync(downloads);
    writeFileSync(join(downloads, 'evil name.bin'), 'already here');
    const fetched = await deaddrop(['fetch', '--id', file('bob.qid'), '--contacts', file('alice.qco'), '--download-dir', downloads, '--json']);
    expect(fetched.code, fetched.stderr).toBe(0);
    const out = lines(fetched).filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { kind: string; text?: string; path?: string; file?: unknown });
    const notices = out.filter((o) => o.kind === 'message');
    expect(notices).toHaveLength(2);
    expect(notices.find((n) => n.text === 'the data')?.file).toEqual({ name: 'evil name.bin', size: original.length, mime: null, openable: true });
    const saved = out.filter((o) => o.kind === 'file');
    expect(saved).toHaveLength(1);
    expect(saved[0]!.path).toBe(join(downloads, 'evil name (2).bin'));
    expect(readFileSync(saved[0]!.path!).equals(original)).toBe(true);
    expect(readFileSync(join(downloads, 'evil name.bin'), 'utf8')).toBe('already here');
    expect(readdirSync(downloads).sort()).toEqual(['evil name (2).bin', 'evil name.bin']);
    expect(fetched.stderr).toMatch(/1 file was not downloaded: files are downloaded only from senders in a --contacts file/);
  });

  it('refuses what cannot work with one line and a usage exit code', async () => {
    const noText = await deaddrop(['send', '--id', file('alice.qid'), '--to', file('bob.qco')]);
    expect(noText).toMatchObject({ code: 2, stderr: expect.stringMatching(/--text or --file is required/) });
    const missing = await deaddrop(['send', '--id', file('alice.qid'), '--to', file('bob.qco'), '--file', file('nope.bin')]);
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringMatching(/Cannot read .*nope\.bin \(ENOENT\)/) });
    const notFolder = await deaddrop(['fetch', '--id', file('bob.qid'), '--download-dir', file('alice.qco')]);
    expect(notFolder).toMatchObject({ code: 2, stderr: expect.stringMatching(/is not a folder/) });
  });
});
