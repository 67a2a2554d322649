import path from 'node:path';
import { STATE_FILE_NAME } from '../core/state/stateSchema.js';

/** Where one profile keeps everything: Chromium storage (IndexedDB), the engine state, the local drop server. */
export interface ProfilePaths {
  name: string;
  /** Becomes Electron's `userData`, so two profiles never share IndexedDB or the single-instance lock. */
  root: string;
  engineDir: string;
  dropServerDir: string;
  /** The key-encryption secret, encrypted with safeStorage. */
  secretFile: string;
  /** Written when the profile uses a passphrase instead of the OS keyring, so the choice sticks. */
  passphraseMarkerFile: string;
  /** The engine's state store state: its keys are sealed under the secret. */
  engineStateFile: string;
  desktopSettingsFile: string;
  /** The app's rotating log files (owner-only), what "Export debug log" gathers. */
  logDir: string;
}

export const DEFAULT_PROFILE = 'default';
const profileNamePattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;

/**
 * Reads the profile name from `--profile NAME`, `--profile=NAME` or `DEADDROP_PROFILE`
 * (the flag wins). Throws on a name that could escape the profiles folder.
 */
export function profileNameFrom(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): string {
  let name: string | undefined = env.DEADDROP_PROFILE;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--profile') name = argv[i + 1];
    else if (arg.startsWith('--profile=')) name = arg.slice('--profile='.length);
  }
  if (name === undefined || name === '') return DEFAULT_PROFILE;
  if (!profileNamePattern.test(name)) {
    throw new Error('Profile names use 1 to 32 letters, digits, "-" or "_", starting with a letter or digit.');
  }
  return name;
}

/** Lays out a profile's folders under `<baseUserData>/profiles/<name>`. */
export function profilePaths(baseUserData: string, name: string): ProfilePaths {
  const root = path.join(baseUserData, 'profiles', name);
  return {
    name,
    root,
    engineDir: path.join(root, 'engine'),
    dropServerDir: path.join(root, 'drop-server'),
    secretFile: path.join(root, 'keystore-secret.bin'),
    passphraseMarkerFile: path.join(root, 'keystore-uses-passphrase'),
    engineStateFile: path.join(root, 'engine', STATE_FILE_NAME),
    desktopSettingsFile: path.join(root, 'desktop-settings.json'),
    logDir: path.join(root, 'logs'),
  };
}
