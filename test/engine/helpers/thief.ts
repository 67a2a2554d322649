/**
 * Test helper: a thief holding an identity's key (from a stolen backup) announces a device list of its
 * own to a contact, as a version-0 `box_devices` box sealed with that key, posted to the contact's drop.
 */
import type { Agent } from 'undici';
import type { IdentitySummary } from '../../../shared/ipc/contract.js';
import { PAYLOAD_LENGTH } from '../../../shared/protocol/boxTypes.js';
import { type DeviceList, encodeDeviceList } from '../../../shared/protocol/deviceList.js';
import { decryptIdentityBackup } from '../../../shared/protocol/identityBackup.js';
import { serializeDropMessage } from '../../../shared/protocol/message.js';
import { DropClient } from '../../../electron/core/net/dropClient.js';
import { BOX_DEVICES } from '../../../electron/core/devices/deviceNews.js';
import { nativeBox } from '../../../electron/workers/nativeBox.js';
import type { TestEngine } from './testEngine.js';

/** The identity's key pair as a thief gets it from an exported backup. */
export async function stolenKeyPair(holder: TestEngine, identityId: string): Promise<{ publicKey: Uint8Array; privateKey: Uint8Array }> {
  const exported = await holder.call('identities/export', { identityId, passphrase: 'stolen backup' });
  const key = await decryptIdentityBackup(exported.content, 'stolen backup');
  return { publicKey: new Uint8Array(Buffer.from(key.publicKey, 'hex')), privateKey: new Uint8Array(Buffer.from(key.privateKey, 'hex')) };
}

/** Posts `list`, announced by `device` and sealed with `pair` (the victim `victim`'s key), to `contact`'s first drop. */
export async function announceStolenList(
  dispatcher: Agent,
  pair: { publicKey: Uint8Array; privateKey: Uint8Array },
  victim: Pick<IdentitySummary, 'publicKey'>,
  contact: Pick<IdentitySummary, 'publicKey' | 'dropUrls'>,
  device: string,
  list: DeviceList,
): Promise<void> {
  const json = serializeDropMessage({
    version: 1,
    time_stamp: Date.now(),
    sender: victim.publicKey,
    drop_payload: JSON.stringify({ device, list: Buffer.from(encodeDeviceList(list)).toString('base64url') }),
    drop_payload_type: BOX_DEVICES,
    acknowledge_id: '0',
    dd: { v: 1, md: 1 },
  });
  const payload = new Uint8Array(PAYLOAD_LENGTH);
  payload.set(json);
  await new DropClient({ dispatcher, timeoutMs: 5000 }).post(contact.dropUrls[0]!, await nativeBox.sealPdu(pair, Buffer.from(contact.publicKey, 'hex'), payload));
}
