/** Chat messages (`box_message`): a text, split into pieces when it does not fit one message (ours). */
import { z } from 'zod';
import { BOX_MESSAGE } from '../protocol/payloadTypes.js';
import { MAX_TEXT_LENGTH, buildTextMessages } from '../protocol/textMessages.js';
import type { SendingModule } from './payloadModule.js';

/**
 * The piece numbers the parser accepts: looser than MAX_TEXT_PARTS (protocol/message.ts), so that a receiver sees the
 * oversized groups it drops (and counts them) instead of losing them as malformed.
 */
const MAX_PARSED_TEXT_PARTS = 4096;

const partSchema = z
  .object({
    group: z.string().min(1).max(128),
    index: z.number().int().min(0).max(MAX_PARSED_TEXT_PARTS - 1),
    count: z.number().int().min(2).max(MAX_PARSED_TEXT_PARTS),
  })
  .refine((p) => p.index < p.count, 'part index out of range');

const payloadSchema = z.object({ msg: z.string(), part: partSchema.nullish() });

export interface ChatContent {
  type: typeof BOX_MESSAGE;
  msg: string;
  part: { group: string; index: number; count: number } | null;
}

export const chatSendSchema = z.object({ type: z.literal(BOX_MESSAGE), text: z.string().min(1).max(MAX_TEXT_LENGTH) });
export type ChatSend = z.infer<typeof chatSendSchema>;

export const chatModule: SendingModule<typeof BOX_MESSAGE, ChatContent, ChatSend> = {
  type: BOX_MESSAGE,
  decode(json) {
    const parsed = payloadSchema.safeParse(json);
    return parsed.success ? { type: BOX_MESSAGE, msg: parsed.data.msg, part: parsed.data.part ?? null } : null;
  },
  sendSchema: chatSendSchema,
  build(request, context) {
    return buildTextMessages({
      sender: context.sender,
      text: request.text,
      meta: context.meta,
      wantReceipt: context.wantReceipt,
      now: context.now,
      newId: context.newId,
    });
  },
};
