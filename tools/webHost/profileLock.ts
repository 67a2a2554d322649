/**
 * One web host per profile: two engines on one data folder would each write the state file over the
 * other's. The lock is a file in the folder naming the host's process id, created exclusively; a lock
 * whose process is gone (a host killed with SIGKILL, a crash) is stale and taken over.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'web-host.lock';

export class ProfileInUse extends Error {
  constructor(readonly pid: number) {
    super(`another web host (process ${pid}) uses this profile`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else; still a live holder.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the lock of `dataDir` for this process; resolves with its release (idempotent, and only ever
 * removes a lock that names this process). @throws ProfileInUse when a live process holds it
 */
export function lockProfile(dataDir: string): () => void {
  const path = join(dataDir, LOCK_FILE);
  const create = () => writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
  try {
    create();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const pid = holder(path);
    if (pid !== null && alive(pid)) throw new ProfileInUse(pid);
    // Stale (its process is gone) or unreadable: taken over. (Two hosts taking over one stale lock in
    // the same instant could both start; the window is a few system calls wide.)
    rmSync(path, { force: true });
    try {
      create();
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code === 'EEXIST') throw new ProfileInUse(holder(path) ?? 0);
      throw again;
    }
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (holder(path) === process.pid) rmSync(path, { force: true });
  };
}

function holder(path: string): number | null {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}
