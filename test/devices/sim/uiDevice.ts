/**
 * The renderer of one simulated device, run under Node: the renderer's own database code (Dexie with
 * its sealing middleware, over fake-indexeddb, which keeps each database in memory for the whole
 * process, so it outlives an engine that crashes and starts again, as IndexedDB outlives the engine
 * process) and the renderer's own functions for what engineSync.ts does with the engine's events:
 * sibling sync first (`takeSiblingSync`), then the inbox writer, `inbox/ack` with both kinds of owed
 * receipts, history answers, the last-online mark, outbox statuses. Sending goes through the
 * renderer's outbox (`queueTextMessage` + `submitMessage`), links through `offerLink`/`finishJoin`,
 * the catch-up after a long absence through `catchUpIfAway`, as `afterUnlock` does at a start.
 *
 * What differs from the app: every device lives in one process, so module-level memory of the
 * renderer is shared. `answerHistory` remembers the request ids it answered in one set: of the
 * siblings online, only the first to read a request answers it here (in the app each would). The
 * identities map `takeSiblingSync` gets is built here per device (`syncIdentities` caches the device
 * id per identity id in one map, which siblings in one process would share).
 */
import './indexedDb.js';
import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import Dexie from 'dexie';
import type { EventMap, IdentitySummary } from '../../../shared/ipc/contract.js';
import type { Result } from '../../../shared/ipc/result.js';
import { dispatch } from '../../../shared/ipc/dispatch.js';
import type { EngineBridge } from '../../../renderer/src/bridge/transport.js';
import { DeaddropDatabase } from '../../../renderer/src/db/database.js';
import { setDatabaseKey } from '../../../renderer/src/db/sealing.js';
import { writeInboxBatch } from '../../../renderer/src/db/inboxWriter.js';
import { applyOutboxDelivered, applyOutboxStatus, queueTextMessage, resumeOutbox, submitMessage } from '../../../renderer/src/db/outbox.js';
import { takeSiblingSync, type SyncIdentity } from '../../../renderer/src/devices/syncApply.js';
import { answerHistory, catchUpIfAway, noteOnline } from '../../../renderer/src/devices/syncHistory.js';
import { addContact } from '../../../renderer/src/contacts/contactActions.js';
import { readConversation } from '../../../renderer/src/devices/syncOut.js';
import type { TestEngine } from '../../engine/helpers/testEngine.js';

// Dexie looks for IndexedDB when it is first imported (by whichever renderer module comes first):
// it is told here, before any database is opened.
Dexie.dependencies.indexedDB = indexedDB;
Dexie.dependencies.IDBKeyRange = IDBKeyRange;
// fake-indexeddb refuses a key that holds one array twice (it takes a repeated object for a cycle),
// and the renderer's ranges put Dexie.maxKey (`[[]]`, one object) in two places of one key. Dexie's
// own fallback for engines without array keys, the string U+FFFF, sorts above every id, key and time
// the renderer stores, so every range still covers what it covers in Chromium.
Dexie.maxKey = String.fromCharCode(0xffff);

const DATABASE_KEY = Buffer.alloc(32, 7).toString('base64');
let keySet = false;

/** A bridge over an in-process engine: what the renderer's functions call. Events are read by `drain`. */
export function bridgeOf(engine: () => TestEngine): EngineBridge {
  return {
    kind: 'electron',
    connectionState: () => 'open',
    onConnectionChange: () => () => undefined,
    invoke: (async (channel: string, request: unknown) => dispatch(engine().engine.handlers, channel as never, request as never)) as EngineBridge['invoke'],
    on: () => () => undefined,
  };
}

/** A text row as the simulator compares it. */
export interface RowText {
  contactKey: string;
  id: string;
  text: string;
  direction: 'in' | 'out';
  at: number;
}

export class UiDevice {
  readonly db: DeaddropDatabase;
  readonly bridge: EngineBridge;
  private seenEvents = 0;
  /** This device's id per identity (devices/list), known once asked. */
  private readonly selfIds = new Map<string, string>();
  /** Batches stored and acknowledged. */
  batches = 0;
  /** Sees each batch as the engine delivered it, before the UI takes it apart (the simulator's records). */
  observe: ((batch: EventMap['inbox/batch']) => void) | null = null;

  constructor(
    readonly name: string,
    private readonly engineOf: () => TestEngine,
    private readonly clock: () => number,
  ) {
    this.db = new DeaddropDatabase(`sim-${name}-${crypto.randomUUID()}`);
    this.bridge = bridgeOf(engineOf);
  }

  static async ready(): Promise<void> {
    if (keySet) return;
    await setDatabaseKey(DATABASE_KEY);
    keySet = true;
  }

  /** A new engine took over (a restart): its events start from the beginning. */
  engineRestarted(): void {
    this.seenEvents = 0;
  }

  async call<T>(result: Promise<Result<T>>, what: string): Promise<T> {
    const r = await result;
    if (!r.ok) throw new Error(`${this.name}: ${what}: ${r.error.code}: ${r.error.message}`);
    return r.value;
  }

  async selfDevice(identityId: string): Promise<string | null> {
    const known = this.selfIds.get(identityId);
    if (known) return known;
    const list = await this.bridge.invoke('devices/list', { identityId });
    const self = list.ok ? list.value.devices.find((d) => d.self)?.deviceId : undefined;
    if (self) this.selfIds.set(identityId, self);
    return self ?? null;
  }

  async identities(): Promise<IdentitySummary[]> {
    return this.call(this.bridge.invoke('identities/list', {}), 'identities/list');
  }

  /**
   * Handles the engine's events since the last call, one at a time as engineSync.ts does: batches
   * (sibling sync, inbox writer, acknowledgement, history answers, last-online mark) and outbox
   * statuses. `skipAckOfLast`: the renderer dies before acknowledging the last batch (a crash).
   */
  async drain(options: { skipAckOfLast?: boolean } = {}): Promise<void> {
    const events = this.engineOf().events;
    for (; this.seenEvents < events.length; this.seenEvents++) {
      const event = events[this.seenEvents]!;
      if (event.event === 'outbox/status') {
        await applyOutboxStatus(this.db, event.payload as EventMap['outbox/status']);
        continue;
      }
      if (event.event === 'outbox/delivered') {
        await applyOutboxDelivered(this.db, (event.payload as EventMap['outbox/delivered']).localId);
        continue;
      }
      if (event.event !== 'inbox/batch') continue;
      const batch = event.payload as EventMap['inbox/batch'];
      this.observe?.(batch);
      const identities = new Map<string, SyncIdentity>();
      for (const identity of await this.identities()) {
        identities.set(identity.id, { publicKey: identity.publicKey, dropUrls: identity.dropUrls, selfDevice: await this.selfDevice(identity.id) });
      }
      const now = this.clock();
      const taken = await takeSiblingSync(this.db, batch, identities, now);
      const result = await writeInboxBatch(this.db, taken.batch);
      const last = this.seenEvents === events.length - 1;
      if (options.skipAckOfLast && last) return;
      await this.bridge.invoke('inbox/ack', { batchId: batch.batchId, receipts: [...result.owedReceipts, ...taken.owedReceipts] });
      this.batches++;
      for (const { identityId, item } of taken.historyRequests) await answerHistory(this.db, this.bridge, identityId, item);
      await noteOnline(this.db, [...new Set(batch.messages.map((m) => m.identityId))], now);
    }
  }

  /** What `afterUnlock` does after a start: the outbox handed back, a catch-up when away long, the online mark. */
  async afterStart(): Promise<{ askedHistory: boolean }> {
    const now = this.clock();
    await resumeOutbox(this.db, this.bridge);
    let askedHistory = false;
    for (const identity of await this.identities()) askedHistory = (await catchUpIfAway(this.db, this.bridge, identity.id, now)) || askedHistory;
    await noteOnline(this.db, (await this.identities()).map((i) => i.id), now);
    return { askedHistory };
  }

  async addContact(identity: IdentitySummary, contact: IdentitySummary, alias: string): Promise<void> {
    await addContact(this.db, identity.id, identity.publicKey, { alias, publicKey: contact.publicKey, dropUrls: [...contact.dropUrls] }, this.clock());
  }

  /** The user writes `text` to `contactKey`: stored as queued, then handed to the engine (the renderer's outbox). */
  async send(identityId: string, contactKey: string, text: string): Promise<string> {
    const contact = await this.db.contacts.get([identityId, contactKey]);
    if (!contact) throw new Error(`${this.name}: no contact ${contactKey.slice(0, 8)}`);
    const record = await queueTextMessage(this.db, identityId, contact, text, this.clock());
    await submitMessage(this.db, this.bridge, record);
    return record.id;
  }

  /** The user opens the conversation: read here, and the siblings hear it. */
  async read(identityId: string, contactKey: string): Promise<void> {
    await readConversation(this.db, identityId, contactKey, this.bridge);
  }

  /** Row ids per conversation (contact key) of an identity: what the chat list and the chats show. */
  async conversations(identityId: string): Promise<Map<string, Set<string>>> {
    const rows = await this.rowsOf(identityId);
    const out = new Map<string, Set<string>>();
    for (const row of rows) {
      if (row.kind !== 'text' || row.parts) continue; // a long text still missing fragments is not a message yet
      let ids = out.get(row.contactKey);
      if (!ids) out.set(row.contactKey, (ids = new Set()));
      ids.add(row.id);
    }
    return out;
  }

  /** Texts per conversation (for the ground truth: the simulator's texts name their message). */
  async texts(identityId: string): Promise<RowText[]> {
    const rows = await this.rowsOf(identityId);
    return rows.filter((row) => row.kind === 'text').map((row) => ({ contactKey: row.contactKey, id: row.id, text: row.text, direction: row.direction, at: row.sortAt }));
  }

  private rowsOf(identityId: string) {
    return this.db.messages
      .where('[identityId+contactKey+sortAt]')
      .between([identityId, Dexie.minKey, Dexie.minKey], [identityId, Dexie.maxKey, Dexie.maxKey])
      .toArray();
  }

  async close(): Promise<void> {
    this.db.close();
    await DeaddropDatabase.delete(this.db.name);
  }
}
