/**
 * Browser-test access to the renderer's parts below the screens (database layer, WebSocket bridge,
 * message bubbles): each function takes and returns plain JSON so a Playwright test can drive it
 * with `page.evaluate`. The engine is replaced by a scripted double
 * that records what the outbox asks of it and answers as told.
 */
import type { Channel, EventMap, IdentitySummary, RequestOf, SendAccepted } from '../../shared/ipc/contract.js';
import { type Result, fail, ok } from '../../shared/ipc/result.js';
import type { EngineBridge } from '../../renderer/src/bridge/transport.js';
import { DATABASE_NAME, DeaddropDatabase } from '../../renderer/src/db/database.js';
import { writeInboxBatch } from '../../renderer/src/db/inboxWriter.js';
import { applyOutboxStatus, queueTextMessage, resumeOutbox, submitMessage } from '../../renderer/src/db/outbox.js';
import type { ContactRecord, ContactStatus, ConversationRecord } from '../../renderer/src/db/records.js';
import { schemaV1, schemaV2, schemaV3, schemaV4, schemaV5, schemaV6 } from '../../renderer/src/db/schema.js';
import { unstoredRequestsKey } from '../../renderer/src/db/senderBounds.js';
import { RequestBar } from '../../renderer/src/contacts/RequestBar.js';
import { ContactsScreen } from '../../renderer/src/contacts/ContactsScreen.js';
// The screens rendered here are laid out as in the app (the contact list scrolls inside its pane).
import '../../renderer/src/styles/app.css';
import { acceptContact, setContactStatus } from '../../renderer/src/contacts/contactActions.js';
import { listConversations } from '../../renderer/src/chat/conversationQueries.js';
import { ConversationList } from '../../renderer/src/chat/ConversationList.js';
import { type ReactElement, createElement } from 'react';
import { flushSync } from 'react-dom';
import { type Root, createRoot } from 'react-dom/client';
import { MessageBubble } from '../../renderer/src/chat/MessageBubble.js';
import type { MessageRecord } from '../../renderer/src/db/records.js';
import { useSession } from '../../renderer/src/stores/sessionStore.js';
import { createWebSocketBridge } from '../../renderer/src/bridge/wsBridge.js';
import { startEngineSync } from '../../renderer/src/app/engineSync.js';
import { ensureSearchIndex } from '../../renderer/src/db/messageSearch.js';
import { setDatabaseKey } from '../../renderer/src/db/sealing.js';
import { sealLegacyRecords } from '../../renderer/src/db/unlockDatabase.js';

let db: DeaddropDatabase | null = null;
const open = () => (db ??= new DeaddropDatabase());

type EngineAnswer = 'accept' | 'unavailable' | 'invalid';
const engine = { answer: 'accept' as EngineAnswer, sends: [] as Array<RequestOf<'messages/send'>>, parts: 1, receipts: [] as Array<RequestOf<'receipts/send'>> };

const engineDouble: EngineBridge = {
  kind: 'websocket',
  async invoke<C extends Channel>(channel: C, request: RequestOf<C>) {
    if (channel === 'receipts/send') engine.receipts.push(request as RequestOf<'receipts/send'>);
    if (channel !== 'messages/send') return ok(null) as Result<never>;
    const send = request as RequestOf<'messages/send'>;
    engine.sends.push(send);
    if (engine.answer === 'unavailable') return fail('unavailable', 'Lost the connection to the engine.') as Result<never>;
    if (engine.answer === 'invalid') return fail('invalid_request', 'The recipient key is not valid.') as Result<never>;
    const accepted: SendAccepted = {
      localId: send.localId,
      acknowledgeIds: Array.from({ length: engine.parts }, (_, i) => `${send.localId}-ack-${i}`),
      parts: engine.parts,
    };
    return ok(accepted) as Result<never>;
  },
  on: () => () => undefined,
  connectionState: () => 'open',
  onConnectionChange: () => () => undefined,
};

/**
 * Engine sync against a double that delivers inbox batches and records every acknowledgement
 * with the message ids stored at that moment, so a test sees whether acks follow the commit.
 */
const syncDouble = {
  deliver: null as ((batch: EventMap['inbox/batch']) => void) | null,
  acks: [] as Array<{ batchId: string; storedIds: string[] }>,
  stop: null as (() => void) | null,
};
const syncBridge: EngineBridge = {
  kind: 'websocket',
  async invoke<C extends Channel>(channel: C, request: RequestOf<C>) {
    if (channel === 'inbox/ack') {
      const storedIds = (await open().messages.toCollection().primaryKeys()) as string[];
      syncDouble.acks.push({ batchId: (request as RequestOf<'inbox/ack'>).batchId, storedIds });
    }
    return ok(null) as Result<never>;
  },
  on(channel, listener) {
    if (channel === 'inbox/batch') syncDouble.deliver = listener as (batch: EventMap['inbox/batch']) => void;
    return () => undefined;
  },
  // Closed: engine sync does not ask this double for the engine's state.
  connectionState: () => 'closed',
  onConnectionChange: () => () => undefined,
};

let socketBridge: EngineBridge | null = null;
const bridgeLog = { states: [] as string[], events: [] as unknown[] };

const harness = {
  /** Connects a WebSocket bridge (short bounds, for tests) and records its states and events. */
  connectBridge(url: string, callTimeoutMs: number): void {
    socketBridge = createWebSocketBridge({ url, callTimeoutMs, minRetryMs: 50, maxRetryMs: 200 });
    socketBridge.onConnectionChange((state) => bridgeLog.states.push(state));
    socketBridge.on('servers/status', (payload) => bridgeLog.events.push(payload));
  },
  bridgeInvoke: (channel: Channel, request: unknown) => socketBridge!.invoke(channel, request as never),
  bridgeState: () => socketBridge?.connectionState() ?? null,
  bridgeLog: () => bridgeLog,
  async reset(): Promise<void> {
    db?.close();
    db = null;
    await new DeaddropDatabase().delete();
    engine.answer = 'accept';
    engine.sends = [];
    engine.receipts = [];
    engine.parts = 1;
  },
  startSync(): void {
    syncDouble.acks = [];
    syncDouble.stop = startEngineSync(syncBridge, open());
  },
  deliverBatch(batch: EventMap['inbox/batch']): void {
    syncDouble.deliver?.(batch);
  },
  syncAcks: () => syncDouble.acks,
  /**
   * Hands the batches to engine sync all at once (as a flood arrives), then presses Block on
   * `blockKey` at once, while they are being written. Reports how many batches were acknowledged
   * and which messages were stored when the block had committed.
   */
  async deliverAndBlock(batches: Array<EventMap['inbox/batch']>, identityId: string, blockKey: string) {
    for (const batch of batches) syncDouble.deliver?.(batch);
    const contact = await open().contacts.get([identityId, blockKey]);
    if (!contact) throw new Error('no such contact');
    await setContactStatus(open(), contact, 'blocked');
    const storedIds = (await open().messages.toCollection().primaryKeys()) as string[];
    return { acks: syncDouble.acks.length, storedIds };
  },
  /** Closes the database as a failing disk or a browser shutting down would: every write fails. */
  closeDatabase: () => open().close(),
  reopenDatabase: () => open().open().then(() => undefined),
  stopSync(): void {
    syncDouble.stop?.();
    syncDouble.stop = null;
    useSession.getState().setBridge(engineDouble);
  },
  async writeBatch(batch: EventMap['inbox/batch']) {
    return writeInboxBatch(open(), batch);
  },
  async addContact(contact: ContactRecord): Promise<void> {
    await open().contacts.put(contact);
  },
  /** The status change the contact screens make (Accept, Ignore, Block, Unblock). */
  async setContactStatus(identityId: string, publicKey: string, status: ContactStatus): Promise<void> {
    const contact = await open().contacts.get([identityId, publicKey]);
    if (!contact) throw new Error('no such contact');
    await setContactStatus(open(), contact, status);
  },
  setEngine(answer: EngineAnswer, parts = 1): void {
    engine.answer = answer;
    engine.parts = parts;
  },
  /** The Accept button: accepts and answers the receipts held for that contact. */
  async acceptContact(identityId: string, publicKey: string): Promise<void> {
    const contact = await open().contacts.get([identityId, publicKey]);
    if (!contact) throw new Error('no such contact');
    await acceptContact(open(), engineDouble, contact);
  },
  engineReceipts: () => engine.receipts,
  engineSends: () => engine.sends.map((s) => ({ localId: s.localId, text: s.text, to: s.recipient.publicKey })),
  async send(identityId: string, contactKey: string, text: string): Promise<string> {
    const contact = await open().contacts.get([identityId, contactKey]);
    if (!contact) throw new Error('no such contact');
    const record = await queueTextMessage(open(), identityId, contact, text);
    await submitMessage(open(), engineDouble, record);
    return record.id;
  },
  resume: () => resumeOutbox(open(), engineDouble),
  outboxStatus: (event: EventMap['outbox/status']) => applyOutboxStatus(open(), event),
  async search(identityId: string, query: string) {
    const rows = await listConversations(open(), identityId, query);
    return rows.map((r) => ({ contactKey: r.contact.publicKey, match: r.match }));
  },
  messages: () => open().messages.orderBy('[identityId+contactKey+sortAt]').toArray(),
  textParts: () => open().textParts.toArray(),
  pendingReceipts: () => open().pendingReceipts.toArray(),
  seenCount: () => open().seen.count(),
  /** Messages from strangers beyond the open-request bound, counted for `identityId`. */
  unstoredRequests: async (identityId: string) => (await open().settings.get(unstoredRequestsKey(identityId)))?.value ?? 0,
  contacts: () => open().contacts.toArray(),
  conversations: () => open().conversations.toArray(),
  /** Creates the database as schema version `version` shipped (Dexie stores version n as 10n). */
  async seedVersion(version: 1 | 2 | 3 | 4 | 5 | 6, records: Record<string, Array<Record<string, unknown>>>): Promise<void> {
    db?.close();
    db = null;
    const schema = [schemaV1, schemaV2, schemaV3, schemaV4, schemaV5, schemaV6][version - 1]!;
    await new Promise<void>((resolve, reject) => {
      const request = indexedDB.open(DATABASE_NAME, version * 10);
      request.onupgradeneeded = () => {
        const idb = request.result;
        for (const [name, spec] of Object.entries(schema)) createStore(idb, name, spec);
      };
      request.onsuccess = () => {
        const idb = request.result;
        const tx = idb.transaction(Object.keys(schema), 'readwrite');
        for (const [table, rows] of Object.entries(records)) for (const row of rows) tx.objectStore(table).put(row);
        tx.oncomplete = () => {
          idb.close();
          resolve();
        };
        tx.onerror = () => reject(tx.error);
      };
      request.onerror = () => reject(request.error);
    });
  },
  /** Renders one message bubble into the page (replacing the previous one). */
  renderMessage(message: MessageRecord): void {
    document.getElementById('bubble')?.remove();
    const container = document.createElement('div');
    container.id = 'bubble';
    document.body.append(container);
    flushSync(() => createRoot(container).render(createElement(MessageBubble, { message })));
  },
  /** Stores records as they are (contacts and conversations by the thousand). */
  async putRecords(table: 'contacts' | 'conversations', records: Array<ContactRecord | ConversationRecord>): Promise<void> {
    await open().table(table).bulkPut(records);
  },
  /** Renders the Contacts screen of `identity` in a window-high box, as in the app (replacing the previous screen). */
  renderContacts(identity: IdentitySummary): void {
    renderScreen(createElement('main', { className: 'content wide', style: { height: '100vh' } }, createElement(ContactsScreen, { identity })));
  },
  /** Renders the conversation list of `identityId` in a window-high box, as in the app. */
  renderConversations(identityId: string): void {
    renderScreen(createElement('div', { style: { display: 'grid', height: '100vh', width: '20rem' } }, createElement(ConversationList, { identityId })));
  },
  /** Renders the request bar of a stranger's conversation (replacing the previous one). */
  renderRequestBar(contact: ContactRecord): void {
    document.getElementById('request')?.remove();
    const container = document.createElement('div');
    container.id = 'request';
    document.body.append(container);
    flushSync(() => createRoot(container).render(createElement(RequestBar, { contact })));
  },
  /** The records of `table` as IndexedDB stores them, read around Dexie (sealed fields as base64). */
  async rawRecords(table: string): Promise<unknown[]> {
    const idb = open().backendDB();
    const rows = await new Promise<unknown[]>((resolve, reject) => {
      const request = idb.transaction(table, 'readonly').objectStore(table).getAll();
      request.onsuccess = () => resolve(request.result as unknown[]);
      request.onerror = () => reject(request.error);
    });
    return JSON.parse(JSON.stringify(rows, (_key, value: unknown) => (value instanceof Uint8Array ? `sealed:${btoa(String.fromCharCode(...value))}` : value))) as unknown[];
  },
  /** What the app does right after unlock: seal records of older versions, build the search index. */
  async afterUnlockPass(): Promise<void> {
    await sealLegacyRecords(open());
    await ensureSearchIndex(open());
  },
  /** Opens with the current code (upgrading) and reports the stored shape. */
  async openAndDescribe() {
    const database = open();
    await database.open();
    const idb = database.backendDB();
    const tx = idb.transaction(['contacts', 'messages', 'conversations', 'pendingReceipts'], 'readonly');
    return {
      version: idb.version,
      contactIndexes: [...tx.objectStore('contacts').indexNames].sort(),
      messageIndexes: [...tx.objectStore('messages').indexNames].sort(),
      pendingReceiptIndexes: [...tx.objectStore('pendingReceipts').indexNames].sort(),
      contacts: await database.contacts.toArray(),
      conversations: await database.conversations.toArray(),
      stores: [...idb.objectStoreNames].sort(),
    };
  },
};

let screenRoot: Root | null = null;

function renderScreen(screen: ReactElement): void {
  screenRoot?.unmount();
  document.getElementById('screen')?.remove();
  const container = document.createElement('div');
  container.id = 'screen';
  document.body.append(container);
  screenRoot = createRoot(container);
  flushSync(() => screenRoot!.render(screen));
}

/** Creates one object store from a Dexie schema string ("[a+b], c, *d"). */
function createStore(idb: IDBDatabase, name: string, spec: string): void {
  const [primary = '', ...indexes] = spec.split(',').map((s) => s.trim());
  const store = idb.createObjectStore(name, { keyPath: keyPathOf(primary) });
  for (const index of indexes) {
    const multiEntry = index.startsWith('*');
    const clean = index.replace(/^\*/, '');
    store.createIndex(clean, keyPathOf(clean), { multiEntry });
  }
}

function keyPathOf(spec: string): string | string[] {
  return spec.startsWith('[') ? spec.slice(1, -1).split('+') : spec;
}

useSession.getState().setBridge(engineDouble);
(window as unknown as { harness: typeof harness }).harness = harness;
// The engine double's database key (the real one comes from `app/databaseKey`).
void setDatabaseKey(btoa(String.fromCharCode(...new Uint8Array(32).fill(7)))).then(() => {
  document.body.dataset.ready = 'true';
});
