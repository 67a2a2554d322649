/** Engines for tests: fresh temp folder, cheapest Argon2id, short retries, events recorded. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppEvent, Channel, EventMap, EventName, RequestOf, ResponseOf } from '../../../shared/ipc/contract.js';
import { dispatch } from '../../../shared/ipc/dispatch.js';
import { TEST_PASSPHRASE_LIMITS } from '../../../shared/protocol/identityBackup.js';
import { setLogLevel } from '../../../shared/log.js';
import { type Engine, type EngineOptions, createEngine } from '../../../electron/core/engine.js';

export interface TestEngine {
  engine: Engine;
  dataDir: string;
  events: AppEvent[];
  call<C extends Channel>(channel: C, request: RequestOf<C>): Promise<ResponseOf<C>>;
  of<E extends EventName>(event: E): EventMap[E][];
  close(): Promise<void>;
}

export const FAST_TIMING: EngineOptions['timing'] = {
  pollBackoff: { baseMs: 100, maxMs: 800 },
  sendRetry: { baseMs: 100, maxMs: 800, maxAttempts: 200 },
  receiptRetry: { baseMs: 100, maxMs: 800, maxAttempts: 50 },
  requestTimeoutMs: 5000,
};

export function tempDir(prefix = 'deaddrop-engine-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startTestEngine(overrides: Partial<EngineOptions> = {}): Promise<TestEngine> {
  setLogLevel('error'); // expected poll failures in fault tests would drown the output
  const dataDir = overrides.dataDir ?? tempDir();
  const engine = await createEngine({
    dataDir,
    secret: 'test secret',
    host: 'direct',
    workers: 1,
    passphraseLimits: TEST_PASSPHRASE_LIMITS,
    timing: FAST_TIMING,
    ...overrides,
  });
  const events: TestEngine['events'] = [];
  engine.subscribe((event) => void events.push(event));
  return {
    engine,
    dataDir,
    events,
    async call(channel, request) {
      const result = await dispatch(engine.handlers, channel, request);
      if (!result.ok) throw new Error(`${channel}: ${result.error.code}: ${result.error.message}`);
      return result.value as ResponseOf<typeof channel>;
    },
    of(event) {
      return events.flatMap((e) => (e.event === event ? [e.payload as EventMap[typeof event]] : []));
    },
    async close() {
      await engine.close();
    },
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
