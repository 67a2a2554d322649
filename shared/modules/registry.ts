/**
 * The one registry of drop-payload modules, keyed by `drop_payload_type`, used by the engine (to
 * decode what arrives and build what is sent) and by the UI (which keeps how each is stored and shown
 * in renderer/src/modules). Adding a module is one file here and its entry in the lists below;
 * the poller, the outbox and the IPC contract take it from these lists.
 */
import { z } from 'zod';
import { ProtocolError } from '../protocol/errors.js';
import { type DropEnvelope, type DropMessage, decodeDropEnvelope, parseJson } from '../protocol/message.js';
import { type ChatContent, chatModule, chatSendSchema } from './chat.js';
import { type ContactUpdateContent, contactUpdateModule, contactUpdateSendSchema } from './contactUpdate.js';
import { type MicroblogContent, microblogModule, microblogSendSchema } from './microblog.js';
import type { BuildContext } from './payloadModule.js';
import { type ReceiptContent, receiptModule } from './receipt.js';
import { type ShareContent, shareModule, shareSendSchema } from './share.js';
import { type SyncContent, syncModule } from './sync.js';
import { type KeyRotateContent, keyRotateModule } from './keyRotate.js';

export type { BuildContext } from './payloadModule.js';

/** A payload of a type no module of ours reads: kept raw, shown as "unsupported message (type)". */
export interface UnsupportedContent {
  type: 'unsupported';
  payloadType: string;
  payload: string;
}

/** Every decoded payload, by module. */
export type DropContent = ChatContent | ReceiptContent | ShareContent | ContactUpdateContent | MicroblogContent | SyncContent | KeyRotateContent | UnsupportedContent;

/** What a message (not a receipt) carries to the UI. */
export type MessageContent = Exclude<DropContent, ReceiptContent>;

const modules = [chatModule, receiptModule, shareModule, contactUpdateModule, microblogModule, syncModule, keyRotateModule] as const;
const byType = new Map<string, (typeof modules)[number]>(modules.map((module) => [module.type, module]));

/** The payload types some module reads. */
export const knownPayloadTypes: readonly string[] = modules.map((module) => module.type);

/** What the UI may ask the engine to send (`messages/send`'s `content`), one schema per sendable module. */
export const sendContentSchema = z.discriminatedUnion('type', [chatSendSchema, shareSendSchema, contactUpdateSendSchema, microblogSendSchema]);
export type SendContent = z.infer<typeof sendContentSchema>;
export type SendContentInput = z.input<typeof sendContentSchema>;

type Builders = { [T in SendContent['type']]: (request: Extract<SendContent, { type: T }>, context: BuildContext) => DropMessage[] };
const builders: Builders = {
  [chatModule.type]: chatModule.build,
  [shareModule.type]: shareModule.build,
  [contactUpdateModule.type]: contactUpdateModule.build,
  [microblogModule.type]: microblogModule.build,
};

/**
 * The drop messages that carry `request` (a long chat text becomes several).
 * @throws ProtocolError 'message_too_long' when it does not fit
 */
export function buildMessages(request: SendContent, context: BuildContext): DropMessage[] {
  const build = builders[request.type] as (request: SendContent, context: BuildContext) => DropMessage[];
  return build(request, context);
}

/**
 * Decodes `drop_payload` by its type's module; a type no module reads is `unsupported`.
 * @throws ProtocolError 'invalid_message' when the payload fails its module's schema
 */
export function decodePayload(type: string, payload: string): DropContent {
  const module = byType.get(type);
  if (!module) return { type: 'unsupported', payloadType: type, payload };
  const content = module.decode(parseJson(payload, `${type} payload`));
  if (!content) throw new ProtocolError('invalid_message', `The ${type} payload does not have the fields its module expects.`);
  return content;
}

/** A decoded, sender-checked drop message with its payload decoded by its module. */
export interface DecodedDropMessage extends DropEnvelope {
  content: DropContent;
}

/**
 * Decodes a box payload, checks it against the box's authenticated sender key, and decodes the
 * payload by its module.
 * @throws ProtocolError 'invalid_message' (malformed envelope or payload), 'unsupported_version', 'forged_sender'
 */
export function decodeDropMessage(payload: Uint8Array, boxSenderPublicKey: Uint8Array): DecodedDropMessage {
  const envelope = decodeDropEnvelope(payload, boxSenderPublicKey);
  return { ...envelope, content: decodePayload(envelope.message.drop_payload_type, envelope.message.drop_payload) };
}
