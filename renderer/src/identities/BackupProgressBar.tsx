import type { BackupProgress } from './backupTransfer.js';

/** What a long backup step is doing: its name and a bar (a moving one while the share done is unknown). */
export function BackupProgressBar({ progress, label }: { progress: BackupProgress | null; label: string }) {
  if (!progress) return null;
  return (
    <div className="stack" role="status" aria-live="polite">
      <progress aria-label={label} max={1} {...(progress.fraction === null ? {} : { value: progress.fraction })} />
      <p className="hint">{progress.step}…</p>
    </div>
  );
}
