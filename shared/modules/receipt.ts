/** Delivery receipts (`box_ack`): the payload is an empty object; `acknowledge_id` says which message. */
import { z } from 'zod';
import { BOX_ACK } from '../protocol/payloadTypes.js';
import type { PayloadModule } from './payloadModule.js';

export interface ReceiptContent {
  type: typeof BOX_ACK;
}

const payloadSchema = z.object({});

/** Receipts are built by the engine's outbox (protocol/message.ts `buildAck`), never asked for by the UI. */
export const receiptModule: PayloadModule<typeof BOX_ACK, ReceiptContent> = {
  type: BOX_ACK,
  decode: (json) => (payloadSchema.safeParse(json).success ? { type: BOX_ACK } : null),
};
