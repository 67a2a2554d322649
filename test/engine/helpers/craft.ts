/** Hand-made PDUs for fault tests: valid ones from a test key, and every kind of broken one. */
import { randomBytes } from 'node:crypto';
import type { KeyPair } from '../../../shared/protocol/boxTypes.js';
import { PAYLOAD_LENGTH } from '../../../shared/protocol/boxTypes.js';
import { metaToWire, serializeDropMessage } from '../../../shared/protocol/message.js';
import { nativeBox } from '../../../electron/workers/nativeBox.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

export interface CraftOptions {
  from: KeyPair;
  to: string;
  text: string;
  acknowledgeId?: string;
  version?: number;
  /** Claim another sender in the JSON than the key that seals the box (a forgery). */
  claimedSender?: string;
  /** The alias the sender introduces itself with (`meta_data.alias`). */
  alias?: string;
  /** The drop URL the sender claims for itself (`meta_data.drop_url`): any address an attacker likes. */
  dropUrl?: string;
}

export async function craftPdu(options: CraftOptions): Promise<Uint8Array> {
  const json = serializeDropMessage({
    version: options.version ?? 1,
    time_stamp: Date.now(),
    sender: options.claimedSender ?? hex(options.from.publicKey),
    drop_payload: JSON.stringify({ msg: options.text }),
    drop_payload_type: 'box_message',
    acknowledge_id: options.acknowledgeId ?? '0',
    ...(options.alias !== undefined || options.dropUrl !== undefined ? { meta_data: metaToWire({ alias: options.alias, dropUrl: options.dropUrl }) } : {}),
  });
  const payload = new Uint8Array(PAYLOAD_LENGTH);
  payload.set(json);
  return nativeBox.sealPdu(options.from, Buffer.from(options.to, 'hex'), payload);
}

export function randomPdu(length: number, version = 0): Uint8Array {
  const pdu = new Uint8Array(randomBytes(length));
  pdu[0] = version;
  return pdu;
}
