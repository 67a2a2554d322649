/**
 * The drop server's public entry: start an instance with listeners of its own (`startDropServer`,
 * as the CLI and the desktop app do), or mount it in an existing Node application
 * (`createDropHandler`). See PROTOCOL.md section 2 for what it serves.
 */
export { startDropServer, PortInUseError, type RunningDropServer } from './dropServer.js';
export { spawnDropServer, type SpawnedDropServer, type SpawnServerOptions } from './serverProcess.js';
export { createDropHandler, type MountedDropHandler, type NextFunction } from './mountedHandler.js';
export { DEFAULT_OPTIONS, OptionError, type Clock, type DropServerOptions } from './config/options.js';
export { StoreConfigError } from './store/openStore.js';
export type { SweepResult } from './sweeper.js';
