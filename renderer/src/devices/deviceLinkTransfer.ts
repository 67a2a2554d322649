/**
 * Linking a device from the UI's side (PROTOCOL-V1.md 5c; engine: `devices/*`). The UI owns contacts
 * and messages, so it moves them itself, in the same form as a full backup (README "Backup files"):
 * the offering UI reads its records with `gatherBackupRecords` and hands them to the engine; the
 * joining UI stores what arrived with `restoreBackupRecords`, in one transaction, before the engine
 * adds the identity, and takes the records out again if the engine refuses at the end.
 */
import { useEffect, useState } from 'react';
import type { BackupUiPart } from '../../../shared/backup/backupPayload.js';
import { BACKUP_CHUNK_BYTES, type Channel, type DeviceLinkStatus, type IdentitySummary, type RequestOf, type ResponseOf } from '../../../shared/ipc/contract.js';
import { fromBase64Url, toBase64Url } from '../../../shared/protocol/encoding.js';
import type { EngineBridge } from '../bridge/transport.js';
import { gatherBackupRecords, restoreBackupRecords } from '../db/backupRecords.js';
import type { DeaddropDatabase } from '../db/database.js';
import { forgetIdentityData } from '../identities/forgetIdentityData.js';

/** A failed call, with the engine's sentence for the user. */
export class LinkError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'LinkError';
  }
}

async function call<C extends Channel>(bridge: EngineBridge, channel: C, request: RequestOf<C>): Promise<ResponseOf<C>> {
  const result = await bridge.invoke(channel, request);
  if (!result.ok) throw new LinkError(result.error.code, result.error.message);
  return result.value;
}

/**
 * Offer side: starts a link for `identity` and hands the engine this identity's records while the
 * other device answers. Resolves with the link string to show as soon as the engine made it; the
 * records follow in `handedOver`.
 */
export async function offerLink(
  bridge: EngineBridge,
  db: DeaddropDatabase,
  identity: IdentitySummary,
  includeHistory: boolean,
): Promise<{ status: DeviceLinkStatus; linkString: string; handedOver: Promise<void> }> {
  const { status, linkString } = await call(bridge, 'devices/linkBegin', { identityId: identity.id, includeHistory });
  const handedOver = (async () => {
    const ui = await gatherBackupRecords(db, identity.id, includeHistory);
    const bytes = new TextEncoder().encode(JSON.stringify(ui));
    for (let offset = 0; offset < bytes.length; offset += BACKUP_CHUNK_BYTES) {
      await call(bridge, 'devices/linkUpload', { linkId: status.linkId, offset, data: toBase64Url(bytes.subarray(offset, offset + BACKUP_CHUNK_BYTES)) });
    }
  })();
  // The caller awaits it before confirming; until then a failure must not go unheard.
  handedOver.catch(() => undefined);
  return { status, linkString, handedOver };
}

/**
 * Join side, once the link is `received`: stores the records that came, then lets the engine add the
 * identity. If the engine refuses at the end, the records just written are taken out again.
 */
export async function finishJoin(bridge: EngineBridge, db: DeaddropDatabase, status: DeviceLinkStatus, onProgress: (step: string) => void): Promise<IdentitySummary> {
  const identityId = status.preview?.identityId;
  if (status.state !== 'received' || !identityId) throw new LinkError('bad_input', 'The link has not brought everything yet.');
  onProgress('Receiving contacts and messages');
  let bytes: Uint8Array<ArrayBuffer> | null = null;
  let offset = 0;
  do {
    const { data, size } = await call(bridge, 'devices/linkDownload', { linkId: status.linkId, offset });
    bytes ??= new Uint8Array(size);
    const chunk = fromBase64Url(data);
    if (chunk.length === 0 || offset + chunk.length > size) throw new LinkError('internal', 'The records arrived incomplete: start the link again.');
    bytes.set(chunk, offset);
    offset += chunk.length;
  } while (offset < bytes.length);
  const ui = JSON.parse(new TextDecoder().decode(bytes)) as BackupUiPart; // checked by the engine
  onProgress('Writing contacts and messages');
  await restoreBackupRecords(db, identityId, ui);
  onProgress('Adding the identity');
  try {
    return await call(bridge, 'devices/linkCommit', { linkId: status.linkId });
  } catch (error) {
    await forgetIdentityData(db, identityId).catch(() => undefined);
    throw error;
  }
}

/** Stops a link on both devices (nothing to wait for). */
export function cancelLink(bridge: EngineBridge, linkId: string): void {
  void bridge.invoke('devices/linkCancel', { linkId });
}

/** The link's latest state: its `devices/linkChanged` events, starting from `initial`. */
export function useLinkStatus(bridge: EngineBridge | null, initial: DeviceLinkStatus | null): DeviceLinkStatus | null {
  const [status, setStatus] = useState(initial);
  const linkId = initial?.linkId ?? null;
  useEffect(() => {
    setStatus(initial);
    if (!bridge || linkId === null) return;
    const stop = bridge.on('devices/linkChanged', (event) => {
      if (event.linkId === linkId) setStatus(event);
    });
    // An event may have come before the subscription: ask once.
    void bridge.invoke('devices/linkStatus', { linkId }).then((result) => {
      if (result.ok) setStatus((current) => (current && rank(current) > rank(result.value) ? current : result.value));
    });
    return stop;
    // `initial` is the link's first state only: a new link has a new id.
  }, [bridge, linkId]);
  return status;
}

const ORDER: DeviceLinkStatus['state'][] = ['waiting', 'receiving', 'compare', 'sending', 'sent', 'received', 'done', 'failed'];

/** How far a state is along (a late answer never moves the screen back). */
function rank(status: DeviceLinkStatus): number {
  return ORDER.indexOf(status.state) * 1_000_000 + (status.chunks?.done ?? 0);
}

/** "123 456": the six digits in two groups, easier to compare aloud. */
export function spacedCode(code: string): string {
  return `${code.slice(0, 3)} ${code.slice(3)}`;
}
