/**
 * Devices that joined an identity through a sibling and that the user has not confirmed yet (issue 17).
 *
 * Anyone holding the identity key can seal a `box_devices` from the identity to its own drops and so
 * announce a device of their own as a sibling: the join merges it like a linked device. A device that
 * merges a list holding a device none of its lists ever held (nor removed) therefore records it here;
 * the UI shows "A new device, <name>, was linked to <identity> (added by <device>)…" with a system
 * notification, and Settings → Devices marks it "new" until the user confirms it (or removes it).
 *
 * One file beside the state file, `engine-device-joins.json`: each identity's entry sealed under the
 * data key and bound to the identity's life (as engine-devices.json), replaced atomically on change.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../state/atomicFile.js';
import type { StateStore } from '../state/stateStore.js';

const FILE_NAME = 'engine-device-joins.json';
/** The sealing context's "session id": no version-1 session id has this form. */
const SEAL_ID = 'device joins';
/** Notices kept per identity (a list holds at most MAX_DEVICES devices; removed ones go too). */
const KEPT = 16;

const noticeSchema = z.object({
  deviceId: z.string().regex(/^[0-9a-f]{16}$/),
  /** The device's name as the list had it when it arrived (plain text, cleaned by the list codec). */
  name: z.string().max(64),
  /** The name of the sibling whose list brought it; null when that device is in no list here. */
  addedBy: z.string().max(64).nullable(),
  at: z.number(),
});
export type JoinNotice = z.infer<typeof noticeSchema>;
const entrySchema = z.array(noticeSchema);
const fileSchema = z.object({ version: z.literal(1), identities: z.record(z.string(), z.string()) });

interface Shared {
  sealed: Record<string, string> | null;
  /** Changes (read, change, write) take turns, so none writes over another's. */
  changing: Promise<unknown>;
}
const sharedByDir = new Map<string, Shared>();

export class JoinNotices {
  private readonly shared: Shared;

  constructor(
    private readonly dataDir: string,
    private readonly stateStore: StateStore,
  ) {
    let shared = sharedByDir.get(dataDir);
    if (!shared) sharedByDir.set(dataDir, (shared = { sealed: null, changing: Promise.resolve() }));
    this.shared = shared;
  }

  /** The unconfirmed joins of an identity, oldest first. */
  async list(identityId: string): Promise<JoinNotice[]> {
    const sealed = (await this.file())[identityId];
    if (!sealed) return [];
    const opened = this.stateStore.openSession(identityId, SEAL_ID, sealed);
    if (!opened) return []; // sealed for an earlier life of this identity
    const parsed = entrySchema.safeParse(JSON.parse(Buffer.from(opened).toString('utf8')));
    return parsed.success ? parsed.data : [];
  }

  /** Records joins (a device already noted keeps its first notice). */
  async note(identityId: string, joined: readonly JoinNotice[]): Promise<void> {
    if (joined.length === 0) return;
    await this.changing(async () => {
      const current = await this.list(identityId);
      const known = new Set(current.map((notice) => notice.deviceId));
      await this.write(identityId, [...current, ...joined.filter((notice) => !known.has(notice.deviceId))].slice(-KEPT));
    });
  }

  /**
   * Drops the notices of `deviceIds` (every one when absent): the user confirmed them, or removed the
   * device. Answers how many went.
   */
  async confirm(identityId: string, deviceIds?: readonly string[]): Promise<number> {
    return this.changing(async () => {
      const current = await this.list(identityId);
      const kept = deviceIds ? current.filter((notice) => !deviceIds.includes(notice.deviceId)) : [];
      if (kept.length !== current.length) await this.write(identityId, kept);
      return current.length - kept.length;
    });
  }

  private changing<T>(change: () => Promise<T>): Promise<T> {
    const run = this.shared.changing.catch(() => undefined).then(change);
    this.shared.changing = run.catch(() => undefined);
    return run;
  }

  private async file(): Promise<Record<string, string>> {
    if (this.shared.sealed) return this.shared.sealed;
    let sealed: Record<string, string>;
    try {
      sealed = fileSchema.parse(JSON.parse(await readFile(join(this.dataDir, FILE_NAME), 'utf8'))).identities;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      sealed = {};
    }
    this.shared.sealed ??= sealed;
    return this.shared.sealed;
  }

  private async write(identityId: string, notices: JoinNotice[]): Promise<void> {
    const identities = await this.file();
    if (notices.length === 0) delete identities[identityId];
    else identities[identityId] = this.stateStore.sealSession(identityId, SEAL_ID, Buffer.from(JSON.stringify(notices), 'utf8'));
    await writeFileAtomic(join(this.dataDir, FILE_NAME), JSON.stringify({ version: 1, identities }));
  }
}
