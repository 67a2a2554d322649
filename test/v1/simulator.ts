/**
 * A lossy-drop simulator for v1 sessions (PROTOCOL-V1.md 1d): endpoints with pairwise sessions post PDUs
 * to shared servers, copies are lost, duplicated, reordered and expire after the server TTL; endpoints go
 * offline, crash between decrypt and commit (the batch is replayed against the old states), restore a
 * backup of their session states (the rollback check drops every state older than the keystore's
 * counter and the endpoint starts a new session with that peer, as the engine does), and find their
 * messages by tag-table lookup among everybody's traffic, Init PDUs by the single X25519 trial.
 * It records what the invariants need; the test decides.
 */
import { MessageType } from '../../electron/core/v1/body.js';
import { type RawKeyPair, generateKeyPair, importPublic, x25519Key } from '../../electron/core/v1/primitives.js';
import {
  type SessionState,
  MAX_SKIPPED,
  OFF_E,
  OFF_H,
  OFF_T,
  SKIPPED_LIFETIME_MS,
  W,
  initiate,
  isStale,
  newQrPrekey,
  openInitWithDh,
  openSession,
  pingBody,
  pingDue,
  seal,
  tagsOf,
} from '../../electron/core/v1/session.js';
import { TagTable } from '../../electron/core/v1/tagTable.js';

export const TTL_MS = 7 * 24 * 3600 * 1000;
const HOUR = 3600 * 1000;

export interface SimParams {
  endpoints: number;
  servers: number;
  loss: number;
  duplicate: number;
  crash: number;
  seed: number;
  copies: number;
  /**
   * A broken engine for the check's own test: restored states are used without the rollback check.
   * Never set in the invariant runs.
   */
  trustRestored?: boolean | undefined;
}

export type Op =
  | { kind: 'send'; from: number; to: number }
  | { kind: 'poll'; who: number }
  | { kind: 'ping'; who: number }
  | { kind: 'toggle'; who: number }
  | { kind: 'wait'; hours: number }
  | { kind: 'snapshot'; who: number }
  | { kind: 'restore'; who: number };

interface Posted {
  pdu: Uint8Array;
  at: number;
  msg: string;
}

interface Endpoint {
  identity: RawKeyPair;
  qpk: ReturnType<typeof newQrPrekey>;
  online: boolean;
  sessions: Map<string, SessionState>;
  /** Peer index → session id. */
  byPeer: Map<number, string>;
  table: TagTable;
  cursors: number[];
  /** Queued because the window was full. */
  outbox: { to: number; msg: string }[];
  /** Snapshots of session states (a backup), checked against the keystore counters later. */
  snapshots: SessionState[];
  /** The last snapshot, what a restore brings back. */
  backup: Map<string, SessionState> | null;
  /** Peers whose session a restore dropped: we start a new one even though they hold one with us. */
  resetPeers: Set<number>;
}

export interface SimReport {
  shown: Map<string, number>;
  mismatches: string[];
  sent: Map<string, { from: number; to: number }>;
  /** Messages some copy of which the receiver fetched in a committed poll. */
  fetched: Set<string>;
  windowFullEvents: number;
  windowFullViolations: string[];
  boundViolations: string[];
  staleMissed: number;
  staleChecked: number;
  undelivered: string[];
  /** A sending chain position (session, ratchet key, n) sealed twice: what a restored old state would do. */
  chainReuse: string[];
  restores: number;
  /** Restored states dropped as stale, and messages sealed in a session the receiver had dropped so (lost). */
  restoredDropped: number;
  lostToRestore: number;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function simulate(params: SimParams, ops: readonly Op[]): SimReport {
  const rand = mulberry32(params.seed);
  let now = 1_700_000_000_000;
  const servers: Posted[][] = Array.from({ length: params.servers }, () => []);
  const endpoints: Endpoint[] = Array.from({ length: params.endpoints }, () => ({
    identity: generateKeyPair(),
    qpk: newQrPrekey(now),
    online: true,
    sessions: new Map(),
    byPeer: new Map(),
    table: new TagTable(),
    cursors: Array.from({ length: params.servers }, () => 0),
    outbox: [],
    snapshots: [],
    backup: null,
    resetPeers: new Set(),
  }));
  const report: SimReport = {
    shown: new Map(),
    mismatches: [],
    sent: new Map(),
    fetched: new Set(),
    windowFullEvents: 0,
    windowFullViolations: [],
    boundViolations: [],
    staleMissed: 0,
    staleChecked: 0,
    undelivered: [],
    chainReuse: [],
    restores: 0,
    restoredDropped: 0,
    lostToRestore: 0,
  };
  /** Every sending chain position used: `${sender}/${session}/${ratchet public}/${n}`. */
  const sealedPositions = new Set<string>();
  /** msg → the session it was last sealed in; `${who}/${session}` of sessions a restore dropped. */
  const sealedIn = new Map<string, string>();
  const droppedSessions = new Set<string>();
  /** msg id text → content, and who received it. */
  const contents = new Map<string, string>();
  /** Sent since the sender last opened a message of the peer that started a new peer epoch. */
  const sinceAnswer = new Map<string, number>();
  const peerOf = new Map<string, number>(); // `${who}/${sessionId}` → peer index
  const keystore = new Map<string, number>(); // `${who}/${sessionId}` → committed write counter
  let counter = 0;
  let loss = params.loss;

  const commit = (who: number, state: SessionState) => {
    const ep = endpoints[who]!;
    ep.sessions.set(state.id, state);
    ep.table.setSession(state);
    keystore.set(`${who}/${state.id}`, state.counter);
    if (tagsOf(state).length > 4 * W * state.copies) report.boundViolations.push(`tag table ${tagsOf(state).length}`);
    let skipped = 0;
    for (const epoch of state.recv) {
      skipped += epoch.skipped.length;
      for (const s of epoch.skipped) if (now - s.at >= SKIPPED_LIFETIME_MS) report.boundViolations.push('skipped seed older than 14 days');
    }
    if (skipped > MAX_SKIPPED) report.boundViolations.push(`skipped ${skipped}`);
  };

  const post = (pdus: Uint8Array[], msg: string) => {
    pdus.forEach((pdu, copy) => {
      if (rand() < loss) return;
      const server = servers[(copy + Math.floor(rand() * params.servers)) % params.servers]!;
      server.push({ pdu, at: now, msg });
      if (rand() < params.duplicate) server.push({ pdu, at: now, msg });
    });
  };

  const trySend = (from: number, to: number, msg: string, type: number): 'sent' | 'full' | 'none' => {
    const ep = endpoints[from]!;
    let id = ep.byPeer.get(to);
    if (id === undefined) {
      // Whoever writes first initiates (from the peer's QR); if the peer already did, wait for its Init,
      // unless a restore dropped our session with that peer (then ours is a reset Init).
      if (endpoints[to]!.byPeer.has(from) && !ep.resetPeers.has(to)) return 'none';
      ep.resetPeers.delete(to);
      const state = initiate(
        { ourIdentity: ep.identity, theirIdentityPublic: endpoints[to]!.identity.publicKey, theirQrPrekey: { public: Buffer.from(endpoints[to]!.qpk.public, 'base64url') }, copies: params.copies },
        now,
      );
      id = state.id;
      ep.byPeer.set(to, id);
      peerOf.set(`${from}/${id}`, to);
      commit(from, state);
    }
    const state = ep.sessions.get(id)!;
    const body = type === MessageType.PING ? pingBody() : { type, content: new TextEncoder().encode(msg), msgId: Buffer.from(msg.padEnd(16, '.').slice(0, 16)) };
    const result = seal(state, body, { copies: Math.min(params.copies, params.servers) }, now);
    const key = `${from}/${id}`;
    if ('error' in result) {
      report.windowFullEvents++;
      if ((sinceAnswer.get(key) ?? 0) < W) report.windowFullViolations.push(`${key} full after ${sinceAnswer.get(key) ?? 0}`);
      return 'full';
    }
    sinceAnswer.set(key, (sinceAnswer.get(key) ?? 0) + 1);
    const position = `${from}/${id}/${state.dhsPub}/${result.ref.n}`;
    if (sealedPositions.has(position)) report.chainReuse.push(`${position} (${msg})`);
    sealedPositions.add(position);
    sealedIn.set(msg, id);
    commit(from, result.state);
    post(result.pdus, msg);
    return 'sent';
  };

  const send = (from: number, to: number) => {
    const msg = `m${counter++}`;
    contents.set(msg, msg);
    report.sent.set(msg, { from, to });
    const ep = endpoints[from]!;
    if (ep.outbox.some((o) => o.to === to)) ep.outbox.push({ to, msg });
    else if (trySend(from, to, msg, MessageType.TEXT) === 'full') ep.outbox.push({ to, msg });
    else if (!ep.byPeer.has(to)) ep.outbox.push({ to, msg });
  };

  const flush = (who: number) => {
    const ep = endpoints[who]!;
    const waiting = ep.outbox;
    ep.outbox = [];
    const blocked = new Set<number>();
    for (const item of waiting) {
      if (blocked.has(item.to) || trySend(who, item.to, item.msg, MessageType.TEXT) !== 'sent') {
        blocked.add(item.to);
        ep.outbox.push(item);
      }
    }
  };

  const poll = (who: number, mayCrash: boolean) => {
    const ep = endpoints[who]!;
    const batch: { pdu: Uint8Array; msg: string }[] = [];
    const cursors = servers.map((server) => server.length);
    servers.forEach((server, s) => {
      for (let i = ep.cursors[s]!; i < server.length; i++) if (now - server[i]!.at < TTL_MS) batch.push(server[i]!);
    });
    for (let i = batch.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [batch[i], batch[j]] = [batch[j]!, batch[i]!];
    }
    // Decrypt on copies; commit only at the end (DESIGN.md's cursor rule).
    const working = new Map(ep.sessions);
    const table = TagTable.fromStates([...working.values()]);
    const shownNow: { msg: string; text: string; from: number }[] = [];
    const fetchedNow: string[] = [];
    const answered: string[] = [];
    const newPeers: [number, string][] = [];
    for (const { pdu, msg } of batch) {
      const meta = report.sent.get(msg);
      if (meta?.to === who) fetchedNow.push(msg);
      const hit = table.lookup(pdu.subarray(OFF_T, OFF_H));
      if (hit) {
        const state = working.get(hit.sessionId)!;
        const result = openSession(state, pdu, now);
        if (result && 'state' in result) {
          if (result.state.recvEpoch > state.recvEpoch) answered.push(`${who}/${state.id}`);
          working.set(state.id, result.state);
          table.setSession(result.state);
          if (result.body.type !== MessageType.PING) shownNow.push({ msg, text: new TextDecoder().decode(result.body.content), from: peerOf.get(`${who}/${state.id}`)! });
        }
        continue;
      }
      let dh1: Buffer | null = null;
      try {
        dh1 = x25519Key(ep.identity, importPublic(pdu.subarray(OFF_E, OFF_T)));
      } catch {
        dh1 = null;
      }
      if (!dh1) continue;
      const result = openInitWithDh(dh1, { ourIdentity: ep.identity, qrPrekeys: [ep.qpk], existing: (id) => working.get(id), copies: params.copies }, pdu, now);
      if (result && 'state' in result) {
        const from = endpoints.findIndex((e) => Buffer.from(e.identity.publicKey).equals(Buffer.from(result.theirIdentityPublic)));
        peerOf.set(`${who}/${result.state.id}`, from);
        newPeers.push([from, result.state.id]);
        working.set(result.state.id, result.state);
        table.setSession(result.state);
        if (result.body.type !== MessageType.PING) shownNow.push({ msg, text: new TextDecoder().decode(result.body.content), from });
      }
    }
    if (mayCrash && rand() < params.crash) return; // crash: nothing committed, the batch is replayed later
    ep.cursors = cursors;
    for (const [peer, id] of newPeers) ep.byPeer.set(peer, id);
    for (const id of answered) sinceAnswer.set(id, 0);
    for (const state of working.values()) if (state !== ep.sessions.get(state.id)) commit(who, state);
    for (const msg of fetchedNow) report.fetched.add(msg);
    for (const shown of shownNow) {
      report.shown.set(shown.msg, (report.shown.get(shown.msg) ?? 0) + 1);
      const meta = report.sent.get(shown.msg);
      if (!meta || meta.to !== who || meta.from !== shown.from || contents.get(shown.msg) !== shown.text) report.mismatches.push(`${shown.msg} at ${who}`);
    }
  };

  /** PINGs owed; in the final drain also an Init PING from initiators still waiting for an answer (their Inits may all have been lost). */
  const pings = (who: number, drain = false) => {
    const ep = endpoints[who]!;
    for (const [peer, id] of ep.byPeer) {
      const state = ep.sessions.get(id)!;
      if (pingDue(state) || (drain && !state.confirmed)) trySend(who, peer, `ping${counter++}`, MessageType.PING);
    }
  };

  /**
   * The sessions file comes back as it was at the last snapshot (drop cursors and the keystore do not).
   * A state older than the keystore's counter is a restored copy: never used again; the peer gets a new
   * session from our next message. One as new as the keystore's was not written since, so it stays.
   */
  const restore = (who: number) => {
    const ep = endpoints[who]!;
    if (!ep.backup) return;
    report.restores++;
    for (const [id, state] of ep.backup) {
      const current = keystore.get(`${who}/${id}`)!;
      const stale = isStale(state, current);
      if (state.counter < current) {
        report.staleChecked++;
        if (!stale) report.staleMissed++;
      }
      if (stale && !params.trustRestored) {
        report.restoredDropped++;
        ep.sessions.delete(id);
        ep.table.removeSession(id);
        droppedSessions.add(`${who}/${id}`);
        const peer = peerOf.get(`${who}/${id}`)!;
        if (ep.byPeer.get(peer) === id) {
          ep.byPeer.delete(peer);
          ep.resetPeers.add(peer);
        }
      } else {
        ep.sessions.set(id, state);
        ep.table.setSession(state);
        keystore.set(`${who}/${id}`, state.counter);
      }
    }
  };

  for (const op of ops) {
    switch (op.kind) {
      case 'send':
        if (op.from !== op.to && endpoints[op.from]!.online) send(op.from, op.to);
        break;
      case 'poll':
        if (endpoints[op.who]!.online) {
          poll(op.who, true);
          flush(op.who);
        }
        break;
      case 'ping':
        if (endpoints[op.who]!.online) pings(op.who);
        break;
      case 'toggle':
        endpoints[op.who]!.online = !endpoints[op.who]!.online;
        break;
      case 'wait':
        now += op.hours * HOUR;
        break;
      case 'snapshot': {
        const ep = endpoints[op.who]!;
        ep.snapshots.push(...ep.sessions.values());
        ep.backup = new Map(ep.sessions);
        break;
      }
      case 'restore':
        restore(op.who);
        break;
    }
  }

  // Everybody online, no more loss: PINGs and polls until quiet, then flush what the windows held back.
  loss = 0;
  for (const ep of endpoints) ep.online = true;
  for (let round = 0; round < 8; round++) {
    for (let who = 0; who < endpoints.length; who++) {
      poll(who, false);
      pings(who, true);
      flush(who);
    }
  }
  for (const [msg, meta] of report.sent) {
    if (!report.fetched.has(msg) || report.shown.has(msg)) continue;
    // Sealed in a session the receiver's restore dropped: nobody holds its keys any more.
    if (droppedSessions.has(`${meta.to}/${sealedIn.get(msg)}`)) report.lostToRestore++;
    else report.undelivered.push(`${msg} ${meta.from}->${meta.to}`);
  }
  for (const ep of endpoints) for (const item of ep.outbox) report.undelivered.push(`${item.msg} still queued`);
  // Rollback: a snapshot older than the keystore's counter must be detected as stale.
  endpoints.forEach((ep, who) => {
    for (const snap of ep.snapshots) {
      const current = keystore.get(`${who}/${snap.id}`)!;
      if (snap.counter < current) {
        report.staleChecked++;
        if (!isStale(snap, current)) report.staleMissed++;
      }
    }
  });
  return report;
}
