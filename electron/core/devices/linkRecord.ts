/**
 * One device link as the engine holds it while it is open (deviceLinks.ts), for both roles: its
 * state, keys and temporary drop, what the offering side gathered for the bundle and what the joining
 * side received of it, and the status the UI sees. Also what the offering side (linkOffer.ts) and the
 * joining side (linkJoin.ts) are given of the link machinery.
 */
import { randomBytes } from 'node:crypto';
import type { DeviceLinkStatus } from '../../../shared/ipc/contract.js';
import type { LinkAbortReason, LinkFrame } from '../../../shared/protocol/deviceLink.js';
import type { DeviceList, DeviceRecord } from '../../../shared/protocol/deviceList.js';
import type { Logger } from '../../../shared/log.js';
import type { BackupTransfers } from '../state/backupTransfers.js';
import type { RawKeyPair } from '../v1/primitives.js';
import type { EngineContext } from '../engine.js';
import type { LinkKeys } from './linkCipher.js';
import type { LinkBundle } from './linkBundle.js';
import type { DeviceStore } from './deviceStore.js';

/** A link gives up this long after it began (the temporary drop's messages expire with the server's TTL). */
export const LINK_LIFETIME_MS = 10 * 60_000;

export interface Link {
  id: string;
  role: 'offer' | 'join';
  state: DeviceLinkStatus['state'];
  dropUrl: string;
  serverUrl: string;
  pair: RawKeyPair;
  offererPublic: Uint8Array;
  keys: LinkKeys | null;
  deviceName: string | null;
  chunks: { done: number; total: number } | null;
  preview: DeviceLinkStatus['preview'];
  error: string | null;
  startedAt: number;
  expiresAt: number;
  finishedAt: number | null;
  /** The drop's cursor: what was read already. */
  cursor: string | null;
  /** Hashes of the PDUs we posted and of those already taken: a repeat is skipped, never an error. */
  known: Set<string>;
  failedReads: number;
  timer: NodeJS.Timeout | null;
  reading: boolean;
  /** The transfer with the UI's records (BackupTransfers: uploaded on the offer side, downloaded on the join side). */
  transferId: string;
  // Offer side
  /** The joining device as the list will hold it, from its hello. */
  joiner: DeviceRecord | null;
  /** The list the bundle carries, kept here once the other device has it all. */
  nextList: DeviceList | null;
  identityId: string | null;
  includeHistory: boolean;
  cursors: Record<string, string>;
  // Join side
  self: { record: DeviceRecord; prekeyPrivate: string } | null;
  received: Map<number, Uint8Array>;
  end: Extract<LinkFrame, { kind: 'end' }> | null;
  bundle: LinkBundle | null;
}

/** What a link starts with besides its role. */
export type LinkOrigin = Pick<Link, 'dropUrl' | 'serverUrl' | 'pair' | 'offererPublic'>;

/** Figures of a link, for the measurements in the README. */
export interface LinkFigures {
  bundleBytes: number;
  compressedBytes: number;
  pdus: number;
}

/** A link's fields the UI hears of when they change. */
export type LinkChange = Partial<Pick<Link, 'state' | 'chunks' | 'error' | 'deviceName' | 'preview'>>;

/** The link machinery both sides act through (deviceLinks.ts). */
export interface LinkSide {
  readonly parts: EngineContext;
  readonly devices: DeviceStore;
  readonly transfers: BackupTransfers<null>;
  readonly logger: Logger;
  /** Changes the link and tells the UI. */
  set(link: Link, change: LinkChange): void;
  /** Stops the link here, telling the other device why when `tell` says so. */
  fail(link: Link, error: string, tell: LinkAbortReason | null): Promise<void>;
  /** Stops the link for a PDU that was altered or forged on the way. */
  tampered(link: Link): Promise<void>;
  /** Posts one PDU to the link's drop, retrying a few times. */
  post(link: Link, pdu: Buffer): Promise<void>;
  /** Reads the link's drop again after the poll interval. */
  schedule(link: Link): void;
  /** Stops reading and wipes the link's one-time key. */
  finish(link: Link): void;
  /** The last bundle's figures, for tests and measurements. */
  noteFigures(figures: LinkFigures): void;
}

export function newLinkRecord(role: Link['role'], origin: LinkOrigin, now: number): Link {
  return {
    id: randomBytes(16).toString('base64url'),
    role,
    state: 'waiting',
    ...origin,
    keys: null,
    deviceName: null,
    chunks: null,
    preview: null,
    error: null,
    startedAt: now,
    expiresAt: now + LINK_LIFETIME_MS,
    finishedAt: null,
    cursor: null,
    known: new Set(),
    failedReads: 0,
    timer: null,
    reading: false,
    transferId: '',
    joiner: null,
    nextList: null,
    self: null,
    identityId: null,
    includeHistory: false,
    cursors: {},
    received: new Map(),
    end: null,
    bundle: null,
  };
}

export function linkStatus(link: Link): DeviceLinkStatus {
  return {
    linkId: link.id,
    role: link.role,
    state: link.state,
    code: link.keys?.code ?? null,
    deviceName: link.deviceName,
    chunks: link.chunks ? { ...link.chunks } : null,
    preview: link.preview,
    error: link.error,
    expiresAt: link.expiresAt,
  };
}

/** What the user reads when the other device stopped the link. */
export function abortText(reason: LinkAbortReason): string {
  switch (reason) {
    case 'mismatch':
      return 'The other device said the codes did not match: nothing was sent. Start again.';
    case 'cancelled':
      return 'The link was cancelled on the other device.';
    case 'failed':
      return 'The other device stopped the link (something on the way was wrong, or it timed out). Start again.';
  }
}
