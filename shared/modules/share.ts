/**
 * Shared files (`box_share_notification`). The original fields stay as Qabel wrote them (`msg`,
 * `file`, `url`, `key`, `size`); ours add what a recipient needs to fetch, check and open the file:
 * `scheme` (the encryption format, `deaddrop-file-1`), `hash` (SHA-256 of the ciphertext, base64url),
 * `cipher_size` and `type` (the content type). A notice without them, or with a scheme we do not know,
 * is a shared file this app cannot open (shown as such, never an error).
 */
import { z } from 'zod';
import { BOX_SHARE_NOTIFICATION } from '../protocol/payloadTypes.js';
import { type SendingModule, orNull, singleMessage } from './payloadModule.js';

/** Our file format: age's payload construction (README "Files"). */
export const FILE_SCHEME = 'deaddrop-file-1';

const base64Url32 = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'expected 32 bytes in base64url');
const blobUrl = z
  .string()
  .max(2048)
  .regex(/^https?:\/\/\S+\/blobs\/[A-Za-z0-9_-]{43}$/, 'expected the URL of a blob on a drop server');
const fileName = z.string().min(1).max(255);
const mimeType = z.string().max(128).regex(/^[\w.+-]+\/[\w.+-]+$/, 'expected a content type such as image/png');
const byteCount = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** What a notice carries so a recipient can fetch, check and open a file of ours. */
export const encryptedFileRefSchema = z.object({
  scheme: z.literal(FILE_SCHEME),
  /** The blob's URL on the sender's drop server. */
  url: blobUrl,
  /** The file key, base64url. */
  key: base64Url32,
  /** Bytes of the file. */
  size: byteCount,
  /** Bytes of the ciphertext (what is downloaded). */
  cipherSize: byteCount,
  /** SHA-256 of the ciphertext, base64url. */
  hash: base64Url32,
});
export type EncryptedFileRef = z.infer<typeof encryptedFileRefSchema>;

/** Shares (ours): an announcement names the share and its revision; removal says so. */
const shareIdSchema = z.string().min(1).max(64).regex(/^[\w-]+$/, 'expected a share id of letters, digits, - and _');
const revisionSchema = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

const payloadSchema = z.object({
  msg: z.string().nullish(),
  file: z.string(),
  url: z.string(),
  key: z.string(),
  size: z.union([z.number(), z.string().regex(/^\d{1,15}$/).transform(Number)]).pipe(byteCount),
  scheme: z.string().max(128).nullish(),
  hash: z.string().max(128).nullish(),
  cipher_size: z.number().nullish(),
  type: z.string().max(256).nullish(),
  share_id: shareIdSchema.nullish(),
  revision: revisionSchema.nullish(),
  removed: z.boolean().nullish(),
});

/**
 * A shared folder (ours): the notice's file is the share's listing (shareListing.ts) at `revision`;
 * a later revision replaces it; `removed` ends the share (the notice then carries no file).
 */
export interface ShareRevision {
  id: string;
  revision: number;
  removed: boolean;
}

export interface ShareContent {
  type: typeof BOX_SHARE_NOTIFICATION;
  msg: string;
  file: string;
  url: string;
  key: string;
  size: number;
  /** How to fetch and open the file; null when it is not in a format of ours (e.g. a Qabel share). */
  ref: EncryptedFileRef | null;
  /** The content type the sender gave, if it is one. */
  mime: string | null;
  /** Set when the notice announces a revision of a shared folder rather than one file. */
  share: ShareRevision | null;
}

export const shareSendSchema = z.object({
  type: z.literal(BOX_SHARE_NOTIFICATION),
  /** The file's name as the recipient will see it. */
  file: fileName,
  /** An optional caption. */
  text: z.string().max(500).default(''),
  mime: mimeType.nullable().default(null),
  /** Null only for the removal of a share. */
  ref: encryptedFileRefSchema.nullable(),
  /** For a shared folder: the share and the revision this listing (`ref`) is. */
  share: z.object({ id: shareIdSchema, revision: revisionSchema, removed: z.boolean().default(false) }).nullable().default(null),
}).refine((send) => (send.ref === null) === (send.share?.removed === true), 'A notice carries a file, unless it removes a share.');
export type ShareSend = z.infer<typeof shareSendSchema>;

export const shareModule: SendingModule<typeof BOX_SHARE_NOTIFICATION, ShareContent, ShareSend> = {
  type: BOX_SHARE_NOTIFICATION,
  decode(json) {
    const parsed = payloadSchema.safeParse(json);
    if (!parsed.success) return null;
    const p = parsed.data;
    const ref = encryptedFileRefSchema.safeParse({ scheme: p.scheme, url: p.url, key: p.key, size: p.size, cipherSize: p.cipher_size, hash: p.hash });
    const mime = mimeType.safeParse(p.type);
    const share = p.share_id != null && p.revision != null ? { id: p.share_id, revision: p.revision, removed: p.removed === true } : null;
    return {
      type: BOX_SHARE_NOTIFICATION,
      msg: orNull(p.msg) ?? '',
      file: p.file,
      url: p.url,
      key: p.key,
      size: p.size,
      ref: ref.success && !share?.removed ? ref.data : null,
      mime: mime.success ? mime.data : null,
      share,
    };
  },
  sendSchema: shareSendSchema,
  build(request, context) {
    const { ref, share } = request;
    // A removal carries no file; the original fields stay present (empty) for clients that require them.
    const payload = {
      msg: request.text,
      file: request.file,
      url: ref?.url ?? '',
      key: ref?.key ?? '',
      size: ref?.size ?? 0,
      ...(ref ? { scheme: ref.scheme, hash: ref.hash, cipher_size: ref.cipherSize } : {}),
      ...(request.mime ? { type: request.mime } : {}),
      ...(share ? { share_id: share.id, revision: share.revision, ...(share.removed ? { removed: true } : {}) } : {}),
    };
    return [singleMessage(BOX_SHARE_NOTIFICATION, payload, context)];
  },
};
