/**
 * What a drop-payload module is (README "What our clients send"): the drop component passes each
 * payload to the module its `drop_payload_type` names. A module declares the payload's schema, how
 * an incoming payload is decoded (a payload failing it is dropped and counted, never shown half
 * parsed), what the UI may ask the engine to send, and how that is built into drop messages.
 * How a module's messages are stored and shown is the UI's part of it (renderer/src/modules).
 */
import type { z } from 'zod';
import { PAYLOAD_LENGTH } from '../protocol/boxTypes.js';
import { ProtocolError } from '../protocol/errors.js';
import {
  DROP_MESSAGE_VERSION, NO_ACKNOWLEDGE_ID, metaToWire, serializeDropMessage, type DropMessage, type SenderIntroduction,
} from '../protocol/message.js';

/** What building a message may use besides the request: the sending identity as it is now. */
export interface BuildContext {
  /** Our public key, 64 lowercase hex. */
  sender: string;
  /** The sending identity's alias and drop URLs, in order. */
  identity: { alias: string; dropUrls: readonly string[] };
  /** Introduces us to a recipient who does not know us yet (sent with every message). */
  meta?: SenderIntroduction;
  wantReceipt: boolean;
  now: number;
  /** A fresh UUID per call. */
  newId: () => string;
}

/** A module that reads a payload type. */
export interface PayloadModule<Type extends string, Content extends { type: Type }> {
  readonly type: Type;
  /** The JSON of `drop_payload`, checked; null when it fails the module's schema. */
  decode(json: unknown): Content | null;
}

/** A module the UI may also send with (`messages/send`'s `content`). */
export interface SendingModule<Type extends string, Content extends { type: Type }, Send extends { type: Type }> extends PayloadModule<Type, Content> {
  /** What the UI may ask to send. */
  readonly sendSchema: z.ZodType<Send>;
  /**
   * The drop messages that carry `request`.
   * @throws ProtocolError 'message_too_long' when it does not fit
   */
  build(request: Send, context: BuildContext): DropMessage[];
}

/**
 * One drop message carrying `payload` as the JSON of `drop_payload`.
 * @throws ProtocolError 'message_too_long' when the message would not fit in 2048 bytes
 */
export function singleMessage(type: string, payload: unknown, context: BuildContext): DropMessage {
  const message: DropMessage = {
    version: DROP_MESSAGE_VERSION,
    time_stamp: context.now,
    sender: context.sender,
    drop_payload: JSON.stringify(payload),
    drop_payload_type: type,
    acknowledge_id: context.wantReceipt ? context.newId() : NO_ACKNOWLEDGE_ID,
    ...(context.meta ? { meta_data: metaToWire(context.meta) } : {}),
  };
  const bytes = serializeDropMessage(message).length;
  if (bytes > PAYLOAD_LENGTH) {
    throw new ProtocolError('message_too_long', `This message is ${bytes} bytes; at most ${PAYLOAD_LENGTH} fit in one drop message. Shorten it.`);
  }
  return message;
}

/** `null` and absent mean the same (Gson and other clients write null for absent fields). */
export function orNull<T>(value: T | null | undefined): T | null {
  return value ?? null;
}
