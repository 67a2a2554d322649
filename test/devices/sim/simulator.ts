/**
 * The three-device simulator of issue 17 (PROTOCOL-V1.md 5d): real engines and real drop servers
 * (test/faults/cluster.ts: three servers behind fault proxies on one simulated clock, a 7-day TTL,
 * weeks in seconds), and the renderer's own code as each device's UI (uiDevice.ts).
 *
 * - Alice on three devices (a1, a2, a3), linked with the real ceremony (QR string, six-digit code,
 *   the UI's records through `offerLink`/`finishJoin`); her contacts Bob, Carol and Dave, Dave on two
 *   devices (d1, d2, linked the same way). Bob and Carol are also each other's contacts: one device
 *   each, so they talk version 1 (sessions) while a linked identity talks version 0 (the interim of
 *   electron/core/v1/README.md), and the ratchet check has sessions to look at.
 * - Every device is online on a seeded random schedule; only an online device reads, only an online
 *   user writes. a3 is away for 40 days (its app closed: no engine at all), and at its return starts
 *   as the app does (`afterUnlock`: outbox, catch-up from a sibling, poll).
 * - Crashes: a device's engine is closed in the middle of its step (its last batch stored by the UI
 *   but never acknowledged, posts still in flight) and started again from its files at its next online
 *   step; the UI's database survives (as IndexedDB does), and the start does what `afterUnlock` does.
 * - An attacker holding Alice's identity key (a stolen backup) announces a device of its own to her
 *   three contacts only; once an honest device shows the alarm, its user removes the device it names.
 * - The last days everyone is online and nobody writes: what is not consistent then never will be.
 *
 * What is recorded goes to invariants.ts, which checks and prints it.
 */
import './indexedDb.js';
import { Agent } from 'undici';
import type { IdentitySummary, IncomingMessage } from '../../../shared/ipc/contract.js';
import type { EngineOptions } from '../../../electron/core/engine.js';
import { PAYLOAD_LENGTH } from '../../../shared/protocol/boxTypes.js';
import { encodeDeviceList } from '../../../shared/protocol/deviceList.js';
import { decryptIdentityBackup } from '../../../shared/protocol/identityBackup.js';
import { serializeDropMessage } from '../../../shared/protocol/message.js';
import { DropClient } from '../../../electron/core/net/dropClient.js';
import { nativeBox } from '../../../electron/workers/nativeBox.js';
import { newQrPrekey, openInit, type QrPrekey } from '../../../electron/core/v1/session.js';
import { BOX_DEVICES } from '../../../electron/core/devices/deviceNews.js';
import { finishJoin, offerLink } from '../../../renderer/src/devices/deviceLinkTransfer.js';
import { tellContactsOfDevices } from '../../../renderer/src/devices/tellContacts.js';
import { type TestEngine, removeDir, startTestEngine, tempDir } from '../../engine/helpers/testEngine.js';
import { waitFor } from '../../engine/helpers/waitFor.js';
import { type Cluster, SimClock, startCluster } from '../../faults/cluster.js';
import type { FaultProfile } from '../../faults/simulator.js';
import { type Random, seeded } from '../../faults/random.js';
import { type RowText, UiDevice } from './uiDevice.js';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** As the fault simulator: retries on real time, scaled so a message is retried for several simulated steps. */
const SIM_TIMING: EngineOptions['timing'] = {
  pollBackoff: { baseMs: 20, maxMs: 100 },
  sendRetry: { baseMs: 20, maxMs: 100, maxAttempts: 8 },
  receiptRetry: { baseMs: 20, maxMs: 100, maxAttempts: 10 },
  requestTimeoutMs: 2000,
};

export interface DeviceSimOptions {
  seed: number;
  /** Simulated run length; the last `quietDays` everyone is online and nobody writes. */
  days: number;
  quietDays: number;
  /** One slot: the simulated time between two reads of an online device. */
  stepMs: number;
  /** Texts per simulated day from each online device to each of its contacts. */
  messagesPerDay: number;
  /** Ordinary sessions: online this long, then away this long (ms, uniform). */
  session: { onlineMs: readonly [number, number]; offlineMs: readonly [number, number] };
  /** a3 leaves at this time (ms from the start) for `awayMs` (the 40 days). */
  awayAt: number;
  awayMs: number;
  /** Crashes per simulated day of a device's online time (each online step crashes with stepMs/DAY_MS × this). */
  crashesPerDay: number;
  /** The attacker announces its device to Alice's contacts at this time (ms from the start); null: no attack. */
  attackAt: number | null;
  faults?: FaultProfile;
  /** At the end, with everyone quiet: one text per pair of probes, its POSTs counted (bytes per message vs devices). */
  probe?: boolean;
  log?: (line: string) => void;
}

/** One probe text: what it cost on the wire, to the recipient's drops and to the writer's own (sibling sync). */
export interface Probe {
  from: string;
  to: IdentityName;
  recipientDevices: number;
  posts: number;
  bytes: number;
  syncPosts: number;
  syncBytes: number;
}

export type IdentityName = 'alice' | 'bob' | 'carol' | 'dave';

export interface SimDevice {
  name: string;
  identityName: IdentityName;
  engine: TestEngine | null;
  dataDir: string;
  ui: UiDevice;
  identity: IdentitySummary;
  online: (readonly [number, number])[];
  /** Planned absence with the app closed (a3). */
  away?: readonly [number, number];
  crashes: number;
  restarts: number;
}

export interface SentText {
  id: string;
  text: string;
  fromDevice: string;
  from: IdentityName;
  to: IdentityName;
  at: number;
}

/** A message one device stored, as the batch brought it (before the UI's sync and writer). */
export interface Arrival {
  device: string;
  step: number;
  at: number;
  from: string;
  protocol: 0 | 1 | undefined;
  echo: string | undefined;
  text: string | null;
}

export interface StepRecord {
  step: number;
  at: number;
  online: string[];
  /** devices/list hash per running device. */
  hashes: Record<string, string>;
  /** Contacts (public keys) the alarms of each running device name. */
  alarms: Record<string, string[]>;
  /** Devices the alarms of each running device name (16 hex each). */
  alarmDevices: Record<string, string[]>;
}

export interface SimRecord {
  options: DeviceSimOptions;
  devices: SimDevice[];
  identities: Record<IdentityName, IdentitySummary>;
  sent: SentText[];
  arrivals: Arrival[];
  steps: StepRecord[];
  /** Every devices/list hash an honest device of Alice (or Dave) ever had. */
  honestHashes: Record<'alice' | 'dave', Set<string>>;
  attack: { at: number; step: number; deviceId: string } | null;
  removal: { at: number; step: number; by: string; hash: string } | null;
  /** Row ids per conversation on every device at the end (identity name → device → contact key → ids). */
  finalRows: Record<string, Record<string, Record<string, string[]>>>;
  /** Texts per device at the end (for the ground truth). */
  finalTexts: Record<string, RowText[]>;
  /** Every POST body that reached a server (to find a ratchet position sealed twice). */
  posts: { dropId: string; body: Buffer; at: number }[];
  /**
   * Init PDUs posted to Alice's drops that open with her (stolen) identity key and the attacker
   * device's prekey: what contacts encrypted to the attacker's device (per-device sessions), by
   * contact key and time.
   */
  toAttacker: { contact: string; at: number }[];
  /** History catch-ups: when a3 asked, and what came. */
  catchUps: { device: string; at: number; step: number }[];
  /** Bytes posted per text between a pair (from the proxies' counts), measured in the bench's probe. */
  quietFrom: number;
  stepCount: number;
  probes: Probe[];
  log: string[];
}

const STEP_LIMIT_MS = 60_000;

async function bounded<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`device simulator: ${what} did not finish within ${STEP_LIMIT_MS / 1000} s`)), STEP_LIMIT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function schedule(random: Random, options: DeviceSimOptions, start: number): (readonly [number, number])[] {
  const end = (options.days - options.quietDays) * DAY_MS;
  const windows: [number, number][] = [];
  let t = random.int(0, Math.floor(options.session.offlineMs[1] / 2));
  while (t < end) {
    const on = random.int(options.session.onlineMs[0], options.session.onlineMs[1]);
    windows.push([start + t, start + Math.min(end, t + on)]);
    t += on + random.int(options.session.offlineMs[0], options.session.offlineMs[1]);
  }
  // The quiet days: everyone online.
  windows.push([start + end, start + options.days * DAY_MS + 1]);
  return windows;
}

const isOnline = (device: SimDevice, t: number) => {
  if (device.away && t >= device.away[0] && t < device.away[1]) return false;
  return device.online.some(([a, b]) => t >= a && t < b);
};

async function startEngine(clock: SimClock, dataDir: string): Promise<TestEngine> {
  const engine = await startTestEngine({
    clock,
    dataDir,
    timing: SIM_TIMING,
    network: { allowLocalNetwork: true, retryBudget: { burst: 20, refillMs: 5 } },
    protocolV1: true,
    outbox: { repost: { checkMs: 20 } },
  });
  return engine;
}

/** The simulator says when an engine reads: its own timer would wait an hour of real time. */
async function pausePolling(engine: TestEngine): Promise<void> {
  await engine.call('settings/set', { push: false, pollIntervalMs: 3_600_000 });
  await engine.call('poller/setPaused', { paused: true });
}

/** Waits until no message of the given engines is being posted (bounded: a server may be down). */
async function settlePosting(engines: TestEngine[], maxMs = 1500): Promise<void> {
  const deadline = Date.now() + maxMs;
  for (;;) {
    const busy = engines.some((engine) => {
      const last = new Map<string, string>();
      for (const event of engine.events) {
        if (event.event !== 'outbox/status') continue;
        const status = event.payload as { localId: string; status: string; reason?: unknown };
        last.set(status.localId, status.reason ? 'waiting' : status.status);
      }
      return [...last.values()].some((status) => status === 'sending' || status === 'queued');
    });
    if (!busy || Date.now() > deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function linkState(engine: TestEngine, linkId: string, wanted: string) {
  return waitFor(async () => {
    const status = await engine.call('devices/linkStatus', { linkId });
    if (status.state === 'failed') throw new Error(`the link failed: ${status.error}`);
    return status.state === wanted ? status : null;
  }, `link ${wanted}`, 30_000);
}

/**
 * The real link ceremony between two UIs: the offering UI hands its records over, the joining device
 * scans the link string, the user compares the six digits on both screens, the joining UI stores the
 * records and the engine adds the identity; the offering UI then tells the contacts (tellContacts.ts).
 */
async function linkDevice(from: SimDevice, to: SimDevice, name: string): Promise<IdentitySummary> {
  const offering = await offerLink(from.ui.bridge, from.ui.db, from.identity, true);
  const joined = await to.engine!.call('devices/linkJoin', { linkString: offering.linkString, deviceName: name });
  const compare = await linkState(from.engine!, offering.status.linkId, 'compare');
  if (compare.code !== joined.code) throw new Error(`link ${from.name} → ${to.name}: the codes differ (${compare.code} / ${joined.code})`);
  await offering.handedOver;
  await from.engine!.call('devices/linkConfirm', { linkId: offering.status.linkId, matches: true });
  const received = await linkState(to.engine!, joined.linkId, 'received');
  await linkState(from.engine!, offering.status.linkId, 'done');
  const identity = await finishJoin(to.ui.bridge, to.ui.db, received, () => undefined);
  await tellContactsOfDevices(from.ui.db, from.ui.bridge, from.identity);
  return identity;
}

export async function runDeviceSim(options: DeviceSimOptions): Promise<SimRecord> {
  const random = seeded(options.seed);
  const start = Date.UTC(2026, 0, 5);
  const clock = new SimClock(start);
  const lines: string[] = [];
  const log = (line: string) => {
    lines.push(line);
    options.log?.(line);
  };
  await UiDevice.ready();
  const cluster: Cluster = await startCluster({ clock, random: random.fork(), capture: true });
  const devices: SimDevice[] = [];
  const dispatcher = new Agent();
  const record: SimRecord = {
    options,
    devices,
    identities: {} as Record<IdentityName, IdentitySummary>,
    sent: [],
    arrivals: [],
    steps: [],
    honestHashes: { alice: new Set(), dave: new Set() },
    attack: null,
    removal: null,
    finalRows: {},
    finalTexts: {},
    posts: [],
    catchUps: [],
    toAttacker: [],
    quietFrom: 0,
    stepCount: 0,
    probes: [],
    log: lines,
  };
  let step = 0;
  try {
    if (options.faults) {
      cluster.proxies.forEach((proxy, i) => (proxy.mode = { ...(options.faults!.modes[i] ?? {}) }));
    }
    const scheduleRandom = random.fork();
    const plan: [string, IdentityName][] = [
      ['a1', 'alice'],
      ['a2', 'alice'],
      ['a3', 'alice'],
      ['b', 'bob'],
      ['c', 'carol'],
      ['d1', 'dave'],
      ['d2', 'dave'],
    ];
    for (const [name, identityName] of plan) {
      const dataDir = tempDir(`deaddrop-devsim-${name}-`);
      const device: SimDevice = {
        name,
        identityName,
        engine: await startEngine(clock, dataDir),
        dataDir,
        ui: undefined as unknown as UiDevice,
        identity: undefined as unknown as IdentitySummary,
        online: schedule(scheduleRandom.fork(), options, start),
        crashes: 0,
        restarts: 0,
      };
      device.ui = new UiDevice(name, () => device.engine!, () => clock.now());
      device.ui.observe = (batch) => {
        for (const message of batch.messages) record.arrivals.push(arrivalOf(device, message, step, clock.now()));
      };
      if (name === 'a3') device.away = [start + options.awayAt, start + options.awayAt + options.awayMs];
      devices.push(device);
    }
    const byName = new Map(devices.map((d) => [d.name, d]));
    const dev = (name: string) => byName.get(name)!;

    // Identities: two drops each on distinct servers (k of n), first on a server of its own.
    const founders: [string, IdentityName, number][] = [
      ['a1', 'alice', 0],
      ['b', 'bob', 1],
      ['c', 'carol', 2],
      ['d1', 'dave', 0],
    ];
    for (const [name, identityName, server] of founders) {
      const device = dev(name);
      const created = await device.engine!.call('identities/create', { alias: identityName, serverUrl: cluster.urls[server]! });
      device.identity = await device.engine!.call('identities/addDrop', { identityId: created.id, serverUrl: cluster.urls[(server + 1) % 3]! });
      record.identities[identityName] = device.identity;
    }
    const ids = record.identities;
    // The stolen backup, taken now (the thief had it all along).
    const stolen = await dev('a1').engine!.call('identities/export', { identityId: ids.alice.id, passphrase: 'stolen backup' });
    for (const device of devices) await pausePolling(device.engine!);

    // Contacts, as the users add them from each other's cards.
    await dev('a1').ui.addContact(ids.alice, ids.bob, 'Bob');
    await dev('a1').ui.addContact(ids.alice, ids.carol, 'Carol');
    await dev('a1').ui.addContact(ids.alice, ids.dave, 'Dave');
    await dev('b').ui.addContact(ids.bob, ids.alice, 'Alice');
    await dev('b').ui.addContact(ids.bob, ids.carol, 'Carol');
    await dev('c').ui.addContact(ids.carol, ids.alice, 'Alice');
    await dev('c').ui.addContact(ids.carol, ids.bob, 'Bob');
    await dev('d1').ui.addContact(ids.dave, ids.alice, 'Alice');

    let sequence = 0;
    const send = async (from: SimDevice, to: IdentityName) => {
      const id = `m${++sequence}`;
      const text = `sim ${id} from ${from.name}`;
      record.sent.push({ id, text, fromDevice: from.name, from: from.identityName, to, at: clock.now() });
      await bounded(from.ui.send(from.identity.id, ids[to].publicKey, text), `${from.name}: send ${id}`);
    };
    const running = () => devices.filter((d) => d.engine !== null);
    const readOnce = async (device: SimDevice, crash = false) => {
      const engine = device.engine!;
      await bounded(engine.call('poller/setPaused', { paused: false }), `${device.name}: unpause`);
      await bounded(engine.call('poller/pollNow', {}), `${device.name}: pollNow`);
      await bounded(engine.engine.settled(), `${device.name}: settled`);
      await bounded(device.ui.drain({ skipAckOfLast: crash }), `${device.name}: UI`);
      if (crash) return;
      await bounded(engine.engine.settled(), `${device.name}: settled after acknowledging`);
      await bounded(device.ui.drain(), `${device.name}: UI again`);
      await bounded(engine.call('poller/setPaused', { paused: true }), `${device.name}: pause`);
    };

    // Day 0: Bob and Carol and Alice (still on one device) exchange first texts: sessions start.
    for (const [from, to] of [
      ['a1', 'bob'],
      ['a1', 'carol'],
      ['b', 'carol'],
      ['b', 'alice'],
      ['c', 'alice'],
      ['c', 'bob'],
    ] as [string, IdentityName][]) {
      await send(dev(from), to);
      await settlePosting(running().map((d) => d.engine!));
      for (const device of running()) if (device.identity) await readOnce(device);
    }

    // The links: Dave's second device, then Alice's two.
    const linkAndStart = async (from: string, to: string, label: string) => {
      const joined = dev(to);
      await bounded(
        (async () => {
          await joined.engine!.call('poller/setPaused', { paused: false });
          await dev(from).engine!.call('poller/setPaused', { paused: false });
          joined.identity = await linkDevice(dev(from), joined, label);
        })(),
        `link ${from} → ${to}`,
      );
      await pausePolling(joined.engine!);
      await dev(from).engine!.call('poller/setPaused', { paused: true });
      log(`linked ${to} from ${from}`);
    };
    await linkAndStart('d1', 'd2', 'Dave laptop');
    await linkAndStart('a1', 'a2', 'Alice laptop');
    await linkAndStart('a1', 'a3', 'Alice tablet');
    for (const device of devices) await readOnce(device);
    await settlePosting(running().map((d) => d.engine!));
    for (const device of devices) await readOnce(device);

    const contactsOf: Record<IdentityName, IdentityName[]> = { alice: ['bob', 'carol', 'dave'], bob: ['alice', 'carol'], carol: ['alice', 'bob'], dave: ['alice'] };
    const steps = Math.ceil((options.days * DAY_MS) / options.stepMs);
    record.stepCount = steps;
    const quietFrom = start + (options.days - options.quietDays) * DAY_MS;
    record.quietFrom = quietFrom;
    const sendP = (options.messagesPerDay * options.stepMs) / DAY_MS;
    const crashP = (options.crashesPerDay * options.stepMs) / DAY_MS;
    const sendRandom = random.fork();
    const crashRandom = random.fork();
    const attackRandom = random.fork();
    const attackerDevice = Array.from({ length: 8 }, () => attackRandom.int(0, 255).toString(16).padStart(2, '0')).join('');
    // The attacker's device has a prekey of its own (contacts key their Init PDUs to a device with it).
    const attackerPrekey = newQrPrekey(clock.now() + options.days * DAY_MS);
    let removalPending = false;

    for (step = 1; step <= steps; step++) {
      clock.advance(options.stepMs);
      const now = clock.now();
      await bounded(cluster.sweep(), 'sweep');
      const online = devices.filter((d) => isOnline(d, now));
      // Away with the app closed (a3), or crashed: the engine starts when the device is next online.
      for (const device of devices) {
        if (device.engine && device.away && now >= device.away[0] && now < device.away[1]) {
          await bounded(device.engine.close(), `${device.name}: closing for its absence`);
          device.engine = null;
          log(`step ${step}: ${device.name} leaves for ${((device.away[1] - device.away[0]) / DAY_MS).toFixed(0)} days`);
        }
      }
      for (const device of online) {
        if (device.engine) continue;
        device.engine = await bounded(startEngine(clock, device.dataDir), `${device.name}: start`);
        device.restarts++;
        await pausePolling(device.engine);
        device.ui.engineRestarted();
        const { askedHistory } = await bounded(device.ui.afterStart(), `${device.name}: afterStart`);
        if (askedHistory) record.catchUps.push({ device: device.name, at: now, step });
        log(`step ${step}: ${device.name} starts again${askedHistory ? ' and asks its siblings for history' : ''}`);
      }

      if (options.attackAt !== null && !record.attack && now - start >= options.attackAt) {
        await announceAttacker(stolen.content, attackerDevice, attackerPrekey, ids, dispatcher);
        record.attack = { at: now, step, deviceId: attackerDevice };
        removalPending = true;
        log(`step ${step}: the attacker announces device ${attackerDevice} to Bob, Carol and Dave`);
      }

      // Read first (as an app coming online does), then write; some crash in the middle of reading.
      const crashing = new Set(online.filter(() => now < quietFrom && crashRandom.next() < crashP));
      await Promise.all(online.map((device) => readOnce(device, crashing.has(device))));
      for (const device of crashing) {
        await bounded(device.engine!.close(), `${device.name}: crash`);
        device.engine = null;
        device.crashes++;
        log(`step ${step}: ${device.name} crashes (its last batch unacknowledged)`);
      }
      const alive = online.filter((d) => d.engine);

      // The user of a device that shows the alarm removes the device it names (Settings → Devices).
      if (removalPending) {
        for (const device of alive.filter((d) => d.identityName === 'alice')) {
          const status = await device.engine!.call('devices/list', { identityId: ids.alice.id });
          const named = status.alarms.flatMap((a) => a.unknownDevices);
          if (!named.includes(attackerDevice)) continue;
          const after = await device.engine!.call('devices/remove', { identityId: ids.alice.id, deviceId: attackerDevice });
          record.removal = { at: now, step, by: device.name, hash: after.hash };
          removalPending = false;
          log(`step ${step}: ${device.name} removes ${attackerDevice}; list ${after.hash}`);
          break;
        }
      }

      if (now < quietFrom) {
        for (const device of alive) {
          for (const to of contactsOf[device.identityName]) if (sendRandom.next() < sendP) await send(device, to);
          // Reading a conversation now and then (read state goes to the siblings).
          if (sendRandom.next() < 0.3) {
            const contact = contactsOf[device.identityName][sendRandom.int(0, contactsOf[device.identityName].length - 1)]!;
            await device.ui.read(device.identity.id, ids[contact].publicKey);
          }
        }
      }
      await settlePosting(running().map((d) => d.engine!));
      // Online recipients read at once (push would have them do so).
      await Promise.all(alive.map((device) => readOnce(device)));

      const hashes: Record<string, string> = {};
      const alarms: Record<string, string[]> = {};
      const alarmDevices: Record<string, string[]> = {};
      for (const device of running()) {
        const status = await device.engine!.call('devices/list', { identityId: device.identity.id });
        hashes[device.name] = status.hash;
        alarms[device.name] = status.alarms.map((a) => a.contact);
        alarmDevices[device.name] = status.alarms.flatMap((a) => a.unknownDevices);
        if (device.identityName === 'alice' || device.identityName === 'dave') record.honestHashes[device.identityName].add(status.hash);
      }
      record.steps.push({ step, at: now, online: alive.map((d) => d.name), hashes, alarms, alarmDevices });
      if (step % Math.max(1, Math.round(DAY_MS / options.stepMs)) === 0) {
        log(`day ${((now - start) / DAY_MS).toFixed(0)}: ${record.sent.length} written, online ${alive.map((d) => d.name).join(' ')}`);
      }
    }
    // Nothing in flight: everyone reads twice more.
    for (let round = 0; round < 2; round++) {
      await settlePosting(running().map((d) => d.engine!));
      await Promise.all(running().map((device) => readOnce(device)));
    }
    for (const device of devices) {
      const rows = await device.ui.conversations(device.identity.id);
      (record.finalRows[device.identityName] ??= {})[device.name] = Object.fromEntries([...rows].map(([k, v]) => [k, [...v].sort()]));
      record.finalTexts[device.name] = await device.ui.texts(device.identity.id);
    }
    if (options.probe) {
      const dropIdOf = (url: string) => url.split('?')[0]!.split('/').at(-1)!;
      // Probe texts come after the final rows were taken: they are no part of the invariants.
      const written = record.sent.length;
      for (const [from, to] of [
        ['b', 'carol'],
        ['b', 'alice'],
        ['d1', 'alice'],
        ['a1', 'bob'],
        ['a1', 'dave'],
      ] as [string, IdentityName][]) {
        const marks = cluster.proxies.map((p) => p.captured.length);
        await send(dev(from), to);
        await settlePosting(running().map((d) => d.engine!), 5000);
        const fresh = cluster.proxies.flatMap((p, i) => p.captured.slice(marks[i]).filter((c) => c.forwarded));
        const theirs = new Set(ids[to].dropUrls.map(dropIdOf));
        const ours = new Set(dev(from).identity.dropUrls.map(dropIdOf));
        const toThem = fresh.filter((c) => theirs.has(c.dropId));
        const toUs = fresh.filter((c) => ours.has(c.dropId));
        record.probes.push({
          from,
          to,
          recipientDevices: devices.filter((d) => d.identityName === to).length,
          posts: toThem.length,
          bytes: toThem.reduce((sum, c) => sum + c.body.length, 0),
          syncPosts: toUs.length,
          syncBytes: toUs.reduce((sum, c) => sum + c.body.length, 0),
        });
      }
      await Promise.all(running().map((device) => readOnce(device)));
      record.sent.splice(written);
    }
    for (const proxy of cluster.proxies) for (const post of proxy.captured) if (post.forwarded) record.posts.push({ dropId: post.dropId, body: post.body, at: post.at });
    if (record.attack) record.toAttacker = await sealedToAttacker(record, stolen.content, attackerPrekey);
    return record;
  } finally {
    for (const device of devices) if (device.engine) await bounded(device.engine.close(), `${device.name}: closing`).catch((err: unknown) => log(String(err)));
    for (const device of devices) await device.ui?.close().catch(() => undefined);
    await bounded(cluster.close(), 'closing the servers').catch((err: unknown) => log(String(err)));
    await dispatcher.close();
    for (const device of devices) removeDir(device.dataDir);
  }
}

function arrivalOf(device: SimDevice, message: IncomingMessage, step: number, at: number): Arrival {
  const text = message.content?.type === 'box_message' ? message.content.msg : message.text;
  return { device: device.name, step, at, from: message.senderKey, protocol: message.protocol, echo: message.devlistEcho, text: text ?? null };
}

/**
 * The thief's announcement, as deviceListNews.test.ts makes it: a `box_devices` with a list holding
 * only its own device, sealed with Alice's stolen key, posted to each contact's drops (never hers).
 */
async function announceAttacker(backup: string, deviceId: string, prekey: QrPrekey, ids: Record<IdentityName, IdentitySummary>, dispatcher: Agent): Promise<void> {
  const key = await decryptIdentityBackup(backup, 'stolen backup');
  const pair = { publicKey: new Uint8Array(Buffer.from(key.publicKey, 'hex')), privateKey: new Uint8Array(Buffer.from(key.privateKey, 'hex')) };
  const body = encodeDeviceList({ epoch: 1, devices: [{ deviceId, prekey: Buffer.from(prekey.public, 'base64url').toString('hex'), addedDay: 20_000, name: 'Laptop' }] });
  const payload = JSON.stringify({ device: deviceId, list: Buffer.from(body).toString('base64url') });
  const client = new DropClient({ dispatcher, timeoutMs: 5000 });
  for (const contact of [ids.bob, ids.carol, ids.dave]) {
    const json = serializeDropMessage({
      version: 1,
      time_stamp: Date.now(),
      sender: key.publicKey,
      drop_payload: payload,
      drop_payload_type: BOX_DEVICES,
      acknowledge_id: '0',
      dd: { v: 1, md: 1 },
    });
    const padded = new Uint8Array(PAYLOAD_LENGTH);
    padded.set(json);
    // Through the same faulty servers as everyone: a POST refused or lost is tried again, a few times.
    for (const url of contact.dropUrls) {
      const pdu = await nativeBox.sealPdu(pair, Buffer.from(contact.publicKey, 'hex'), padded);
      for (let attempt = 0; attempt < 5; attempt++) {
        if (await client.post(url, pdu).then(() => true, () => false)) break;
      }
    }
  }
}

/**
 * What the contacts encrypted to the attacker's device: every PDU posted to Alice's drops is tried
 * as an Init with her identity key and the attacker device's prekey (the attacker never answers, so
 * a contact's session with that device stays at Init PDUs). One that opens under that prekey was
 * sealed to it; its sender is the identity the Init authenticates.
 */
async function sealedToAttacker(record: SimRecord, backup: string, prekey: QrPrekey): Promise<{ contact: string; at: number }[]> {
  const key = await decryptIdentityBackup(backup, 'stolen backup');
  const ourIdentity = { publicKey: new Uint8Array(Buffer.from(key.publicKey, 'hex')), privateKey: new Uint8Array(Buffer.from(key.privateKey, 'hex')) };
  const aliceDrops = new Set(record.identities.alice.dropUrls.map((url) => url.split('?')[0]!.split('/').at(-1)!));
  const found: { contact: string; at: number }[] = [];
  for (const post of record.posts) {
    if (!aliceDrops.has(post.dropId) || post.at < record.attack!.at) continue;
    const opened = openInit({ ourIdentity, qrPrekeys: [prekey] }, new Uint8Array(post.body), post.at);
    if (opened && 'qpkId' in opened && opened.qpkId === prekey.id) found.push({ contact: Buffer.from(opened.theirIdentityPublic).toString('hex'), at: post.at });
  }
  return found;
}
