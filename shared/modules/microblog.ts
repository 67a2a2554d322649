/**
 * Microblogging (`box_microblog`, ours): a short post an identity sends to its contacts, each copy a
 * normal drop message. `post_id` is the same in every copy of one post, so a recipient stores it once.
 */
import { z } from 'zod';
import { BOX_MICROBLOG } from '../protocol/payloadTypes.js';
import { type SendingModule, singleMessage } from './payloadModule.js';

/** The longest post (UTF-16 units), short enough that one post always fits one drop message. */
export const MAX_POST_LENGTH = 500;

const postId = z.string().min(1).max(64).regex(/^[\w-]+$/, 'expected a post id of letters, digits, - and _');

const payloadSchema = z.object({ msg: z.string().min(1).max(MAX_POST_LENGTH), post_id: postId });

export interface MicroblogContent {
  type: typeof BOX_MICROBLOG;
  msg: string;
  postId: string;
}

export const microblogSendSchema = z.object({
  type: z.literal(BOX_MICROBLOG),
  text: z.string().trim().min(1).max(MAX_POST_LENGTH),
  /** The same for every recipient of one post. */
  postId,
});
export type MicroblogSend = z.infer<typeof microblogSendSchema>;

export const microblogModule: SendingModule<typeof BOX_MICROBLOG, MicroblogContent, MicroblogSend> = {
  type: BOX_MICROBLOG,
  decode(json) {
    const parsed = payloadSchema.safeParse(json);
    return parsed.success ? { type: BOX_MICROBLOG, msg: parsed.data.msg, postId: parsed.data.post_id } : null;
  },
  sendSchema: microblogSendSchema,
  build: (request, context) => [singleMessage(BOX_MICROBLOG, { msg: request.text, post_id: request.postId }, context)],
};
