/**
 * "Change passphrase" under SIGKILL: a child process changes the passphrase of a copy of one profile
 * and is killed at a different moment each round (Argon2id of the old and the new passphrase, the
 * temp file, its fsync, the rename). Every time, exactly one of the two passphrases must unlock, and
 * everything else in the state must be as before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { dispatch } from '../../shared/ipc/dispatch.js';
import { STATE_FILE_NAME } from '../../electron/core/state/stateSchema.js';
import { repoRoot } from './helpers/serverProcess.js';
import { type TestEngine, removeDir, startTestEngine, tempDir } from './helpers/testEngine.js';

const OLD = 'the old passphrase';
const NEW = 'the new passphrase';
const ROUNDS = 10;
/** Further kills, later (or at once) each time, when the ten did not straddle the change. */
const EXTRA_ROUNDS = 4;
const SERVER = 'http://127.0.0.1:9/drops';

const dirs: string[] = [];
let profile = '';
/** What must survive every change: the state file without its key wrap. */
let expected: unknown;
let identities: unknown;

function withoutKeyWrap(dataDir: string): unknown {
  const { keyWrap: _wrap, ...rest } = JSON.parse(readFileSync(join(dataDir, STATE_FILE_NAME), 'utf8')) as Record<string, unknown>;
  return rest;
}

beforeAll(async () => {
  profile = tempDir('deaddrop-crash-profile-');
  dirs.push(profile);
  const engine: TestEngine = await startTestEngine({ dataDir: profile, secret: null, autoPoll: false });
  await engine.call('app/unlock', { passphrase: OLD });
  await engine.call('identities/create', { alias: 'kim', serverUrl: SERVER, dropBits: 12 });
  await engine.call('identities/create', { alias: 'lee', serverUrl: SERVER });
  await engine.call('settings/set', { pollIntervalMs: 7000, autoLockMinutes: 5 });
  identities = await engine.call('identities/list', {});
  await engine.close();
  expected = withoutKeyWrap(profile);
});

afterAll(() => {
  for (const dir of dirs) removeDir(dir);
});

/** Runs the change in a child on a copy of the profile; kills it `killAfterMs` after it starts changing (never, when null). */
async function changeInChild(killAfterMs: number | null): Promise<{ dataDir: string; finished: boolean; changeMs: number }> {
  const dataDir = tempDir('deaddrop-crash-');
  dirs.push(dataDir);
  cpSync(profile, dataDir, { recursive: true });
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/engine/fixtures/passphraseChange.ts', dataDir, OLD, NEW], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let finished = false;
  let startedAt = 0;
  let changeMs = 0;
  for await (const line of createInterface({ input: child.stdout })) {
    if (line === 'changing') {
      startedAt = performance.now();
      if (killAfterMs !== null) setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    }
    if (line === 'changed') {
      finished = true;
      changeMs = performance.now() - startedAt;
    }
  }
  await exited;
  if (startedAt === 0) throw new Error(`the child never started changing: ${stderr}`);
  if (child.signalCode === null && child.exitCode !== 0) throw new Error(`the child failed: ${stderr}`);
  return { dataDir, finished, changeMs };
}

/** Which passphrases unlock the profile in `dataDir` (a refused one leaves the engine locked for the next try). */
async function unlocking(dataDir: string): Promise<string[]> {
  const engine = await startTestEngine({ dataDir, secret: null, autoPoll: false });
  const opened: string[] = [];
  try {
    for (const passphrase of [OLD, NEW]) {
      if (opened.length > 0) {
        // The engine is unlocked now: the other passphrase must fail on the file as it is on disk.
        await engine.call('app/lock', {});
      }
      const answer = await dispatch(engine.engine.handlers, 'app/unlock', { passphrase });
      if (!answer.ok) {
        expect(answer.error.code).toBe('bad_passphrase');
        continue;
      }
      opened.push(passphrase);
      expect(await engine.call('identities/list', {})).toEqual(identities);
    }
  } finally {
    await engine.close();
  }
  return opened;
}

describe('changing the passphrase, killed at any moment', () => {
  it('leaves exactly one of the old and the new passphrase working, and everything else intact', async () => {
    const full = await changeInChild(null);
    expect(full.finished).toBe(true);
    expect(await unlocking(full.dataDir)).toEqual([NEW]);
    // Spread the kills over the change and a little past it: early ones land in the key derivation,
    // later ones in the write and the rename.
    const span = Math.max(full.changeMs * 1.3, 5);
    const outcomes: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const { dataDir } = await changeInChild((span * round) / (ROUNDS - 1));
      const opened = await unlocking(dataDir);
      expect(opened, `round ${round}`).toHaveLength(1);
      expect(withoutKeyWrap(dataDir), `round ${round}`).toEqual(expected);
      outcomes.push(opened[0]!);
    }
    // The kills must straddle the change: some before the new file was in place, some after. The span
    // comes from one uninterrupted run; on a loaded machine a later change can be slower, so the test
    // kills later (then earlier) a few more times until both outcomes were seen, each checked the same way.
    for (let extra = 1; extra <= EXTRA_ROUNDS && !(outcomes.includes(OLD) && outcomes.includes(NEW)); extra++) {
      const killAfterMs = outcomes.includes(NEW) ? 0 : span * 2 ** extra;
      const { dataDir } = await changeInChild(killAfterMs);
      const opened = await unlocking(dataDir);
      expect(opened, `extra round ${extra}`).toHaveLength(1);
      expect(withoutKeyWrap(dataDir), `extra round ${extra}`).toEqual(expected);
      outcomes.push(opened[0]!);
    }
    expect(outcomes).toContain(OLD);
    expect(outcomes).toContain(NEW);
    console.log(`kills over ${span.toFixed(0)} ms: ${outcomes.map((o) => (o === OLD ? 'old' : 'new')).join(' ')}`);
  }, 360_000);
});
