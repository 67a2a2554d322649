/**
 * The desktop app's log on disk: lines (already redacted by shared/log.ts) wait in memory and are
 * appended together off the main thread's critical path, the file rotates by size, and only the owner
 * may read it. A folder that cannot be written turns the file off; it never stops the app.
 */
import { type FileHandle, chmod, mkdir, open, readFile, rename } from 'node:fs/promises';
import path from 'node:path';

export const LOG_FILE_NAME = 'deaddrop.log';

export interface RotatingLogOptions {
  /** The folder of the log files (created owner-only if missing). */
  dir: string;
  /** Bytes a file may hold before the next line starts a new one (default 1 MiB). */
  maxBytes?: number;
  /** Files kept, the one being written included (default 3). */
  files?: number;
  /** How long lines wait in memory before they are appended together (default 500 ms). */
  flushDelayMs?: number;
  /** Told once why the file was turned off (the console still gets every line). */
  onProblem?(message: string): void;
}

export interface RotatingLogFile {
  /** Queues a line; returns at once and never throws. */
  write(line: string): void;
  /** Appends every queued line. */
  flush(): Promise<void>;
  /** The kept files' text, oldest first and the newest last, with every queued line in it. */
  read(): Promise<string>;
  /** Appends what is queued and closes the file; later lines are dropped. */
  close(): Promise<void>;
  /** Why the file is not written (folder missing rights, disk full), or null while it is. */
  problem(): string | null;
}

/** A single line longer than this is cut: one runaway line must not push every other line out. */
const MAX_LINE_BYTES = 16 * 1024;
/** Queued lines beyond this while the disk is slow are counted, not kept. */
const MAX_QUEUED_BYTES = 1024 * 1024;
/** A queue this full is written at once instead of after the delay. */
const EAGER_FLUSH_BYTES = 64 * 1024;

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** No such file, or no such folder (a file stands where the folder should be). */
function isMissing(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** `line` plus its newline as bytes, cut at `limit` bytes on a character boundary. */
function lineBytes(line: string, limit: number): Buffer {
  const bytes = Buffer.from(line.replace(/[\r\n]+/g, ' '), 'utf8');
  if (bytes.length + 1 <= limit) return Buffer.concat([bytes, Buffer.from('\n')]);
  const marker = Buffer.from(' [cut]\n');
  let end = Math.max(0, limit - marker.length);
  // Back off to the start of a UTF-8 character (continuation bytes are 10xxxxxx).
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return Buffer.concat([bytes.subarray(0, end), marker]);
}

export function createRotatingLogFile(options: RotatingLogOptions): RotatingLogFile {
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  const fileCount = Math.max(1, options.files ?? 3);
  const flushDelayMs = options.flushDelayMs ?? 500;
  const lineLimit = Math.min(MAX_LINE_BYTES, maxBytes);
  /** Index 0 is the file being written, the highest the oldest. */
  const fileAt = (index: number) => path.join(options.dir, index === 0 ? LOG_FILE_NAME : `${LOG_FILE_NAME}.${index}`);

  let queued: string[] = [];
  let queuedBytes = 0;
  let dropped = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let handle: FileHandle | null = null;
  let size = 0;
  let problem: string | null = null;
  let closed = false;
  // Every disk operation runs after the one before it, so appends and rotations never interleave.
  let chain: Promise<void> = Promise.resolve();

  const serial = (task: () => Promise<void>): Promise<void> => {
    chain = chain.then(task, task);
    return chain;
  };

  const openCurrent = async () => {
    await mkdir(options.dir, { recursive: true, mode: 0o700 });
    const file = await open(fileAt(0), 'a', 0o600);
    try {
      // An existing folder or file may be older than this rule, or made by someone else's umask.
      if (process.platform !== 'win32') {
        await chmod(options.dir, 0o700);
        await file.chmod(0o600);
      }
      size = (await file.stat()).size;
    } catch (err) {
      await file.close().catch(() => undefined);
      throw err;
    }
    handle = file;
  };

  const rotate = async () => {
    await handle?.close();
    handle = null;
    for (let index = fileCount - 1; index >= 1; index--) {
      await rename(fileAt(index - 1), fileAt(index)).catch((err: unknown) => {
        if (!isMissing(err)) throw err;
      });
    }
    await openCurrent();
  };

  const append = async (chunks: Buffer[]) => {
    if (chunks.length === 0 || !handle) return;
    const data = Buffer.concat(chunks);
    await handle.write(data);
    size += data.length;
  };

  const turnOff = async (err: unknown) => {
    problem = errorText(err);
    queued = [];
    queuedBytes = 0;
    await handle?.close().catch(() => undefined);
    handle = null;
    options.onProblem?.(problem);
  };

  const writeQueued = async () => {
    if (problem !== null || (queued.length === 0 && dropped === 0)) return;
    const lines = queued;
    queued = [];
    queuedBytes = 0;
    if (dropped > 0) {
      lines.push(`${new Date().toISOString()} warn [log] ${dropped} lines were dropped: the disk was slower than the log`);
      dropped = 0;
    }
    try {
      if (!handle) await openCurrent();
      let chunks: Buffer[] = [];
      let pending = 0;
      for (const line of lines) {
        const bytes = lineBytes(line, lineLimit);
        if (size + pending + bytes.length > maxBytes && size + pending > 0) {
          await append(chunks);
          chunks = [];
          pending = 0;
          await rotate();
        }
        chunks.push(bytes);
        pending += bytes.length;
      }
      await append(chunks);
    } catch (err) {
      await turnOff(err);
    }
  };

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    return serial(writeQueued);
  };

  return {
    write(line) {
      if (closed || problem !== null) return;
      const length = Buffer.byteLength(line) + 1;
      if (queuedBytes + length > MAX_QUEUED_BYTES) {
        dropped++;
        return;
      }
      queued.push(line);
      queuedBytes += length;
      if (queuedBytes >= EAGER_FLUSH_BYTES) {
        void flush();
      } else if (!timer) {
        timer = setTimeout(() => void flush(), flushDelayMs);
        // A pending flush must not keep a process alive that is otherwise done.
        timer.unref();
      }
    },
    flush,
    async read() {
      await flush();
      const texts: string[] = [];
      for (let index = fileCount - 1; index >= 0; index--) {
        try {
          texts.push(await readFile(fileAt(index), 'utf8'));
        } catch (err) {
          if (!isMissing(err)) throw err;
        }
      }
      return texts.join('');
    },
    async close() {
      await flush();
      closed = true;
      await serial(async () => {
        await handle?.close().catch(() => undefined);
        handle = null;
      });
    },
    problem: () => problem,
  };
}
