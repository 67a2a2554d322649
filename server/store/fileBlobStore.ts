/**
 * Blobs as files in one owner-only folder (the SQLite server's: `<db folder>/blobs`). An upload is
 * written to `.<id>.part`, synced, and renamed to `<id>` (then the folder is synced), so a blob
 * file is always complete; parts left by a crash are removed at start. A file's modification time
 * is the blob's upload time. One server process owns the folder (the SQLite database is claimed by
 * one process), so the stored total is kept in memory.
 */
import { constants } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { type BlobStore, type OpenBlob, isValidBlobId, limitedChunks } from './blobStore.js';

const PART_PREFIX = '.';
const PART_SUFFIX = '.part';
/** Bytes read from disk per chunk of a download. */
const READ_CHUNK = 256 * 1024;

async function syncFolder(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Opens (creating if needed) the blob folder `dir`.
 * @param removeOnClose delete the folder when the store closes (a throw-away server)
 */
export async function openFileBlobStore(dir: string, removeOnClose = false): Promise<BlobStore> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let total = 0;
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    if (name.startsWith(PART_PREFIX) && name.endsWith(PART_SUFFIX)) await rm(path, { force: true });
    else if (isValidBlobId(name)) total += (await stat(path)).size;
  }
  const fileOf = (id: string): string => {
    if (!isValidBlobId(id)) throw new Error('invalid blob id');
    return join(dir, id);
  };

  return {
    async put(id, body, maxBytes, createdAtMs) {
      const final = fileOf(id);
      const part = join(dir, PART_PREFIX + id + PART_SUFFIX);
      const handle = await open(part, 'wx', 0o600);
      let size = 0;
      try {
        for await (const chunk of limitedChunks(body, maxBytes)) {
          await handle.write(chunk);
          size += chunk.length;
        }
        await handle.sync();
      } catch (error) {
        await handle.close();
        await rm(part, { force: true });
        throw error;
      }
      await handle.close();
      if (size === 0) {
        await rm(part, { force: true });
        return 0;
      }
      const seconds = createdAtMs / 1000;
      await utimes(part, seconds, seconds);
      await rename(part, final);
      await syncFolder(dir);
      total += size;
      return size;
    },

    async open(id): Promise<OpenBlob | null> {
      if (!isValidBlobId(id)) return null;
      let handle;
      try {
        handle = await open(fileOf(id), 'r');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
      // Held open, the file stays readable even if the sweeper deletes it meanwhile.
      const info = await handle.stat();
      let closed = false;
      return {
        size: info.size,
        createdAtMs: info.mtimeMs,
        async *read(start, end) {
          let position = start;
          while (position <= end) {
            const length = Math.min(READ_CHUNK, end - position + 1);
            const { bytesRead, buffer } = await handle.read(Buffer.alloc(length), 0, length, position);
            if (bytesRead === 0) return;
            yield bytesRead === length ? buffer : buffer.subarray(0, bytesRead);
            position += bytesRead;
          }
        },
        async close() {
          if (closed) return;
          closed = true;
          await handle.close();
        },
      };
    },

    async deleteExpired(beforeMs) {
      let deleted = 0;
      for (const name of await readdir(dir)) {
        if (!isValidBlobId(name)) continue;
        const path = join(dir, name);
        try {
          const info = await stat(path);
          if (info.mtimeMs >= beforeMs) continue;
          await unlink(path);
          total -= info.size;
          deleted++;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
      }
      return deleted;
    },

    storedBytes: () => Promise.resolve(total),

    async close() {
      if (removeOnClose) await rm(dir, { recursive: true, force: true });
    },
  };
}
