/**
 * The drop server's public entry: start an instance in-process (the desktop app does) or through
 * `cli.ts`. See PROTOCOL.md section 2 for what it serves.
 */
export { startDropServer, type RunningDropServer } from './dropServer.js';
export { DEFAULT_OPTIONS, OptionError, type Clock, type DropServerOptions } from './config/options.js';
export { StoreConfigError } from './store/openStore.js';
export type { SweepResult } from './sweeper.js';
