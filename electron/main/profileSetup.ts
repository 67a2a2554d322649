import { app, dialog, safeStorage } from 'electron';
import { createLogger } from '../../shared/log.js';
import { type ProfilePaths, profileNameFrom, profilePaths } from './profile.js';
import { type SecretChoice, chooseSecret } from './secretProvider.js';

const log = createLogger('main');

/**
 * Picks the profile named on the command line and makes its folder Electron's `userData`, so each
 * profile has its own IndexedDB and single-instance lock. A bad name is shown and yields null.
 */
export function setUpProfile(): ProfilePaths | null {
  try {
    const name = profileNameFrom(process.argv, process.env);
    const profile = profilePaths(process.env.DEADDROP_USER_DATA_DIR ?? app.getPath('userData'), name);
    app.setPath('userData', profile.root);
    return profile;
  } catch (err) {
    dialog.showErrorBox('Deaddrop', err instanceof Error ? err.message : 'Bad command line.');
    return null;
  }
}

/** The engine's key-encryption secret: from the OS keyring, or none (the engine starts locked). */
export async function profileSecret(profile: ProfilePaths): Promise<SecretChoice> {
  const secret = await chooseSecret(safeStorage, profile, process.platform);
  if (secret.mode === 'passphrase') log.info('engine starts locked', { reason: secret.reason });
  return secret;
}
