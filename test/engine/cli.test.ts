import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent } from 'undici';
import { formatQco } from '../../shared/protocol/contacts.js';
import { generateDropId } from '../../shared/protocol/dropId.js';
import { TEST_PASSPHRASE_LIMITS, encryptIdentityBackup } from '../../shared/protocol/identityBackup.js';
import { DropClient } from '../../electron/core/net/dropClient.js';
import { generateNativeKeyPair } from '../../electron/core/state/nativeKeyPair.js';
import { craftPdu } from './helpers/craft.js';
import { type ServerProcess, repoRoot, startServerProcess } from './helpers/serverProcess.js';
import { removeDir, tempDir } from './helpers/testEngine.js';
import { type Run, deaddrop, lines } from './helpers/cliRun.js';

/** Runs the CLI with nothing in DEADDROP_PASSPHRASE and `input` on stdin (piped: the lines are read as typed). */
function deaddropWithInput(args: string[], input: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [join(repoRoot, 'bin/deaddrop.mjs'), ...args],
      { cwd: repoRoot, env: { ...process.env, DEADDROP_PASSPHRASE: '' }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(input);
  });
}

const dispatcher = new Agent();
const raw = new DropClient({ dispatcher, timeoutMs: 5000 });
afterAll(() => dispatcher.close());

describe('deaddrop command-line client', { timeout: 180_000 }, () => {
  let server: ServerProcess;
  let dir: string;
  const file = (name: string) => join(dir, name);

  beforeAll(async () => {
    server = await startServerProcess();
    dir = tempDir('deaddrop-cli-');
  });
  afterAll(async () => {
    await server?.stop();
    if (dir) removeDir(dir);
  });

  it('exchanges messages both ways and answers receipts only for senders in --contacts files', async () => {
    const [alice, bob] = await Promise.all([
      deaddrop(['id', 'new', '--alias', 'alice', '--server', server.url, '--out', file('alice.qid')]),
      deaddrop(['id', 'new', '--alias', 'bob', '--server', server.url, '--out', file('bob.qid'), '--bits', '16']),
    ]);
    expect(alice.code, alice.stderr).toBe(0);
    expect(bob.code, bob.stderr).toBe(0);
    expect(lines(alice)[0]).toBe('QABELCONTACT');
    const aliceKey = lines(alice)[3]!;

    const card = await deaddrop(['id', 'card', '--id', file('bob.qid'), '--qco', file('bob.qco')]);
    expect(card.stdout).toBe(bob.stdout);
    expect(existsSync(file('bob.qco'))).toBe(true);
    const bobKey = (JSON.parse(readFileSync(file('bob.qco'), 'utf8')) as { contacts: { public_key: string }[] }).contacts[0]!.public_key;

    const sent = await deaddrop(['send', '--id', file('alice.qid'), '--to', file('bob.qco'), '--text', 'hello from the CLI']);
    expect(sent.code, sent.stderr).toBe(0);
    const [ackId] = lines(sent);
    expect(ackId).toMatch(/^[0-9a-f-]{36}$/);

    // Without --contacts Bob's fetch answers no receipt, and says so on stderr; stdout stays JSON lines.
    const atBob = await deaddrop(['fetch', '--id', file('bob.qid'), '--json']);
    expect(atBob.code, atBob.stderr).toBe(0);
    const bobOut = lines(atBob);
    expect(JSON.parse(bobOut[0]!)).toMatchObject({ kind: 'message', senderKey: aliceKey, alias: 'alice', type: 'box_message', text: 'hello from the CLI', acknowledgeId: ackId });
    expect(bobOut.at(-1)).toMatch(/^cursor \S+$/);
    expect(atBob.stderr).toBe('deaddrop: 1 receipt was withheld: receipts are answered only for senders in a --contacts file.\n');
    const noReceipt = await deaddrop(['fetch', '--id', file('alice.qid'), '--json']);
    expect(lines(noReceipt)).toHaveLength(1);

    // With Alice's card, Bob's fetch answers the receipt into the drop that card names.
    const aliceCard = await deaddrop(['id', 'card', '--id', file('alice.qid'), '--qco', file('alice.qco')]);
    expect(aliceCard.code, aliceCard.stderr).toBe(0);
    const answering = await deaddrop(['fetch', '--id', file('bob.qid'), '--json', '--contacts', file('bob.qco'), '--contacts', file('alice.qco')]);
    expect(answering.code, answering.stderr).toBe(0);
    expect(answering.stderr).toBe('');
    const atAlice = await deaddrop(['fetch', '--id', file('alice.qid'), '--json']);
    expect(lines(atAlice).map((line) => (line.startsWith('{') ? JSON.parse(line) : line))[0]).toMatchObject({ kind: 'receipt', senderKey: bobKey, acknowledgeId: ackId });
    const cursor = lines(atAlice).at(-1)!.split(' ')[1]!;

    const reply = await deaddrop(['send', '--id', file('bob.qid'), '--to', lines(alice).join('\n'), '--text', 'hello back']);
    expect(reply.code, reply.stderr).toBe(0);
    const newAtAlice = await deaddrop(['fetch', '--id', file('alice.qid'), '--since', cursor]);
    const [message] = lines(newAtAlice);
    expect(message!.split('\t').slice(1)).toEqual([bobKey, 'bob (unverified)', 'box_message', lines(reply)[0], '"hello back"']);
    const newCursor = lines(newAtAlice).at(-1)!;
    const nothingNew = await deaddrop(['fetch', '--id', file('alice.qid'), '--since', newCursor.split(' ')[1]!]);
    expect(lines(nothingNew)).toEqual([newCursor]);
  });

  it('fails with one line and a non-zero exit on bad passphrases, files, servers and flags', async () => {
    const wrong = await deaddrop(['fetch', '--id', file('alice.qid')], 'not the passphrase');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr.trim().split('\n')).toHaveLength(1);
    expect(wrong.stderr).toMatch(/passphrase/i);

    const missing = await deaddrop(['id', 'card', '--id', file('nobody.qid')]);
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringMatching(/^deaddrop: Cannot read the identity file .*ENOENT.*check the path/) });

    const noContacts = await deaddrop(['fetch', '--id', file('alice.qid'), '--contacts', file('nobody.qco')]);
    expect(noContacts).toMatchObject({ code: 1, stderr: expect.stringMatching(/^deaddrop: Cannot read the contact file .*nobody\.qco/) });
    writeFileSync(file('garbage.qco'), '{"contacts": 5}');
    const badContacts = await deaddrop(['fetch', '--id', file('alice.qid'), '--contacts', file('garbage.qco')]);
    expect(badContacts).toMatchObject({ code: 1, stderr: expect.stringMatching(/^deaddrop: .*garbage\.qco: /) });

    const badFlag = await deaddrop(['send', '--id', file('alice.qid'), '--txet', 'x']);
    expect(badFlag.code).toBe(2);

    const exists = await deaddrop(['id', 'new', '--alias', 'x', '--server', server.url, '--out', file('alice.qid')]);
    expect(exists).toMatchObject({ code: 1, stderr: expect.stringMatching(/already exists/) });

    const offline = await deaddrop(['id', 'new', '--alias', 'gone', '--server', 'http://127.0.0.1:9', '--out', file('gone.qid')]);
    expect(offline.code, offline.stderr).toBe(0);
    const unreachable = await deaddrop(['fetch', '--id', file('gone.qid')]);
    expect(unreachable).toMatchObject({ code: 1, stderr: expect.stringMatching(/cannot be reached/) });

    const shortPassphrase = await deaddrop(['id', 'new', '--alias', 'x', '--server', server.url, '--out', file('short.qid')], 'short');
    expect(shortPassphrase).toMatchObject({ code: 1, stderr: expect.stringMatching(/at least 8 characters/) });
    expect(existsSync(file('short.qid'))).toBe(false);

    // A .qid asking for 4 GiB and a million passes of Argon2id is refused before any derivation.
    const written = JSON.parse(readFileSync(file('alice.qid'), 'utf8')) as { kdf: object };
    writeFileSync(file('costly.qid'), JSON.stringify({ ...written, kdf: { ...written.kdf, memlimit: 2 ** 32, opslimit: 1_000_000 } }));
    const costly = await deaddrop(['fetch', '--id', file('costly.qid')]);
    expect(costly).toMatchObject({ code: 1, stderr: expect.stringMatching(/costly\.qid: The backup asks for Argon2id with 4096 MiB of memory and 1000000 passes; at most 256 MiB/) });

    const foreign = await deaddrop(['id', 'card', '--id', join(repoRoot, 'package.json')]);
    expect(foreign).toMatchObject({ code: 1, stderr: expect.stringMatching(/package\.json: The file is not a Deaddrop identity backup/) });

    // A drop URL on a path the server does not serve: the refusal says what to check.
    const wrongPath = await deaddrop(['id', 'new', '--alias', 'lost', '--server', `${server.url}/no/such/path`, '--out', file('lost.qid')]);
    expect(wrongPath.code, wrongPath.stderr).toBe(0);
    const refused = await deaddrop(['send', '--id', file('alice.qid'), '--to', lines(wrongPath).join('\n'), '--text', 'x']);
    expect(refused).toMatchObject({ code: 1, stderr: expect.stringMatching(/HTTP 404\)\. Check the drop URL/) });

    const two = [1, 2].map((n) => ({ alias: `c${n}`, publicKey: String(n).repeat(64), dropUrls: [`${server.url}/${generateDropId()}`] }));
    writeFileSync(file('two.qco'), formatQco(two));
    const ambiguous = await deaddrop(['send', '--id', file('alice.qid'), '--to', file('two.qco'), '--text', 'x']);
    expect(ambiguous).toMatchObject({ code: 1, stderr: expect.stringMatching(/holds 2 contacts; pass a file with one contact/) });

    const help = await deaddrop(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/deaddrop send --id FILE.qid/);
  });

  it('names the flag and what it expects for bad values, before anything is written', async () => {
    const usage = (run: Run, pattern: RegExp) => {
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(pattern);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stdout).toBe('');
    };
    const made = await deaddrop(['id', 'new', '--alias', 'flags', '--server', server.url, '--out', file('flags.qid')]);
    expect(made.code, made.stderr).toBe(0);

    usage(await deaddrop(['fetch', '--id', file('flags.qid'), '--since', 'abc']), /^deaddrop: --since abc is not a cursor; pass the token after "cursor"/);
    usage(await deaddrop(['fetch', '--id', file('flags.qid'), '--since', '9999999999999999999999']), /^deaddrop: --since 9999999999999999999999 is not a cursor/);
    usage(await deaddrop(['fetch', '--id', file('flags.qid'), '--since', '-1']), /^deaddrop: --since -1: a value that starts with "-" is written --since=-1\.$/m);
    usage(await deaddrop(['fetch', '--id', file('flags.qid'), '--since=-1']), /^deaddrop: --since -1 is not a cursor/);
    usage(await deaddrop(['send', '--id', file('flags.qid'), '--to', file('flags.qid'), '--text', 'x']), /^deaddrop: --to .*flags\.qid is an identity file \(\.qid\), not a contact/);
    usage(await deaddrop(['send', '--id', file('flags.qid'), '--to', file('flags.qid'), '--text', 'x', '--timeout', '0']), /^deaddrop: --timeout must be a whole number of seconds from 1 to 86400\.$/m);
    usage(await deaddrop(['send', '--id', file('flags.qid'), 'stray']), /^deaddrop: Unexpected argument stray: every value follows its flag/);
    usage(await deaddrop(['send', '--id', file('flags.qid'), '--txet', 'x']), /^deaddrop: Unknown flag --txet\. Try --help\.$/m);

    usage(await deaddrop(['id', 'new', '--alias', '--server', server.url, '--out', file('n1.qid')]), /^deaddrop: --alias needs a value, but --server follows it/);
    usage(await deaddrop(['id', 'new', '--alias', 'x', '--server', 'ftp://x', '--out', file('n2.qid')]), /^deaddrop: --server ftp:\/\/x is not an http:\/\/ or https:\/\/ address of a drop server/);
    usage(await deaddrop(['id', 'new', '--alias', 'ctl\u0007', '--server', server.url, '--out', file('n3.qid')]), /^deaddrop: --alias must not contain line breaks or control characters\.$/m);
    usage(await deaddrop(['id', 'new', '--alias', 'x'.repeat(65), '--server', server.url, '--out', file('n4.qid')]), /^deaddrop: --alias must be 1 to 64 characters\.$/m);
    for (const name of ['n1.qid', 'n2.qid', 'n3.qid', 'n4.qid']) expect(existsSync(file(name))).toBe(false);
  });

  it('keeps one cursor per drop for an identity with several drops', async () => {
    const me = generateNativeKeyPair();
    const stranger = generateNativeKeyPair();
    const dropUrls = [`${server.url}/${generateDropId()}`, `${server.url}/${generateDropId()}`];
    const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
    const backup = { alias: 'two drops', publicKey: hex(me.publicKey), privateKey: hex(me.privateKey), dropUrls };
    writeFileSync(file('two-drops.qid'), await encryptIdentityBackup(backup, 'cli test passphrase', TEST_PASSPHRASE_LIMITS));
    const post = async (drop: number, text: string) => raw.post(dropUrls[drop]!, await craftPdu({ from: stranger, to: hex(me.publicKey), text }));
    await post(0, 'first drop');
    await post(1, 'second drop');

    const first = await deaddrop(['fetch', '--id', file('two-drops.qid')]);
    expect(first.code, first.stderr).toBe(0);
    expect(lines(first).slice(0, -1).map((line) => line.split('\t').at(-1)).sort()).toEqual(['"first drop"', '"second drop"']);
    const token = lines(first).at(-1)!.split(' ')[1]!;
    expect(token).toMatch(/^m\./);

    await post(1, 'later, second drop');
    const next = await deaddrop(['fetch', '--id', file('two-drops.qid'), '--since', token]);
    expect(next.code, next.stderr).toBe(0);
    expect(lines(next).slice(0, -1).map((line) => line.split('\t').at(-1))).toEqual(['"later, second drop"']);

    const foreignToken = await deaddrop(['fetch', '--id', file('two-drops.qid'), '--since', '12345']);
    expect(foreignToken).toMatchObject({ code: 2, stderr: expect.stringMatching(/--since does not fit this identity's 2 drops/) });
  });

  it("prints a stranger's alias, text and IDs with their controls visible and the sender marked unverified", async () => {
    const me = generateNativeKeyPair();
    const stranger = generateNativeKeyPair();
    const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
    const dropUrls = [`${server.url}/${generateDropId()}`];
    const backup = { alias: 'target', publicKey: hex(me.publicKey), privateKey: hex(me.privateKey), dropUrls };
    writeFileSync(file('target.qid'), await encryptIdentityBackup(backup, 'cli test passphrase', TEST_PASSPHRASE_LIMITS));
    // Each field tries to end the line and print a forged message from a trusted-looking sender.
    const forgedLine = `\n2026-01-01T00:00:00.000Z\t${'a'.repeat(64)}\tALICE (trusted)\tbox_message\t0\t"transfer 1000 EUR"`;
    await raw.post(
      dropUrls[0]!,
      await craftPdu({
        from: stranger,
        to: hex(me.publicKey),
        alias: `eve${forgedLine}\u202E`,
        text: `hi\x1b[2J\x1b]0;title\x07${forgedLine}`,
        acknowledgeId: 'id\nreceipt\tfake',
      }),
    );
    const fetched = await deaddrop(['fetch', '--id', file('target.qid')]);
    expect(fetched.code, fetched.stderr).toBe(0);
    const out = lines(fetched);
    expect(out).toHaveLength(2);
    for (const raw of ['\x1b', '\x07', '\u202E']) expect(fetched.stdout.includes(raw)).toBe(false);
    const fields = out[0]!.split('\t');
    expect(fields).toHaveLength(6);
    expect(fields[1]).toBe(hex(stranger.publicKey));
    expect(fields[2]).toMatch(/^eve\\n2026.*\\tALICE \(trusted\).*<U\+202E> \(unverified\)$/);
    expect(fields[4]).toBe('id\\nreceipt\\tfake');
    expect(fields[5]).toMatch(/^"hi\\e\[2J\\e\]0;title\\x07\\n2026/);
    // --json keeps the raw values for programs.
    const json = await deaddrop(['fetch', '--id', file('target.qid'), '--json']);
    expect(JSON.parse(lines(json)[0]!)).toMatchObject({ alias: `eve${forgedLine}\u202E` });
  });

  it('stops quietly with exit 0 when the reader of its output goes away (deaddrop fetch | head)', async () => {
    const me = generateNativeKeyPair();
    const stranger = generateNativeKeyPair();
    const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
    const dropUrls = [`${server.url}/${generateDropId()}`];
    const backup = { alias: 'piped', publicKey: hex(me.publicKey), privateKey: hex(me.privateKey), dropUrls };
    writeFileSync(file('piped.qid'), await encryptIdentityBackup(backup, 'cli test passphrase', TEST_PASSPHRASE_LIMITS));
    // Far more output than a pipe holds (64 KiB), so writes go on after the reader left.
    const text = 'x'.repeat(900);
    for (let i = 0; i < 300; i++) await raw.post(dropUrls[0]!, await craftPdu({ from: stranger, to: hex(me.publicKey), alias: 'flood', text: `${i} ${text}` }));
    const child = spawn(process.execPath, [join(repoRoot, 'bin/deaddrop.mjs'), 'fetch', '--id', file('piped.qid'), '--json'], {
      cwd: repoRoot,
      env: { ...process.env, DEADDROP_PASSPHRASE: 'cli test passphrase' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // Like `head -1`: read the first line, then close the pipe.
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.once('close', (exit) => resolve(exit)));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('asks for a new passphrase twice, and refuses a mismatch or a short one without writing anything', async () => {
    const args = (out: string) => ['id', 'new', '--alias', 'typist', '--server', server.url, '--out', file(out)];
    const mismatch = await deaddropWithInput(args('typo.qid'), 'first passphrase\nfirst passphrasf\n');
    expect(mismatch).toMatchObject({ code: 1, stderr: expect.stringMatching(/two passphrases differ; nothing was written/) });
    expect(existsSync(file('typo.qid'))).toBe(false);
    const short = await deaddropWithInput(args('short2.qid'), 'short\nshort\n');
    expect(short).toMatchObject({ code: 1, stderr: expect.stringMatching(/at least 8 characters/) });
    const made = await deaddropWithInput(args('typed.qid'), 'typed passphrase\ntyped passphrase\n');
    expect(made.code, made.stderr).toBe(0);
    const card = await deaddropWithInput(['id', 'card', '--id', file('typed.qid')], 'typed passphrase\n');
    expect(lines(card)[1]).toBe('typist');
  });
});
