/**
 * Crash-safe file writes, for the engine's state and the desktop shell's files alike: write a
 * private temp file beside the target (random name), fsync it, put it in place, fsync the folder.
 * A reader sees either the old or the new contents, never a torn file.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Writes and flushes a temp file beside `path` (creating the folder); returns the temp path. */
async function writeSyncedTemp(path: string, contents: string | Uint8Array): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const file = await open(temp, 'wx', 0o600);
  try {
    await file.writeFile(contents);
    await file.sync();
  } catch (err) {
    await file.close();
    await rm(temp, { force: true });
    throw err;
  }
  await file.close();
  return temp;
}

/** Replaces `path` with `contents`: the old or the new file survives a crash, never neither. */
export async function writeFileAtomic(path: string, contents: string | Uint8Array): Promise<void> {
  const temp = await writeSyncedTemp(path, contents);
  try {
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await syncFolder(dirname(path));
}

/**
 * Like `writeFileAtomic`, but never replaces an existing file (for secrets other data depends on):
 * the complete temp file is hard-linked into place, which fails with EEXIST if `path` exists.
 */
export async function writeFileAtomicExclusive(path: string, contents: string | Uint8Array): Promise<void> {
  const temp = await writeSyncedTemp(path, contents);
  try {
    await link(temp, path);
  } finally {
    await rm(temp, { force: true });
  }
  await syncFolder(dirname(path));
}

/** Makes the rename itself durable; some platforms cannot open folders, which is then best effort. */
async function syncFolder(folder: string): Promise<void> {
  let handle;
  try {
    handle = await open(folder, 'r');
    await handle.sync();
  } catch {
    // Windows cannot fsync a directory handle; the rename is still atomic there.
  } finally {
    await handle?.close();
  }
}
