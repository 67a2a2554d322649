/**
 * The listing of a shared folder (ours): JSON, encrypted and uploaded like any file, announced by a
 * `box_share_notification` carrying `share_id` and `revision`. Each entry names a file in the folder
 * (a relative path with `/` between folders) and how to fetch and open it. A recipient compares two
 * revisions' listings to say what changed.
 */
import { z } from 'zod';
import { encryptedFileRefSchema } from './share.js';

export const SHARE_LISTING_FORMAT = 'deaddrop-share-listing';
/** Files one listing may hold (a listing of this size is about 4 MB). */
export const MAX_SHARE_FILES = 10_000;

/** A relative path: no empty, `.` or `..` parts, no leading slash, no backslashes or controls. */
const relativePath = z
  .string()
  .min(1)
  .max(1024)
  .refine((path) => !/[\p{Cc}\p{Cf}\\]/u.test(path) && path.split('/').every((part) => part !== '' && part !== '.' && part !== '..'), 'expected a relative path such as photos/beach.jpg');

export const shareListingSchema = z.object({
  format: z.literal(SHARE_LISTING_FORMAT),
  version: z.literal(1),
  name: z.string().min(1).max(255),
  files: z
    .array(
      z.object({
        path: relativePath,
        mime: z.string().max(128).nullable(),
        ref: encryptedFileRefSchema,
      }),
    )
    .max(MAX_SHARE_FILES)
    .refine((files) => new Set(files.map((file) => file.path)).size === files.length, 'a path is listed twice'),
});
export type ShareListing = z.infer<typeof shareListingSchema>;
export type ShareListingFile = ShareListing['files'][number];

/** Parses a listing's JSON text; null when it is not a listing of ours. */
export function parseShareListing(text: string): ShareListing | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = shareListingSchema.safeParse(json);
  return parsed.success ? parsed.data : null;
}

export interface ListingChanges {
  added: string[];
  /** Listed in both, with other contents (another hash). */
  changed: string[];
  removed: string[];
}

/** What changed from `before` (null: the first revision) to `after`, paths sorted. */
export function listingChanges(before: ShareListing | null, after: ShareListing): ListingChanges {
  const old = new Map((before?.files ?? []).map((file) => [file.path, file.ref.hash]));
  const now = new Map(after.files.map((file) => [file.path, file.ref.hash]));
  const sorted = (paths: string[]) => paths.sort((a, b) => a.localeCompare(b));
  return {
    added: sorted([...now.keys()].filter((path) => !old.has(path))),
    changed: sorted([...now.keys()].filter((path) => old.has(path) && old.get(path) !== now.get(path))),
    removed: sorted([...old.keys()].filter((path) => !now.has(path))),
  };
}
