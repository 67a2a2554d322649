/**
 * Every channel and event of the IPC contract by name, with what a host must offer to serve a
 * channel and how long a call may take. The one list of names: the preload builds its functions
 * from it, main and the WebSocket host serve it, the renderer's transports time calls by it.
 *
 * No zod here: the preload imports this file (and types only of `contract.ts`), so the schemas stay
 * out of the script that runs on every page load; main validates with `contract.ts`.
 */

/** What a host offers beyond the engine; `app/info` reports it, so the UI asks only what is there. */
export interface Capabilities {
  /** A drop server on this computer: `localServer/*`. */
  localServer: boolean;
  /** System notifications and the unread badge: `notifications/show`, `unread/set`. */
  notifications: boolean;
  /** A camera that opens only while the QR scanner asks: `camera/allow`. */
  cameraGate: boolean;
  /** Tray, start-up and notification privacy settings: `desktop/getSettings`, `desktop/setSettings`. */
  desktopSettings: boolean;
  /** Links open in the system browser: `links/open`. */
  externalLinks: boolean;
  /** A log file the user can export for a bug report: `logs/export`. */
  debugLog: boolean;
  /** Save dialogs of the operating system: `files/saveAs`. */
  fileDialogs: boolean;
}
export type Capability = keyof Capabilities;

interface ChannelSpec {
  /** Served only by hosts that offer this; channels without one are the engine's, served everywhere. */
  readonly capability?: Capability;
  /** How long the handler may run; `DEFAULT_HANDLER_TIMEOUT_MS` when absent. */
  readonly timeoutMs?: number;
}

export const DEFAULT_HANDLER_TIMEOUT_MS = 30_000;
/** Calls for a passphrase's key derivation or a whole backup file. */
const SLOW_MS = 120_000;
/** A caller waits this much longer than the handler may run, so the host's `timeout` answer comes first. */
export const CALL_GRACE_MS = 5_000;

export const channelSpecs = {
  'app/info': {},
  'app/unlock': { timeoutMs: SLOW_MS },
  'app/databaseKey': {},
  'app/lock': {},
  'app/changePassphrase': { timeoutMs: SLOW_MS },
  'identities/list': {},
  'identities/create': {},
  'identities/import': { timeoutMs: SLOW_MS },
  'identities/export': { timeoutMs: SLOW_MS },
  'identities/delete': {},
  'identities/contactCard': {},
  'sessions/status': {},
  'sessions/confirmReset': {},
  'contacts/revokeTickets': {},
  'identities/addDrop': {},
  'identities/removeDrop': {},
  'identities/moveDrop': {},
  'identities/moveConfirmed': {},
  'identities/rename': {},
  'backup/exportBegin': {},
  'backup/exportSeal': { timeoutMs: SLOW_MS },
  'backup/importBegin': {},
  'backup/importOpen': { timeoutMs: SLOW_MS },
  'backup/importCommit': {},
  'backup/upload': {},
  'backup/download': {},
  'backup/discard': {},
  'devices/linkBegin': {},
  'devices/linkUpload': {},
  'devices/linkConfirm': {},
  'devices/linkCancel': {},
  'devices/linkStatus': {},
  'devices/linkJoin': {},
  'devices/linkDownload': {},
  'devices/linkCommit': {},
  'devices/list': {},
  'devices/rename': {},
  'devices/remove': {},
  'devices/clearAlarms': {},
  'devices/confirmJoined': {},
  'devices/sync': {},
  'devices/rotateKey': { timeoutMs: SLOW_MS },
  'messages/send': {},
  'files/stageBegin': {},
  'files/stageChunk': {},
  'files/stageDiscard': {},
  'files/send': {},
  'files/upload': {},
  'files/download': {},
  'files/read': {},
  'files/discard': {},
  'files/saveAs': { capability: 'fileDialogs', timeoutMs: 3_600_000 },
  'messages/cancel': {},
  'messages/retryNow': {},
  'messages/sendingReason': {},
  'inbox/ack': {},
  'receipts/send': {},
  'settings/get': {},
  'settings/set': {},
  'servers/status': {},
  'servers/probe': {},
  'poller/setPaused': {},
  'poller/pollNow': {},
  'links/open': { capability: 'externalLinks' },
  'localServer/status': { capability: 'localServer' },
  'localServer/start': { capability: 'localServer', timeoutMs: 60_000 },
  'localServer/stop': { capability: 'localServer' },
  'notifications/show': { capability: 'notifications' },
  'unread/set': { capability: 'notifications' },
  'camera/allow': { capability: 'cameraGate' },
  'desktop/getSettings': { capability: 'desktopSettings' },
  'desktop/setSettings': { capability: 'desktopSettings' },
  'logs/export': { capability: 'debugLog' },
} as const satisfies Record<string, ChannelSpec>;

export type Channel = keyof typeof channelSpecs;
/** The channels every host serves: the engine's handler table. */
export type EngineChannel = { [C in Channel]: (typeof channelSpecs)[C] extends { capability: Capability } ? never : C }[Channel];
/** The channels only a host with the matching capability serves (the desktop shell). */
export type HostChannel = Exclude<Channel, EngineChannel>;

export const channels = Object.keys(channelSpecs) as Channel[];

export const eventNames = ['inbox/batch', 'outbox/status', 'files/progress', 'servers/status', 'identities/changed', 'app/openConversation', 'app/locked', 'sessions/changed', 'outbox/delivered', 'devices/linkChanged', 'outbox/stampProgress', 'devices/changed'] as const;
export type EventName = (typeof eventNames)[number];

export function isChannel(value: unknown): value is Channel {
  return typeof value === 'string' && Object.hasOwn(channelSpecs, value);
}

export function isEventName(value: unknown): value is EventName {
  return typeof value === 'string' && (eventNames as readonly string[]).includes(value);
}

/** How long the serving side lets the channel's handler run before it answers `timeout`. */
export function handlerTimeoutMs(channel: Channel): number {
  const spec: ChannelSpec = channelSpecs[channel];
  return spec.timeoutMs ?? DEFAULT_HANDLER_TIMEOUT_MS;
}

/** How long a caller waits for an answer before it gives up with `timeout` itself. */
export function callTimeoutMs(channel: Channel): number {
  return handlerTimeoutMs(channel) + CALL_GRACE_MS;
}

/** A capability is offered when every channel that needs it is served. */
export function capabilitiesOf(served: Iterable<string>): Capabilities {
  const have = new Set(served);
  const capabilities: Capabilities = { localServer: true, notifications: true, cameraGate: true, desktopSettings: true, externalLinks: true, debugLog: true, fileDialogs: true };
  for (const channel of channels) {
    const spec: ChannelSpec = channelSpecs[channel];
    if (spec.capability && !have.has(channel)) capabilities[spec.capability] = false;
  }
  return capabilities;
}
