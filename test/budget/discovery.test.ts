/**
 * Discovery (`<base>/.well-known/deaddrop`) in budget mode: a server that does not answer counts as
 * unable to pad or take cover, and is asked again after an hour, not beside every slot; a server that
 * answers is asked once a day.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDropUrl, generateDropId } from '../../shared/protocol/dropId.js';
import { DEFAULT_TRAFFIC_BUDGET } from '../../shared/budget/setting.js';
import { createLogger, setLogLevel } from '../../shared/log.js';
import { TrafficBudget } from '../../electron/core/budget/trafficBudget.js';
import { type ServerProcess, makeDataDir, removeDataDir, startServerProcess } from '../server/serverProcess.js';
import { loopbackGuard } from './budgetHarness.js';
import { FakeSlotTimer } from './fakeTimer.js';
import { type RecordingProxy, startRecordingProxy } from './recordingProxy.js';
import { seededRandom } from './stats.js';

let dataDir: string;
let server: ServerProcess;
let live: RecordingProxy;
let dead: RecordingProxy;
/** A contact's server: the same server process behind another address. */
let contact: RecordingProxy;
/** Labels each connection with the running test's clock. */
let clock: () => number = () => 0;

/** A port nobody listens on (taken, then let go). */
async function deadPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  setLogLevel('error');
  dataDir = makeDataDir();
  server = await startServerProcess(dataDir);
  live = await startRecordingProxy(server.url, () => clock());
  dead = await startRecordingProxy(`http://127.0.0.1:${await deadPort()}`, () => clock());
  contact = await startRecordingProxy(server.url, () => clock());
});
afterAll(async () => {
  await live?.close();
  await dead?.close();
  await contact?.close();
  await server?.stop();
  removeDataDir(dataDir);
});

describe('discovery in budget mode', () => {
  it('asks a silent server again after an hour and a live one after a day, never beside every slot', async () => {
    const timer = new FakeSlotTimer();
    const noted: Array<{ server: string; canPad: boolean | undefined }> = [];
    const drops = [formatDropUrl(live.url, generateDropId()), formatDropUrl(dead.url, generateDropId())];
    const budget = new TrafficBudget({
      setting: () => ({ ...DEFAULT_TRAFFIC_BUDGET, preset: 'high' }),
      proxy: () => ({ kind: 'none' }),
      guard: loopbackGuard(),
      ownDrops: () => drops,
      readDrop: (dropUrl, fetch) => fetch(dropUrl, null, {}).then(() => undefined),
      noteServer: (dropUrl, { canPad }) => void noted.push({ server: new URL(dropUrl).origin, canPad }),
      timer,
      random: seededRandom(8),
      logger: createLogger('budget-test'),
    });
    await budget.configure();
    expect(noted.sort((a, b) => Number(b.canPad) - Number(a.canPad))).toEqual([
      { server: live.url, canPad: true },
      { server: dead.url, canPad: false },
    ]);
    const discoveries = (proxy: RecordingProxy) => proxy.records.filter((r) => r.path.endsWith('/.well-known/deaddrop')).length;
    // High: a slot a minute. Two hours of slots.
    await timer.runUntil(timer.now() + 2 * 3600_000, async () => {
      await budget.idle();
      await Promise.all([live.quiet(), dead.quiet()]);
    });
    await budget.close();
    await Promise.all([live.quiet(), dead.quiet()]);
    expect(discoveries(live)).toBe(1);
    // At the start, then once after the hour (and once more at two hours at most).
    expect(discoveries(dead)).toBeGreaterThanOrEqual(2);
    expect(discoveries(dead)).toBeLessThanOrEqual(3);
  }, 60_000);

  it('asks a contact\'s server at a random time within a day of the first real PDU to it, then sends cover there', async () => {
    const timer = new FakeSlotTimer(Date.UTC(2026, 5, 1));
    clock = () => timer.now();
    const budget = new TrafficBudget({
      setting: () => ({ ...DEFAULT_TRAFFIC_BUDGET, preset: 'medium' }),
      proxy: () => ({ kind: 'none' }),
      guard: loopbackGuard(),
      ownDrops: () => [formatDropUrl(live.url, generateDropId())],
      readDrop: (dropUrl, fetch) => fetch(dropUrl, null, {}).then(() => undefined),
      noteServer: () => undefined,
      timer,
      random: seededRandom(9),
      logger: createLogger('budget-test'),
    });
    await budget.configure();
    const client = budget.postingClient()!;
    const toContact = () => void client.post(formatDropUrl(contact.url, generateDropId()), new Uint8Array(2149)).catch(() => undefined);
    const settle = async () => {
      await budget.idle();
      await new Promise((resolve) => setTimeout(resolve, 5));
      await Promise.all([live.quiet(), contact.quiet()]);
    };
    const start = timer.now();
    toContact();
    // Two days of Medium slots, a real PDU to the contact every two hours.
    for (let hour = 2; hour <= 48; hour += 2) {
      await timer.runUntil(start + hour * 3600_000, settle);
      toContact();
    }
    await budget.close();
    await Promise.all([live.quiet(), contact.quiet()]);
    const discoveries = contact.records.filter((r) => r.path.endsWith('/.well-known/deaddrop'));
    expect(discoveries).toHaveLength(1);
    const asked = discoveries[0]!.label;
    expect(asked - start).toBeLessThan(24 * 3600_000);
    // Cover went to the own server until the contact's server said it takes cover, then there.
    const coverTo = (proxy: RecordingProxy, from: number, to: number) => proxy.records.filter((r) => r.cover === '1' && r.label >= from && r.label < to).length;
    expect(coverTo(contact, start, asked)).toBe(0);
    expect(coverTo(live, start, asked)).toBeGreaterThan(0);
    expect(coverTo(contact, asked, Infinity)).toBeGreaterThan(0);
    expect(coverTo(live, asked + 1, Infinity)).toBe(0);
  }, 60_000);
});
