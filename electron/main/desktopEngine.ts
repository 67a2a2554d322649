import { app } from 'electron';
import type { Capabilities } from '../../shared/ipc/channels.js';
import { type Engine, createEngine } from '../core/engine.js';
import type { ProfilePaths } from './profile.js';
import type { SecretChoice } from './secretProvider.js';

/** What the shell tells the engine about itself. */
export interface EngineHost {
  /** What main serves beyond the engine, reported by `app/info`; known once main's table exists. */
  capabilities(): Capabilities;
  /** Drop servers the shell vouches for (its own local server). */
  trustedServers(): readonly string[];
}

/** The engine of this profile, unlocked with the keyring secret or locked until the user's passphrase. */
export function startDesktopEngine(profile: ProfilePaths, secret: SecretChoice, host: EngineHost): Promise<Engine> {
  return createEngine({
    dataDir: profile.engineDir,
    secret: secret.secret,
    host: 'electron',
    capabilities: () => host.capabilities(),
    version: app.getVersion(),
    network: { trustedServers: () => host.trustedServers() },
  });
}
