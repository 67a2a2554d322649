/**
 * Contact updates (`box_contact_update`, ours): an identity tells its contacts its alias and the full,
 * ordered list of drop URLs it reads, after a rename or a drop added or removed. Only the identity's
 * key can seal it, so a contact applies it as is. `revision` (the sender's clock when the update was
 * made, ms) orders updates: one not newer than the last applied is stale and ignored.
 */
import { z } from 'zod';
import { BOX_CONTACT_UPDATE } from '../protocol/payloadTypes.js';
import { type SendingModule, singleMessage } from './payloadModule.js';

/** Drop URLs one update may list (an identity reads at most 8; some room for other clients). */
export const MAX_UPDATE_DROP_URLS = 16;

const dropUrl = z
  .string()
  .max(2048)
  .refine((s) => /^https?:\/\/\S+$/i.test(s), 'expected an http or https URL');

const payloadSchema = z.object({
  alias: z.string().max(1024),
  drop_urls: z.array(dropUrl).min(1).max(MAX_UPDATE_DROP_URLS),
  revision: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});

export interface ContactUpdateContent {
  type: typeof BOX_CONTACT_UPDATE;
  alias: string;
  dropUrls: string[];
  revision: number;
}

/** The engine fills in the identity's alias and drop URLs as they are when the update is built. */
export const contactUpdateSendSchema = z.object({ type: z.literal(BOX_CONTACT_UPDATE) });
export type ContactUpdateSend = z.infer<typeof contactUpdateSendSchema>;

export const contactUpdateModule: SendingModule<typeof BOX_CONTACT_UPDATE, ContactUpdateContent, ContactUpdateSend> = {
  type: BOX_CONTACT_UPDATE,
  decode(json) {
    const parsed = payloadSchema.safeParse(json);
    if (!parsed.success) return null;
    return { type: BOX_CONTACT_UPDATE, alias: parsed.data.alias, dropUrls: parsed.data.drop_urls, revision: parsed.data.revision };
  },
  sendSchema: contactUpdateSendSchema,
  build(_request, context) {
    const payload = { alias: context.identity.alias, drop_urls: [...context.identity.dropUrls], revision: context.now };
    return [singleMessage(BOX_CONTACT_UPDATE, payload, context)];
  },
};
