import { createLogger } from '../../../shared/log.js';
import type { EngineBridge } from '../bridge/transport.js';
import type { DeaddropDatabase } from '../db/database.js';
import { recordResetLines } from '../chat/sessionResets.js';
import { writeInboxBatch } from '../db/inboxWriter.js';
import { applyOutboxDelivered, applyOutboxStatus, resumeOutbox } from '../db/outbox.js';
import { applyPostDelivered, applyPostStatus, resumePosts } from '../db/posts.js';
import { hasDatabaseKey } from '../db/sealing.js';
import { unlockDatabase } from '../db/unlockDatabase.js';
import { notifyNewMessages, withNewlyStored } from '../desktop/newMessageNotifications.js';
import { confirmUpdateDelivered, resendToStragglers } from '../identities/dropMigration.js';
import { useSession } from '../stores/sessionStore.js';
import { useUi } from '../stores/uiStore.js';
import { takeSiblingSync } from '../devices/syncApply.js';
import { revokeTickets } from '../contacts/revokeTickets.js';
import { takeKeyRotations } from '../devices/keyRotation.js';
import { syncIdentities } from '../devices/syncOut.js';
import { applyHostSettings } from '../devices/syncSettings.js';
import { notifyJoined } from '../devices/joinNotice.js';
import { answerHistory, catchUpIfAway, noteOnline } from '../devices/syncHistory.js';

const log = createLogger('engine-sync');

/**
 * Connects the engine's events to the database and the session store. Batches are written one at a
 * time, in arrival order; each is acknowledged (`inbox/ack`) only after its transaction committed,
 * and what it newly stored may then raise notifications.
 * Every (re)connection refreshes the engine's state and resumes the outbox.
 */
export function startEngineSync(bridge: EngineBridge, db: DeaddropDatabase): () => void {
  const session = useSession.getState();
  session.setBridge(bridge);
  let chain: Promise<unknown> = Promise.resolve();
  const serially = (work: () => Promise<unknown>) => {
    chain = chain.then(work).catch((err: unknown) => log.error('event handling failed', { reason: String(err) }));
  };

  const stops = [
    bridge.on('inbox/batch', (batch) =>
      serially(async () => {
        // Sibling sync first (devices/syncApply.ts): it is never a chat row, and owes its own receipts.
        const hasSync = batch.messages.some((m) => m.content.type === 'box_sync');
        const identities = await syncIdentities(bridge, useSession.getState().identities ?? [], hasSync);
        const taken = await takeSiblingSync(db, batch, identities);
        // A contact's new identity key moves the contact before its messages are stored (devices/keyRotation.ts).
        const rotated = await takeKeyRotations(db, taken.batch);
        const { result, stored } = await withNewlyStored(db, rotated.batch, () => writeInboxBatch(db, rotated.batch));
        const receipts = [...result.owedReceipts, ...taken.owedReceipts, ...rotated.owedReceipts];
        const acked = await bridge.invoke('inbox/ack', { batchId: batch.batchId, receipts });
        if (!acked.ok) log.warn('batch acknowledgement failed; the engine will deliver it again', { code: acked.error.code });
        await notifyNewMessages(bridge, db, stored);
        // Settings a sibling changed that the engine keeps (the UI's were written with the batch).
        await applyHostSettings(bridge, taken.hostSettings);
        // A contact a sibling blocked or deleted loses the tickets this device handed it too.
        for (const contact of taken.revoke) revokeTickets(bridge, contact);
        // A sibling back from a long absence asked for history: answered once this batch is stored.
        for (const { identityId, item } of taken.historyRequests) await answerHistory(db, bridge, identityId, item);
        await noteOnline(db, [...new Set(batch.messages.map((m) => m.identityId))]);
        // A contact still writing to a drop we moved away from hears of the new one again.
        await resendToStragglers(db, bridge, useSession.getState().identities ?? [], rotated.batch);
      }),
    ),
    // A post's copies are sent like messages, each under its own local id.
    bridge.on('outbox/status', (event) =>
      serially(async () => {
        if (!(await applyPostStatus(db, event))) await applyOutboxStatus(db, event);
      }),
    ),
    bridge.on('outbox/delivered', ({ localId }) =>
      serially(async () => {
        if (await applyPostDelivered(db, localId)) return;
        if (!(await applyOutboxDelivered(db, localId))) await confirmUpdateDelivered(db, localId);
      }),
    ),
    // A reset of a conversation not on screen still leaves its line there.
    bridge.on('sessions/changed', ({ identityId }) =>
      serially(async () => {
        const status = await bridge.invoke('sessions/status', { identityId });
        if (status.ok) await recordResetLines(db, identityId, status.value);
      }),
    ),
    bridge.on('identities/changed', (list) => useSession.getState().setIdentities(list)),
    // A device joined an identity through a sibling: said at once (the banner keeps it until confirmed).
    bridge.on('devices/changed', (event) => void notifyJoined(bridge, event)),
    bridge.on('servers/status', (list) => useSession.getState().setServerStatus(list)),
    bridge.on('app/openConversation', ({ identityId, contactKey }) => {
      useSession.getState().setActiveIdentity(identityId);
      useUi.getState().openConversation(contactKey);
    }),
    bridge.onConnectionChange((state) => {
      useSession.getState().setConnection(state);
      if (state === 'open') serially(() => refresh(bridge, db));
    }),
  ];
  // Coming back to the window is when people expect news: poll at once instead of at the next tick.
  const pollOnFocus = () => {
    if (useSession.getState().appInfo?.locked === false) void bridge.invoke('poller/pollNow', {});
  };
  window.addEventListener('focus', pollOnFocus);
  stops.push(() => window.removeEventListener('focus', pollOnFocus));
  session.setConnection(bridge.connectionState());
  if (bridge.connectionState() === 'open') serially(() => refresh(bridge, db));
  return () => stops.forEach((stop) => stop());
}

/** Pulls the engine's state; once unlocked, hands unfinished messages back to it. */
export async function refresh(bridge: EngineBridge, db: DeaddropDatabase): Promise<void> {
  const info = await bridge.invoke('app/info', {});
  if (!info.ok) return;
  // The screens read the database as soon as they learn the engine is unlocked: the key comes first.
  if (!info.value.locked && !hasDatabaseKey()) await unlockDatabase(bridge, db);
  useSession.getState().setAppInfo(info.value);
  if (info.value.locked) return;
  await afterUnlock(bridge, db);
}

export async function afterUnlock(bridge: EngineBridge, db: DeaddropDatabase): Promise<void> {
  const identities = await bridge.invoke('identities/list', {});
  if (identities.ok) useSession.getState().setIdentities(identities.value);
  const status = await bridge.invoke('servers/status', {});
  if (status.ok) useSession.getState().setServerStatus(status.value);
  await resumeOutbox(db, bridge);
  await resumePosts(db, bridge);
  // Away longer than a drop keeps messages: the identity's other devices are asked for what expired.
  for (const identity of identities.ok ? identities.value : []) await catchUpIfAway(db, bridge, identity.id).catch(() => false);
  await noteOnline(db, (identities.ok ? identities.value : []).map((identity) => identity.id));
  await bridge.invoke('poller/pollNow', {});
}
