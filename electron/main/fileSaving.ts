/**
 * `files/saveAs`: the system's Save As for a downloaded file. The suggested name is made safe first
 * (a sender chooses it); the engine writes the decrypted file beside the chosen path and renames it
 * into place, so a failed save leaves nothing half written.
 */
import { join } from 'node:path';
import type { HostHandlers } from '../../shared/ipc/contract.js';
import { safeFileName } from '../../shared/text/safeFileName.js';
import type { Engine } from '../core/engine.js';

export interface SaveDialog {
  /** The chosen path, or null when the user cancelled. */
  choose(suggestedPath: string): Promise<string | null>;
  /** Where the dialog opens (the user's Downloads folder). */
  defaultFolder(): string;
}

export function fileSaving(engine: Pick<Engine, 'saveFile'>, dialog: SaveDialog): Pick<HostHandlers, 'files/saveAs'> {
  return {
    'files/saveAs': async ({ id, ref, fileName }) => {
      const dest = await dialog.choose(join(dialog.defaultFolder(), safeFileName(fileName)));
      if (dest === null) return { saved: false };
      await engine.saveFile(id, ref, dest);
      return { saved: true };
    },
  };
}
