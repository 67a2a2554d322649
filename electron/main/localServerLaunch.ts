import { app } from 'electron';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../shared/log.js';
import { startDropServer } from '../../server/index.js';
import { childProcessServerStarter } from './childDropServer.js';
import type { DesktopSettingsStore } from './desktopSettings.js';
import { type LocalServerController, type StartServer, createLocalServerController } from './localDropServer.js';
import type { ProfilePaths } from './profile.js';

const log = createLogger('main');

export interface LaunchedLocalServer {
  controller: LocalServerController;
  /**
   * The app's own drop server at its loopback URL while it runs: a server the user chose, so the engine
   * may reach it even with local-network servers not allowed (see the destination guard in electron/core/net).
   */
  trustedServers(): readonly string[];
}

/**
 * In-process in a packaged app (its better-sqlite3 is rebuilt for Electron). From source, npm's Node
 * runs the server instead: there the addon is built for Node's ABI and would not load in Electron.
 */
function localServerStarter(): StartServer {
  const node = process.env.npm_node_execpath;
  if (app.isPackaged || !node) return (options) => startDropServer({ ...options, logLevel: 'warn' });
  const root = app.getAppPath();
  return childProcessServerStarter({ node, serverScript: path.join(root, 'bin', 'deaddrop-server.mjs'), cwd: root });
}

/**
 * The profile's local drop server, restarted when it ran at the last quit. Call before the engine starts
 * polling: own drops on the local server must find it listening.
 */
export async function launchLocalServer(profile: ProfilePaths, settings: DesktopSettingsStore): Promise<LaunchedLocalServer> {
  let url: string | null = null;
  const controller = createLocalServerController({
    startServer: localServerStarter(),
    dataDir: profile.dropServerDir,
    networkInterfaces: os.networkInterfaces,
    onChange: async (running) => {
      url = running ? (await controller.status()).url : null;
      await settings.update({ localServer: running });
    },
  });
  const restore = settings.get().localServer;
  if (restore) {
    await controller.start(restore).catch((err: unknown) =>
      log.warn('could not restart the local drop server', { error: err instanceof Error ? err.message : 'unknown' }),
    );
  }
  return { controller, trustedServers: () => (url ? [url] : []) };
}
