/**
 * The fault simulator: real engines (a hub, "alice", and her contacts) exchange messages through
 * three real drop servers behind fault proxies, on one simulated clock that moves in steps, so weeks
 * pass in seconds. Each contact is online on a seeded random schedule (sessions of hours, gaps of hours
 * to weeks); only an online engine reads its drops, and only an online user writes. A stand-in for the
 * UI stores each batch as the renderer does (by dedupe key), acknowledges it, owes receipts to known
 * contacts, applies contact updates and the drop URL every message names in its meta data, and counts
 * a message shown twice. The hub may move to a new drop mid-run (identities/moveDrop plus a
 * `box_contact_update` to every contact), to measure what a migration loses.
 */
import type { IdentitySummary, IncomingMessage, RequestOf } from '../../shared/ipc/contract.js';
import type { EngineOptions } from '../../electron/core/engine.js';
import { argon2id } from '../../shared/protocol/argon2id.js';
import { TEST_PASSPHRASE_LIMITS } from '../../shared/protocol/identityBackup.js';
import { passphraseKeyWrap } from '../../electron/core/state/passphraseKeyWrap.js';
import { StateStore } from '../../electron/core/state/stateStore.js';
import { type TestEngine, removeDir, startTestEngine } from '../engine/helpers/testEngine.js';
import { type Cluster, SimClock, startCluster } from './cluster.js';
import type { FaultMode } from './faultProxy.js';
import { type Random, seeded } from './random.js';
import { type SimReport, buildReport } from './report.js';

export const HOUR_MS = 3600_000;
/** What startTestEngine seals the state file with. */
const TEST_SECRET = 'test secret';
export const DAY_MS = 24 * HOUR_MS;

/**
 * Retries run on real time, and a step of the simulated clock (an hour) takes some 60 ms of it: the
 * outbox's retries and its retry budget are scaled so that a message is retried for several simulated
 * hours, about what the app's 200 attempts up to a minute apart give, and then fails or stays posted
 * with the copies it got out (re-posting, on the simulated clock, goes on from there).
 */
const SIM_TIMING: EngineOptions['timing'] = {
  pollBackoff: { baseMs: 20, maxMs: 100 },
  sendRetry: { baseMs: 20, maxMs: 100, maxAttempts: 8 },
  receiptRetry: { baseMs: 20, maxMs: 100, maxAttempts: 10 },
  requestTimeoutMs: 2000,
};

export interface FaultProfile {
  name: string;
  /** The proxies' modes (by server index; missing: no faults). */
  modes: FaultMode[];
  /** Per server, outages at random: how many per simulated day, and how long (ms, uniform). */
  outages?: { perDay: number; durationMs: readonly [number, number] };
}

export interface ContactPlan {
  /** Simulated ms from the start when the contact goes away for `awayMs` (a long absence), if at all. */
  awayAt?: number;
  awayMs?: number;
  /**
   * Coming back from the absence, the contact's app posts what was written while away before it has
   * read anything (to the drops the contact knew): the case a migration must survive.
   */
  writesOnReturn?: boolean;
}

export interface SimOptions {
  seed: number;
  contacts: number;
  /** Simulated run length. */
  days: number;
  /** Messages are written during the first `sendDays` only. */
  sendDays: number;
  stepMs: number;
  /** Messages per simulated day each way between the hub (always online) and each contact (while online). */
  messagesPerDay: number;
  /** Ordinary sessions: online this long (ms, uniform), then away this long (ms, uniform). */
  session: { onlineMs: readonly [number, number]; offlineMs: readonly [number, number] };
  /** Long absences per contact (index); the others follow `session` only. */
  plans?: ContactPlan[];
  faults: FaultProfile;
  /** A message counts for the delivery ratio when its recipient was online within this after it was written. */
  eligibleWithinMs?: number;
  protocolV1?: boolean;
  /** The hub moves from its first drop to a new drop on the third server at this simulated time. */
  migrateAt?: number;
  /** How many drops the hub has (default 2, on distinct servers; 1: a move leaves contacts nothing else to write to). */
  hubDrops?: 1 | 2;
  /** Extra engine options (T1's re-posting interval and the like). */
  engine?: Partial<EngineOptions>;
  /** Print progress (the bench). */
  log?: (line: string) => void;
  /** The proxies keep POST bodies, so a lost message's story names every POST of its copies (memory: every body of the run). */
  trace?: boolean;
}

interface Party {
  name: string;
  engine: TestEngine;
  identity: IdentitySummary;
  /** Online windows [start, end) in simulated ms; the hub is always online. */
  online: (readonly [number, number])[] | 'always';
  ui: UiStandIn;
  /** Simulated times the engine read its drops (what "online" means for the delivery ratio). */
  readAt: number[];
}

export interface SentMessage {
  id: string;
  from: string;
  to: string;
  sentAt: number;
  kind: 'text' | 'update';
  /** When the recipient's UI first stored it (simulated ms). */
  shownAt: number | null;
  /** Whether the recipient was online within `eligibleWithinMs` after it was written. */
  eligible: boolean;
  /** The drop it arrived at (the first time). */
  dropUrl: string | null;
  /** The protocol it arrived in the first time (0: a v0 box, 1: an Init or Session PDU). */
  protocol?: 0 | 1;
  /** Which drops the writer addressed. */
  recipientDrops: string[];
  /** The writer's outbox at the end: its last `outbox/status`, and whether `outbox/delivered` came (for a lost message's story). */
  outbox?: { last: unknown; delivered: boolean };
  /** When the recipient was next online after the writing (simulated ms; null: never in the run). */
  recipientBackAt?: number | null;
  /** How often its writer pressed Retry after the outbox said failed (absent: never). */
  userRetries?: number;
  /** A message never shown: what became of it (a failure message tells it). */
  story?: LostStory;
}

/** Simulated days since the run's start, two decimals (what a lost message's story is told in). */
type Day = number;

/** What became of a message never shown (times in simulated days since the start). */
export interface LostStory {
  /** Every `outbox/status` of the writer for it, with when it came. */
  statuses: { day: Day; status: string; copies?: unknown; repost?: unknown }[];
  /** The writer's record at the end: where each copy is, when re-posting is next due. */
  record: { protocol: number; targets: string[]; placed: { piece: number; target: number; sealed: number; day: Day }[]; nextRepostDay: Day | null; repostUntilDay: Day | null; acked: string[]; refs: string[] } | null;
  /** The recipient's reads after the writing. */
  readDays: Day[];
  /** With `trace`: every POST of one of its sealed copies the proxies saw (server index, when, whether the server got it). */
  posts?: { server: number; day: Day; forwarded: boolean }[];
}

/** What the renderer keeps of a contact, as far as delivery goes. */
interface ContactBook {
  publicKey: string;
  dropUrls: string[];
  /** Revision of the last contact update applied (absent: none yet). */
  updateRevision?: number;
}

/**
 * The UI's part of delivery, as renderer/src does it: a message is stored once per dedupe key, a
 * batch is acknowledged once stored, receipts are owed to known contacts at the drop URLs of their
 * record, a `box_contact_update` replaces the sender's drop list (newer revisions only), and a drop
 * URL named in a message's meta data that the list lacks goes in front (applyMetaData).
 */
class UiStandIn {
  readonly contacts = new Map<string, ContactBook>();
  private readonly stored = new Set<string>();
  private readonly acked = new Set<string>();
  private seenEvents = 0;
  /** Receipts that arrived, by acknowledge id. */
  readonly receipts = new Set<string>();

  constructor(
    private readonly party: () => Party,
    private readonly onShown: (message: IncomingMessage, firstTime: boolean) => void,
  ) {}

  async drain(): Promise<void> {
    const { engine } = this.party();
    const events = engine.events;
    for (; this.seenEvents < events.length; this.seenEvents++) {
      const event = events[this.seenEvents]!;
      if (event.event !== 'inbox/batch') continue;
      const batch = event.payload as { batchId: string; messages: IncomingMessage[]; receipts: { acknowledgeId: string }[] };
      if (this.acked.has(batch.batchId)) continue;
      this.acked.add(batch.batchId);
      const owed: { dedupeKey: string; dropUrls: string[] }[] = [];
      for (const message of batch.messages) {
        if (this.stored.has(message.dedupeKey)) continue;
        this.stored.add(message.dedupeKey);
        const contact = this.contacts.get(message.senderKey);
        if (contact) {
          this.apply(contact, message);
          owed.push({ dedupeKey: message.dedupeKey, dropUrls: contact.dropUrls });
        }
        this.onShown(message, true);
      }
      for (const receipt of batch.receipts) this.receipts.add(receipt.acknowledgeId);
      await engine.call('inbox/ack', { batchId: batch.batchId, receipts: owed });
    }
  }

  private apply(contact: ContactBook, message: IncomingMessage): void {
    const content = message.content;
    if (content?.type === 'box_contact_update') {
      if (content.revision > (contact.updateRevision ?? -1)) {
        contact.updateRevision = content.revision;
        contact.dropUrls = [...content.dropUrls];
      }
      return;
    }
    const named = message.meta?.dropUrl;
    if (named && !contact.dropUrls.includes(named) && message.sentAt > (contact.updateRevision ?? -1)) {
      contact.dropUrls = contact.updateRevision === undefined ? [named] : [named, ...contact.dropUrls];
    }
  }
}

function schedule(random: Random, options: SimOptions, plan: ContactPlan | undefined): (readonly [number, number])[] {
  const end = options.days * DAY_MS;
  const windows: [number, number][] = [];
  let t = random.int(0, options.session.offlineMs[1]);
  while (t < end) {
    const on = random.int(options.session.onlineMs[0], options.session.onlineMs[1]);
    windows.push([t, Math.min(end, t + on)]);
    t += on + random.int(options.session.offlineMs[0], options.session.offlineMs[1]);
  }
  if (plan?.awayAt === undefined || plan.awayMs === undefined) return windows;
  const awayStart = plan.awayAt;
  const awayEnd = plan.awayAt + plan.awayMs;
  // Away means away: windows inside the absence go, and the contact comes back right when it ends.
  const kept = windows.filter(([start, stop]) => stop <= awayStart || start >= awayEnd).map(([s, e]) => [s, e] as [number, number]);
  if (awayEnd < end) kept.push([awayEnd, Math.min(end, awayEnd + options.session.onlineMs[1])]);
  return kept.sort((a, b) => a[0] - b[0]);
}

/** Everything an engine is asked within a step is bounded: a hang fails the run, naming what hung. */
const STEP_LIMIT_MS = 60_000;

async function bounded<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`simulator: ${what} did not finish within ${STEP_LIMIT_MS / 1000} s`)), STEP_LIMIT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** One round of reading, as the app's poller does it, and the UI storing and acknowledging what came. */
async function readOnce(party: Party, now: number): Promise<void> {
  const { engine } = party;
  await bounded(engine.call('poller/setPaused', { paused: false }), `${party.name}: poller/setPaused`);
  await bounded(engine.call('poller/pollNow', {}), `${party.name}: poller/pollNow`);
  await bounded(engine.engine.settled(), `${party.name}: settled after polling`);
  await bounded(party.ui.drain(), `${party.name}: storing and acknowledging batches`);
  // Acknowledging may let the poller read a drop again (a batch held a session): wait for that too.
  await bounded(engine.engine.settled(), `${party.name}: settled after acknowledging`);
  await bounded(party.ui.drain(), `${party.name}: storing and acknowledging batches again`);
  await bounded(engine.call('poller/setPaused', { paused: true }), `${party.name}: pausing`);
  party.readAt.push(now);
}

const isOnline = (party: Party, t: number) => party.online === 'always' || party.online.some(([start, end]) => t >= start && t < end);

function outageWindows(random: Random, profile: FaultProfile, days: number): (readonly [number, number])[] {
  if (!profile.outages || profile.outages.perDay <= 0) return [];
  const windows: [number, number][] = [];
  const count = Math.round(profile.outages.perDay * days);
  for (let i = 0; i < count; i++) {
    const start = random.int(0, days * DAY_MS);
    windows.push([start, start + random.int(profile.outages.durationMs[0], profile.outages.durationMs[1])]);
  }
  return windows;
}

export interface SimResult {
  report: SimReport;
  messages: SentMessage[];
  cluster: ReturnType<Cluster['totals']>;
}

export async function runSimulation(options: SimOptions): Promise<SimResult> {
  const random = seeded(options.seed);
  const start = Date.UTC(2026, 0, 5);
  const clock = new SimClock(start);
  const rel = () => clock.now() - start;
  const cluster = await startCluster({ clock, random: random.fork(), capture: options.trace === true });
  const parties: Party[] = [];
  const messages = new Map<string, SentMessage>();
  /** The hub's contact update to each contact (by contact name), once it moved. */
  const updateIds = new Map<string, string>();
  let duplicatesShown = 0;
  const shownIds = new Set<string>();
  const log = options.log ?? (() => undefined);
  const day = (at: number): Day => Math.round(((at - start) / DAY_MS) * 100) / 100;
  /** When each `outbox/status` came (simulated), by writer and localId. */
  const statusTimes = new Map<string, LostStory['statuses']>();
  const lostStory = async (message: SentMessage, writer: Party, recipient: Party): Promise<LostStory> => {
    // The writer's record as its state file holds it (read by a second, read-only store: the engine does not show its own).
    const store = await StateStore.load(writer.engine.dataDir, passphraseKeyWrap(TEST_PASSPHRASE_LIMITS, argon2id));
    await store.unlock(TEST_SECRET);
    const record = store.outboxRecord(message.id);
    const sealed = new Set(record?.pieces.flatMap((piece) => piece.sealed.filter((pdu) => pdu !== '')) ?? []);
    return {
      statuses: statusTimes.get(`${writer.name}/${message.id}`) ?? [],
      record: record
        ? {
            protocol: record.protocol,
            targets: record.targets,
            placed: record.pieces.flatMap((piece, index) => piece.placed.map((p) => ({ piece: index, target: p.target, sealed: p.sealed, day: day(p.at) }))),
            nextRepostDay: record.nextRepostAt === null ? null : day(record.nextRepostAt),
            repostUntilDay: record.repostUntil === null ? null : day(record.repostUntil),
            acked: record.acked,
            refs: record.refs,
          }
        : null,
      readDays: recipient.readAt.filter((at) => at >= message.sentAt).map(day),
      ...(options.trace
        ? {
            posts: cluster.proxies.flatMap((proxy, server) =>
              proxy.captured.filter((post) => sealed.has(post.body.toString('base64'))).map((post) => ({ server, day: day(post.at), forwarded: post.forwarded })),
            ),
          }
        : {}),
    };
  };
  try {
    const outageRandom = random.fork();
    cluster.proxies.forEach((proxy, i) => {
      const mode = options.faults.modes[i] ?? {};
      proxy.mode = { ...mode, down: [...(mode.down ?? []), ...outageWindows(outageRandom, options.faults, options.days).map(([a, b]) => [start + a, start + b] as const)] };
    });
    const scheduleRandom = random.fork();
    const names = ['alice', ...Array.from({ length: options.contacts }, (_, i) => `c${i + 1}`)];
    for (const [index, name] of names.entries()) {
      const engine = await startTestEngine({
        clock,
        timing: SIM_TIMING,
        network: { allowLocalNetwork: true, retryBudget: { burst: 20, refillMs: 5 } },
        protocolV1: options.protocolV1 ?? false,
        // Re-posts fall due by the simulated clock; the outbox looks for them every 20 ms of real time.
        outbox: { repost: { checkMs: 20 } },
        ...options.engine,
      });
      // Two drops on distinct servers, as k-of-n posting wants (the hub's first one is what a migration leaves).
      const first = index % cluster.urls.length;
      let identity = await engine.call('identities/create', { alias: name, serverUrl: cluster.urls[first]! });
      if (index > 0 || options.hubDrops !== 1) {
        identity = await engine.call('identities/addDrop', { identityId: identity.id, serverUrl: cluster.urls[(first + 1) % cluster.urls.length]! });
      }
      // The simulator says when an engine reads (poller/pollNow while online, paused while away): its
      // own timer waits an hour of real time, and there is no push through the proxies.
      await engine.call('settings/set', { push: false, pollIntervalMs: 3_600_000 });
      await engine.call('poller/setPaused', { paused: true });
      const online = index === 0 ? 'always' : schedule(scheduleRandom.fork(), options, options.plans?.[index - 1]).map(([a, b]) => [start + a, start + b] as const);
      const party: Party = { name, engine, identity, online, ui: undefined as unknown as UiStandIn, readAt: [] };
      engine.engine.subscribe((event) => {
        if (event.event !== 'outbox/status') return;
        const status = event.payload as { localId: string; status: string; copies?: unknown; repost?: unknown };
        const key = `${name}/${status.localId}`;
        const list = statusTimes.get(key) ?? [];
        list.push({ day: day(clock.now()), status: status.status, copies: status.copies, repost: status.repost });
        statusTimes.set(key, list);
      });
      party.ui = new UiStandIn(
        () => party,
        (message) => {
          const id = message.content?.type === 'box_contact_update' ? (updateIds.get(party.name) ?? null) : messageId(message);
          if (id === null) return;
          const sent = messages.get(id);
          if (!sent) return;
          if (shownIds.has(id)) {
            duplicatesShown++;
            return;
          }
          shownIds.add(id);
          sent.shownAt = clock.now();
          sent.dropUrl = message.dropUrl;
          sent.protocol = message.protocol === 1 ? 1 : 0;
        },
      );
      parties.push(party);
    }
    const hub = parties[0]!;
    for (const contact of parties.slice(1)) {
      hub.ui.contacts.set(contact.identity.publicKey, { publicKey: contact.identity.publicKey, dropUrls: [...contact.identity.dropUrls] });
      contact.ui.contacts.set(hub.identity.publicKey, { publicKey: hub.identity.publicKey, dropUrls: [...hub.identity.dropUrls] });
    }

    let sequence = 0;
    /** What each message was sent with, so that a failed one can be sent again as the UI's Retry does. */
    const requests = new Map<string, { from: Party; request: RequestOf<'messages/send'> }>();
    const send = async (from: Party, to: Party, kind: SentMessage['kind']) => {
      const id = `m${++sequence}`;
      const book = from.ui.contacts.get(to.identity.publicKey)!;
      messages.set(id, { id, from: from.name, to: to.name, sentAt: clock.now(), kind, shownAt: null, eligible: false, dropUrl: null, recipientDrops: [...book.dropUrls] });
      const request: RequestOf<'messages/send'> = {
        identityId: from.identity.id,
        localId: id,
        recipient: { publicKey: to.identity.publicKey, dropUrls: book.dropUrls },
        ...(kind === 'update' ? { content: { type: 'box_contact_update' as const } } : { text: `sim ${id}` }),
        wantReceipt: true,
      };
      requests.set(id, { from, request });
      await bounded(from.engine.call('messages/send', request), `${from.name}: messages/send ${id}`);
      return id;
    };
    /**
     * A message the outbox gave up on (every server of the contact refused it through all its attempts:
     * both of a contact's servers down for hours) is shown to its writer as failed, with a Retry button
     * (renderer/src/db/outbox.ts retryMessage: messages/send again under the same localId). The
     * simulated user presses it the next step they are online; the message counts as written when it
     * first was, and `userRetries` says how often this was needed.
     */
    const retryFailed = async (party: Party) => {
      const last = new Map<string, string>();
      for (const event of party.engine.events) {
        if (event.event !== 'outbox/status') continue;
        const status = event.payload as { localId: string; status: string };
        last.set(status.localId, status.status);
      }
      for (const [localId, status] of last) {
        const sent = requests.get(localId);
        if (status !== 'failed' || sent?.from !== party) continue;
        const message = messages.get(localId)!;
        message.userRetries = (message.userRetries ?? 0) + 1;
        await bounded(party.engine.call('messages/send', sent.request), `${party.name}: messages/send ${localId} again`);
      }
    };

    const steps = Math.ceil((options.days * DAY_MS) / options.stepMs);
    const sendProbability = (options.messagesPerDay * options.stepMs) / DAY_MS;
    const sendRandom = random.fork();
    let migrated = options.migrateAt === undefined;
    for (let step = 0; step < steps; step++) {
      clock.advance(options.stepMs);
      await bounded(cluster.sweep(), 'the servers\' sweep');
      const online = parties.filter((party) => isOnline(party, clock.now()));
      if (migrated && options.migrateAt !== undefined) {
        // The poller looks at the old drop's daily window on a real-time timer the simulated clock does
        // not move; any identity change makes it look again (the retiredDrops test does the same).
        await hub.engine.call('identities/rename', { identityId: hub.identity.id, alias: hub.identity.alias });
      }
      for (const [index, contact] of parties.slice(1).entries()) {
        const plan = options.plans?.[index];
        const back = plan?.awayAt !== undefined && plan.awayMs !== undefined ? start + plan.awayAt + plan.awayMs : null;
        if (plan?.writesOnReturn && back !== null && clock.now() >= back && clock.now() < back + options.stepMs) await send(contact, hub, 'text');
      }
      // Read first (as an app does when it comes online), then write.
      await Promise.all(online.map((party) => readOnce(party, clock.now())));
      if (!migrated && rel() >= options.migrateAt!) {
        migrated = true;
        const from = hub.identity.dropUrls[0]!;
        hub.identity = await hub.engine.call('identities/moveDrop', { identityId: hub.identity.id, fromDropUrl: from, serverUrl: cluster.urls[2]! });
        for (const contact of parties.slice(1)) updateIds.set(contact.name, await send(hub, contact, 'update'));
        log(`day ${(rel() / DAY_MS).toFixed(2)}: alice moved ${from} -> ${hub.identity.dropUrls[0]}`);
      }
      for (const party of online) await retryFailed(party);
      const addressed = new Set<Party>();
      if (rel() < options.sendDays * DAY_MS) {
        for (const contact of parties.slice(1)) {
          // The hub writes whenever she likes; a contact only while online.
          if (sendRandom.next() < sendProbability) {
            await send(hub, contact, 'text');
            if (isOnline(contact, clock.now())) addressed.add(contact);
          }
          if (!isOnline(contact, clock.now())) continue;
          if (sendRandom.next() < sendProbability) {
            await send(contact, hub, 'text');
            addressed.add(hub);
          }
        }
      }
      // Let the posts of this step go out before the clock moves (a real app has minutes for that), and
      // let recipients who are online read them at once, as push would have them do.
      await settlePosting(parties);
      await Promise.all([...addressed].map((party) => readOnce(party, clock.now())));
      if (step % Math.max(1, Math.round(DAY_MS / options.stepMs)) === 0) log(`day ${(rel() / DAY_MS).toFixed(0)}: ${messages.size} written, ${shownIds.size} shown`);
    }
    // Nothing still in flight: every online engine reads once more.
    await settlePosting(parties);
    await Promise.all(parties.filter((party) => isOnline(party, clock.now())).map((party) => readOnce(party, clock.now())));

    const within = options.eligibleWithinMs ?? 14 * DAY_MS;
    const byName = new Map(parties.map((party) => [party.name, party]));
    for (const message of messages.values()) {
      // Counted when the recipient read its drops within the window after the writing (a read in the
      // very step of the writing counts only if it came after it: readAt is noted after each read).
      message.eligible = byName.get(message.to)!.readAt.some((at) => at >= message.sentAt && at <= message.sentAt + within);
    }
    for (const message of messages.values()) {
      const writer = byName.get(message.from)!;
      const statuses = writer.engine.of('outbox/status').filter((status) => status.localId === message.id);
      message.outbox = { last: statuses.at(-1) ?? null, delivered: writer.engine.of('outbox/delivered').some((d) => d.localId === message.id) };
      const recipient = byName.get(message.to)!;
      message.recipientBackAt =
        recipient.online === 'always' ? message.sentAt : (recipient.online.find(([, b]) => b > message.sentAt)?.[0] ?? null);
      if (message.shownAt === null) message.story = await lostStory(message, writer, recipient);
    }
    const all = [...messages.values()];
    const report = buildReport({
      profile: options.faults.name,
      messages: all,
      duplicatesShown,
      traffic: cluster.totals(),
      days: options.days,
      contacts: options.contacts,
      updates: [...updateIds.entries()].map(([contact, id]) => ({ contact, shownAt: messages.get(id)!.shownAt })),
    });
    return { report, messages: all, cluster: cluster.totals() };
  } finally {
    // After a hang (a bounded call failed the run) closing may hang too: bounded as well, so the
    // error that names what hung comes out.
    for (const party of parties) await bounded(party.engine.close(), `${party.name}: closing`).catch((err: unknown) => log(String(err)));
    await bounded(cluster.close(), 'closing the servers').catch((err: unknown) => log(String(err)));
    for (const party of parties) removeDir(party.engine.dataDir);
  }
}

/** The simulator's id of a text (`sim m12`). */
function messageId(message: IncomingMessage): string | null {
  const text = message.content?.type === 'box_message' ? message.content.msg : message.text;
  const match = /^sim (m\d+)$/.exec(text ?? '');
  return match ? match[1]! : null;
}

/** Waits until no message of any engine is being posted right now (bounded: a server may be down for the step). */
async function settlePosting(parties: Party[], maxMs = 1500): Promise<void> {
  const deadline = Date.now() + maxMs;
  for (;;) {
    const busy = parties.some((party) => {
      const last = new Map<string, string>();
      for (const event of party.engine.events) {
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
