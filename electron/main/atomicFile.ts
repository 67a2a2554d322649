import { promises as fs } from 'node:fs';
import path from 'node:path';

/** Writes `data` to a private temp file next to `file` and flushes it to disk; returns the temp path. */
async function writeSyncedTemp(file: string, data: string | Uint8Array): Promise<string> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  const handle = await fs.open(temp, 'w', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return temp;
}

/** Writes a file so that a crash leaves either the old or the new content: temp file, fsync, rename. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await fs.rename(await writeSyncedTemp(file, data), file);
}

/**
 * Like `writeFileAtomic`, but never replaces an existing file (for secrets other data depends on): the
 * complete temp file is hard-linked into place, which fails with EEXIST if `file` exists.
 */
export async function writeFileAtomicExclusive(file: string, data: string | Uint8Array): Promise<void> {
  const temp = await writeSyncedTemp(file, data);
  try {
    await fs.link(temp, file);
  } finally {
    await fs.rm(temp, { force: true });
  }
}
