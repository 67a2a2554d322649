/**
 * The CLI runs the real engine (the same handler table as the app) in a throw-away data folder, with
 * the identity imported from its `.qid` file. Every call goes through `dispatch`, so requests are
 * validated exactly as for the UI, and failures come back as Results turned into one-line errors.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Channel, IdentitySummary, RequestOf, ResponseOf } from '../../../shared/ipc/contract.js';
import { dispatch } from '../../../shared/ipc/dispatch.js';
import { defaultPoolSize } from '../crypto/cryptoPool.js';
import { type Engine, createEngine } from '../engine.js';
import type { KeyWrap } from '../state/stateStore.js';
import { DataKey } from '../state/dataKey.js';
import { CliError } from './cliError.js';

/**
 * The throw-away state store lives for one command only: its data key stays in this process's memory
 * (the state file holds a random handle), so no passphrase KDF runs and no usable key touches the disk.
 */
function memoryKeyWrap(): KeyWrap {
  const keys = new Map<string, Uint8Array>();
  return {
    async seal(dataKey) {
      const handle = randomBytes(16).toString('hex');
      keys.set(handle, DataKey.fromBytes(dataKey).bytes());
      return handle;
    },
    async open(handle) {
      const key = keys.get(handle);
      if (!key) throw new CliError('The temporary state store belongs to another process.');
      return key;
    },
  };
}

/** How long a command waits for its engine to finish closing (see `close`). */
const CLOSE_GRACE_MS = 2000;

export interface CliEngine {
  engine: Engine;
  call<C extends Channel>(channel: C, request: RequestOf<C>): Promise<ResponseOf<C>>;
  close(): Promise<void>;
}

export interface CliEngineOptions {
  /**
   * Drop URLs from contact files named on the command line: the user handed them over for this run,
   * so they may be contacted even on the local network (see the destination guard).
   */
  trustedServers?: readonly string[];
}

export async function openCliEngine({ trustedServers = [] }: CliEngineOptions = {}): Promise<CliEngine> {
  const dataDir = await mkdtemp(join(tmpdir(), 'deaddrop-cli-'));
  let engine: Engine;
  try {
    engine = await createEngine({
      dataDir,
      secret: randomBytes(16).toString('hex'),
      host: 'direct',
      // One crypto worker per core for trial decryption, started only when a drop holds messages:
      // most commands seal a message or two, and an empty drop needs no second worker.
      workers: defaultPoolSize(),
      initialWorkers: 1,
      keyWrap: memoryKeyWrap(),
      autoPoll: false,
      // Version 0 only, in both directions the CLI controls: a forward-secret session needs its ratchet
      // and prekeys kept between runs, and this data folder is deleted when the command ends. So no
      // message says we speak version 1 (`dd`), and no session is opened with a contact's prekey; the
      // cards the CLI writes carry no prekey either (commands.ts `cardOf`).
      protocolV1: false,
      network: { trustedServers: () => trustedServers },
      timing: {
        sendRetry: { baseMs: 500, maxMs: 4000, maxAttempts: 5 },
        receiptRetry: { baseMs: 500, maxMs: 4000, maxAttempts: 3 },
        requestTimeoutMs: 15_000,
      },
    });
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    engine,
    async call(channel, request) {
      const result = await dispatch(engine.handlers, channel, request);
      if (!result.ok) throw new CliError(result.error.message);
      return result.value as ResponseOf<typeof channel>;
    },
    async close() {
      // A request still under way (a server that accepted the connection and never answers) holds the
      // engine's close until its own timeout; the command has its answer already, so it waits a little
      // and goes (bin.ts ends the process). Nothing usable is left behind: the data key never left memory.
      const closing = engine.close().catch(() => undefined);
      await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref())]);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Imports a `.qid` backup into the CLI engine. */
export async function importIdentityFile(cli: CliEngine, backup: string, passphrase: string): Promise<IdentitySummary> {
  return cli.call('identities/import', { backup, passphrase });
}
