/**
 * The set-up the engine tests of several devices and contacts share, in one place: a real drop server
 * started before the file's tests and stopped after them, every engine the file starts closed and its
 * data folder removed, one undici Agent for the tests' own DropClients, and the steps those tests are
 * written in (send a text and wait until it is posted; wait for a text from a sender; let readers read
 * and acknowledge until something holds; the messages and texts an engine was given).
 *
 * Call it once at the top level of a test file: it registers its own beforeAll/afterAll there.
 */
import { afterAll, beforeAll } from 'vitest';
import { Agent } from 'undici';
import type { IdentitySummary, IncomingMessage, Recipient, ResponseOf } from '../../../shared/ipc/contract.js';
import type { EngineOptions } from '../../../electron/core/engine.js';
import { type ServerProcess, type ServerProcessOptions, startServerProcess } from './serverProcess.js';
import { type TestEngine, removeDir, startTestEngine } from './testEngine.js';
import { receiveAndAck } from './receive.js';
import { waitFor } from './waitFor.js';

export interface EngineKitOptions {
  /** What every `engine()` of the file starts with (an `engine(overrides)` call adds to it). */
  engine?: Partial<EngineOptions>;
  /** The drop server: its database (in-memory SQLite unless given) and options. */
  server?: ServerProcessOptions & { db?: string };
  /** How one reader reads in `until` (default: acknowledge its batches, answering `sender`'s receipts). */
  read?: (reader: TestEngine, sender?: IdentitySummary) => Promise<unknown>;
  /** How long `until` waits unless told (default 20 s). */
  untilTimeoutMs?: number;
  /**
   * `send` first acknowledges the sender's batches (answering the recipient's receipts), as the UI
   * stores every batch before the user writes: a session held by an unacknowledged batch waits for it
   * before sealing.
   */
  readBeforeSend?: boolean;
}

export interface UntilOptions {
  timeoutMs?: number;
  /** Each reader reads once per sender, answering that sender's receipts; none: receipts unanswered. */
  senders?: IdentitySummary[];
}

type Condition<T> = () => T | null | undefined | false | Promise<T | null | undefined | false>;

export interface EngineKit {
  /** The running drop server (from the file's beforeAll on). */
  server(): ServerProcess;
  /** Starts an engine that is closed, and its folder removed, after the file's tests. */
  engine(overrides?: Partial<EngineOptions>): Promise<TestEngine>;
  /** An engine (as `engine`) with one identity created on it, its drop on the kit's server. */
  user(alias: string, overrides?: Partial<EngineOptions>): Promise<{ engine: TestEngine; identity: IdentitySummary }>;
  /** Sends `text` from `identity` on `from` to `to` and waits until the outbox says it is posted. */
  send(from: TestEngine, identity: IdentitySummary, to: Recipient, text: string): Promise<ResponseOf<'messages/send'>>;
  /** Reads and acknowledges (answering `sender`'s receipts) until `text` from `sender` is delivered to `e`. */
  receive(e: TestEngine, sender: IdentitySummary, text: string): Promise<IncomingMessage>;
  /** Every reader reads and acknowledges (as its UI would) until `condition` holds. */
  until<T>(readers: TestEngine[], condition: Condition<T>, what: string, options?: UntilOptions): Promise<T>;
  messagesOf(e: TestEngine): IncomingMessage[];
  textAt(e: TestEngine, text: string): IncomingMessage | undefined;
  /** For the tests' own DropClients; closed after the file's tests. */
  dispatcher: Agent;
}

/** Every message delivered to `e` so far (a batch delivered again counts again). */
export const messagesOf = (e: TestEngine): IncomingMessage[] => e.of('inbox/batch').flatMap((b) => b.messages);

/** The first message delivered to `e` whose text is `text`. */
export const textAt = (e: TestEngine, text: string): IncomingMessage | undefined => messagesOf(e).find((m) => m.text === text);

export function engineKit(options: EngineKitOptions = {}): EngineKit {
  let server: ServerProcess | undefined;
  const engines: TestEngine[] = [];
  const dispatcher = new Agent();
  const read = options.read ?? ((reader, sender) => receiveAndAck(reader, 0, 'batches', sender));
  let sends = 0;

  beforeAll(async () => {
    server = await startServerProcess(options.server?.db, options.server);
  });

  afterAll(async () => {
    for (const engine of engines) await engine.close().catch(() => undefined);
    await server?.stop();
    await dispatcher.close();
    for (const engine of engines) removeDir(engine.dataDir);
  });

  const kit: EngineKit = {
    server() {
      if (!server) throw new Error('the drop server is not running (engineKit starts it in beforeAll)');
      return server;
    },
    async engine(overrides = {}) {
      const started = await startTestEngine({ ...options.engine, ...overrides });
      engines.push(started);
      return started;
    },
    async user(alias, overrides) {
      const engine = await kit.engine(overrides);
      return { engine, identity: await engine.call('identities/create', { alias, serverUrl: kit.server().url }) };
    },
    async send(from, identity, to, text) {
      const localId = `m-${++sends}`;
      if (options.readBeforeSend) await receiveAndAck(from, 0, 'batches', to);
      const recipient = { publicKey: to.publicKey, dropUrls: to.dropUrls, ...(to.v1 ? { v1: to.v1 } : {}) };
      const accepted = await from.call('messages/send', { identityId: identity.id, localId, recipient, text });
      await waitFor(() => from.of('outbox/status').find((s) => s.localId === localId && s.status === 'posted'), `${localId} posted`);
      return accepted;
    },
    receive(e, sender, text) {
      return waitFor(async () => {
        await receiveAndAck(e, 0, 'batches', sender);
        return messagesOf(e).find((m) => m.text === text && m.senderKey === sender.publicKey);
      }, `"${text}" received`);
    },
    until(readers, condition, what, { timeoutMs = options.untilTimeoutMs ?? 20_000, senders = [] } = {}) {
      return waitFor(async () => {
        for (const reader of readers) for (const sender of senders.length > 0 ? senders : [undefined]) await read(reader, sender);
        return condition();
      }, what, timeoutMs);
    },
    messagesOf,
    textAt,
    dispatcher,
  };
  return kit;
}
