/** Linking two test engines as the UI does (devices/link*), for the tests of several devices. */
import { expect } from 'vitest';
import type { BackupUiPart } from '../../../shared/backup/backupPayload.js';
import type { DeviceLinkStatus, IdentitySummary } from '../../../shared/ipc/contract.js';
import type { TestEngine } from './testEngine.js';
import { waitFor } from './waitFor.js';

/** The UI's part of a link with no contacts or messages. */
export const emptyUi = (): BackupUiPart => ({ contacts: [], conversations: [], messages: [], textParts: [], seen: [], posts: [], postCopies: [], shares: [] });

/** Waits until the link on `e` is in state `wanted`; a failed link throws with its error. */
export async function linkState(e: TestEngine, linkId: string, wanted: DeviceLinkStatus['state']): Promise<DeviceLinkStatus> {
  return waitFor(async () => {
    const status = await e.call('devices/linkStatus', { linkId });
    if (status.state === 'failed') throw new Error(`the link failed: ${status.error}`);
    return status.state === wanted ? status : null;
  }, `link ${wanted}`, 20_000);
}

/** Links `d2` (named "Laptop") to `identity` of `d1`, the user comparing the codes. */
export async function link(d1: TestEngine, identity: IdentitySummary, d2: TestEngine): Promise<void> {
  const { status, linkString } = await d1.call('devices/linkBegin', { identityId: identity.id, includeHistory: false });
  await d1.call('devices/linkUpload', { linkId: status.linkId, offset: 0, data: Buffer.from(JSON.stringify(emptyUi())).toString('base64url') });
  const joined = await d2.call('devices/linkJoin', { linkString, deviceName: 'Laptop' });
  expect((await linkState(d1, status.linkId, 'compare')).code).toBe(joined.code);
  await d1.call('devices/linkConfirm', { linkId: status.linkId, matches: true });
  await linkState(d2, joined.linkId, 'received');
  await linkState(d1, status.linkId, 'done');
  await d2.call('devices/linkCommit', { linkId: joined.linkId });
}
