/**
 * The device list of each identity as this device keeps it (PROTOCOL-V1.md 5c `DEVICES`), with this
 * device's own id and prekey, in one file beside the state file, `engine-devices.json`: each identity's
 * entry sealed under the data key and bound to the identity's life (a restored identity starts a new
 * list, as it starts without sessions), replaced atomically on every change.
 *
 * An identity that has no entry yet (made before device lists, or restored) gets one on first use:
 * this device alone, epoch 1.
 *
 * Beside the list the entry keeps what this device learnt about it: earlier lists (to judge a contact's
 * view, PROTOCOL-V1.md 5c "Detecting silent device injection"), alarms raised, when each sibling was
 * last heard from, and whether another device removed this one.
 *
 * The engine holds one DeviceStore (device news makes it; the device handlers, sibling sync and
 * rotation use that one, through the engine context): two stores of one directory would each write
 * what the other did not see.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import {
  type DeviceList,
  type DeviceRecord,
  type Tombstone,
  DEVLIST_HASH_LENGTH,
  DeviceListFull,
  MAX_DEVICES,
  changedDeviceList,
  deviceListHashInput,
  deviceListSchema,
  encodeDeviceList,
  mergeDeviceLists,
  nextDeviceEpoch,
  normalizeDeviceList,
} from '../../../shared/protocol/deviceList.js';
import { cleanDeviceName } from '../../../shared/protocol/deviceLink.js';
import { ApiFailure } from '../../../shared/ipc/result.js';
import { writeFileAtomic } from '../state/atomicFile.js';
import type { StateStore } from '../state/stateStore.js';
import { generateKeyPair } from '../v1/primitives.js';

const FILE_NAME = 'engine-devices.json';
/** The sealing context's "session id": no version-1 session id has this form. */
const SEAL_ID = 'device list';
/** Earlier lists kept to tell a stale contact view from an injected device. */
const KEPT_LISTS = 16;
const KEPT_ALARMS = 16;
/** Last-seen times are written when they moved by at least this much (not on every message). */
const SEEN_STEP_MS = 60_000;
const DAY_MS = 86_400_000;

const listSchema = deviceListSchema;
const entrySchema = z.object({
  list: listSchema,
  selfId: z.string(),
  /** This device's prekey's private half, 64 hex: opens Init PDUs addressed to this device (per-device sessions). */
  selfPrekeyPrivate: z.string(),
  /** Earlier lists of this identity, newest last. */
  earlier: z.array(listSchema),
  /** Contacts found sending to a device none of our lists held (newest last, at most KEPT_ALARMS). */
  alarms: z.array(z.object({ contact: z.string(), unknown: z.array(z.string()), at: z.number() })).optional(),
  /** Device id → when something it sent was last read here (ms). */
  lastSeen: z.record(z.string(), z.number()).optional(),
  /** When a list with this device's tombstone arrived (another device removed it): it sends nothing since. */
  removedAt: z.number().optional(),
});
type Entry = z.infer<typeof entrySchema>;
const fileSchema = z.object({ version: z.literal(1), identities: z.record(z.string(), z.string()) });

/** What `devices/list` answers. */
export interface DeviceListView {
  epoch: number;
  /** The 4-byte hash v1 headers echo, 8 hex. */
  hash: string;
  selfId: string;
  devices: DeviceRecord[];
  removed: Tombstone[];
  /** Every device id any list of this identity held here (to judge a contact's view). */
  earlier: DeviceList[];
  alarms: { contact: string; unknown: string[]; at: number }[];
  lastSeen: Record<string, number>;
  removedAt: number | null;
}

/**
 * shared/protocol/deviceList.ts `deviceListHash` without waiting (node:crypto), of a list or of its
 * `DEVICES` body: the outbox asks for the echo while it encodes.
 */
export function deviceListHashSync(list: DeviceList | Uint8Array): string {
  const body = list instanceof Uint8Array ? list : encodeDeviceList(list);
  return createHash('sha256').update(deviceListHashInput(body)).digest('hex').slice(0, 2 * DEVLIST_HASH_LENGTH);
}

/**
 * An identity's entry as last opened or written here, with its list's hash (and, once asked, the
 * hashes of every list kept): valid while the file holds exactly `sealed`. Opening an entry (decrypt,
 * JSON, zod, a hash) took ~0.36 ms, asked for on every incoming echo and every accepted message; every
 * write replaces `sealed`, so a stale copy is never used. Frozen: callers share it.
 */
interface Opened {
  sealed: string;
  entry: Entry;
  hash: string;
  known?: ReadonlySet<string>;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/** The file's sealed entries, the write chain and the change lock. */
interface Shared {
  sealed: Record<string, string> | null;
  writing: Promise<void>;
  /** Changes (read, change, write) take turns, so none writes over another's. */
  changing: Promise<unknown>;
}

export class DeviceStore {
  private readonly shared: Shared;
  /** Identity id → its entry as last opened (see `Opened`). */
  private readonly opened = new Map<string, Opened>();

  constructor(
    private readonly dataDir: string,
    private readonly stateStore: StateStore,
    private readonly now: () => number,
  ) {
    this.shared = { sealed: null, writing: Promise.resolve(), changing: Promise.resolve() };
  }

  /** The identity's list, made (this device alone) when there is none for its current life. */
  async view(identityId: string): Promise<DeviceListView> {
    const { entry, hash } = await this.openedEntry(identityId);
    return {
      epoch: entry.list.epoch,
      hash,
      selfId: entry.selfId,
      devices: entry.list.devices,
      removed: entry.list.removed ?? [],
      earlier: entry.earlier,
      alarms: entry.alarms ?? [],
      lastSeen: entry.lastSeen ?? {},
      removedAt: entry.removedAt ?? null,
    };
  }

  /** The list itself (what DEVICES carries). */
  async list(identityId: string): Promise<DeviceList> {
    return (await this.entry(identityId)).list;
  }

  /** The hashes of the current list and every earlier one kept: a contact echoing one of them is only behind. */
  async knownHashes(identityId: string): Promise<ReadonlySet<string>> {
    const opened = await this.openedEntry(identityId);
    opened.known ??= new Set([...opened.entry.earlier.map((list) => deviceListHashSync(list)), opened.hash]);
    return opened.known;
  }

  /** Records an alarm (the same contact and devices once). True when it is new. */
  async raiseAlarm(identityId: string, contact: string, unknown: readonly string[]): Promise<boolean> {
    return this.changing(async () => this.addAlarm(identityId, await this.entryLocked(identityId), contact, unknown));
  }

  private async addAlarm(identityId: string, entry: Entry, contact: string, unknown: readonly string[]): Promise<boolean> {
    const alarms = entry.alarms ?? [];
    const sorted = [...unknown].sort();
    if (alarms.some((alarm) => alarm.contact === contact && sorted.every((id) => alarm.unknown.includes(id)))) return false;
    await this.write(identityId, { ...entry, alarms: [...alarms, { contact, unknown: sorted, at: this.now() }].slice(-KEPT_ALARMS) });
    return true;
  }

  /** Forgets the alarms (the user read them and acted: removed the device, or moved to a new identity). */
  async clearAlarms(identityId: string): Promise<void> {
    return this.changing(async () => {
      const entry = await this.entryLocked(identityId);
      if ((entry.alarms ?? []).length > 0) await this.write(identityId, { ...entry, alarms: [] });
    });
  }

  /** A sibling was heard from (its announcement, its sync message). */
  async seen(identityId: string, deviceId: string, at: number): Promise<void> {
    return this.changing(async () => {
      const entry = await this.entryLocked(identityId);
      const lastSeen = entry.lastSeen ?? {};
      if (deviceId === entry.selfId || !entry.list.devices.some((device) => device.deviceId === deviceId)) return;
      if ((lastSeen[deviceId] ?? 0) + SEEN_STEP_MS > at) return;
      await this.write(identityId, { ...entry, lastSeen: { ...lastSeen, [deviceId]: at } });
    });
  }

  /**
   * This device's id and prekey pair and the identity's list, without waiting (the version-1 sessions
   * need them while opening a batch): null when the identity has no list here yet (one device, as
   * before device lists; `view` makes one). Reads the file once if no store of this directory read it
   * yet.
   */
  selfSync(identityId: string): { selfId: string; prekey: string; prekeyPrivate: string; list: DeviceList } | null {
    if (!this.shared.sealed) {
      try {
        this.shared.sealed = fileSchema.parse(JSON.parse(readFileSync(join(this.dataDir, FILE_NAME), 'utf8'))).identities;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return null;
        this.shared.sealed = {};
      }
    }
    const sealed = this.shared.sealed[identityId];
    let entry: Entry;
    const cached = this.opened.get(identityId);
    if (sealed !== undefined && cached?.sealed === sealed && !this.stateStore.locked) entry = cached.entry;
    else {
      const opened = sealed ? this.stateStore.openSession(identityId, SEAL_ID, sealed) : null;
      if (!opened) return null;
      const parsed = entrySchema.safeParse(JSON.parse(Buffer.from(opened).toString('utf8')));
      if (!parsed.success) return null;
      entry = parsed.data;
    }
    const self = entry.list.devices.find((device) => device.deviceId === entry.selfId);
    if (!self) return null; // removed from the list: no device of it any more
    return { selfId: entry.selfId, prekey: self.prekey, prekeyPrivate: entry.selfPrekeyPrivate, list: entry.list };
  }

  /** Deletes the identity's entry (the identity was deleted here): its list, alarms and this device's prekey private half. */
  async forget(identityId: string): Promise<void> {
    return this.changing(async () => {
      const identities = await this.file();
      this.opened.delete(identityId);
      if (!(identityId in identities)) return;
      delete identities[identityId];
      await this.flush(identities);
    });
  }

  /** A fresh record for this device (a joining device makes it before it has the identity). */
  newSelf(name: string): { record: DeviceRecord; prekeyPrivate: string } {
    const pair = generateKeyPair();
    const record: DeviceRecord = {
      deviceId: Buffer.from(crypto.getRandomValues(new Uint8Array(8))).toString('hex'),
      prekey: Buffer.from(pair.publicKey).toString('hex'),
      addedDay: Math.floor(this.now() / DAY_MS),
      name: cleanDeviceName(name) || 'Unnamed device',
    };
    const prekeyPrivate = Buffer.from(pair.privateKey).toString('hex');
    pair.privateKey.fill(0);
    return { record, prekeyPrivate };
  }

  /** Renames a device of the list (this one or another): a new epoch, so every copy converges on it. */
  async rename(identityId: string, deviceId: string, name: string): Promise<DeviceListView> {
    return this.changing(async () => {
      const entry = await this.entryLocked(identityId);
      if (!entry.list.devices.some((device) => device.deviceId === deviceId)) throw new ApiFailure('not_found', 'No such device in this identity’s list.');
      const clean = cleanDeviceName(name);
      if (clean === '') throw new ApiFailure('bad_input', 'Give the device a name.');
      const nameEpoch = nextDeviceEpoch(entry.list.epoch);
      const devices = entry.list.devices.map((device) => (device.deviceId === deviceId ? { ...device, name: clean, nameEpoch } : device));
      await this.write(identityId, this.next(entry, changedDeviceList(entry.list, devices)));
      return this.view(identityId);
    });
  }

  /**
   * Removes another device of the list: the next epoch, with a tombstone so that no merge brings it
   * back. This device removes itself only by leaving the identity (the identity is deleted here). A
   * device an alarm named (a contact sends to it, none of our lists held it) can be removed too: the
   * tombstone makes contacts drop it from what they encrypt to (its holder still has the identity key).
   */
  async remove(identityId: string, deviceId: string): Promise<DeviceListView> {
    return this.changing(async () => {
      const entry = await this.entryLocked(identityId);
      if (deviceId === entry.selfId) throw new ApiFailure('bad_input', 'This device cannot remove itself: remove it from another device, or delete the identity here.');
      const named = (entry.alarms ?? []).some((alarm) => alarm.unknown.includes(deviceId));
      if (!named && !entry.list.devices.some((device) => device.deviceId === deviceId)) throw new ApiFailure('not_found', 'No such device in this identity’s list.');
      await this.write(identityId, this.next(entry, changedDeviceList(entry.list, entry.list.devices, [deviceId])));
      return this.view(identityId);
    });
  }

  /** The list with `joining` added, as the next epoch: what a link carries to the new device. */
  async withDevice(identityId: string, joining: DeviceRecord): Promise<DeviceList> {
    const entry = await this.entry(identityId);
    const others = entry.list.devices.filter((device) => device.deviceId !== joining.deviceId);
    if (others.length >= MAX_DEVICES) throw new ApiFailure('bad_input', `This identity is on ${MAX_DEVICES} devices already: remove one first.`);
    return changedDeviceList(entry.list, [...others, joining]);
  }

  /**
   * Takes a list a sibling sent or a link carried: merged with ours (PROTOCOL-V1.md 5c, the join of
   * shared/protocol/deviceList.ts). Answers what changed here: whether our list changed, whether the
   * sender's list lacks something ours has (tell it back), whether a tombstone in it names this device
   * (another device removed it), and whether it raised a new alarm.
   *
   * A list whose union with ours holds more than MAX_DEVICES devices is not taken: ours stays whole and
   * the alarm names the sender's devices ours lacks (a list sealed with our key that would crowd our
   * devices out is what a thief of the key sends; two siblings adding the eighth and ninth device at
   * once is the honest case, and the user sorts it out by removing one).
   */
  async adopt(
    identityId: string,
    list: DeviceList,
    self?: { record: DeviceRecord; prekeyPrivate: string },
  ): Promise<{ changed: boolean; senderBehind: boolean; selfRemoved: boolean; alarm: boolean }> {
    return this.changing(async () => {
      const normalized = normalizeDeviceList(list);
      const current = await this.entryOrNull(identityId);
      if (!current) {
        await this.write(identityId, { list: normalized, selfId: self!.record.deviceId, selfPrekeyPrivate: self!.prekeyPrivate, earlier: [] });
        return { changed: true, senderBehind: false, selfRemoved: false, alarm: false };
      }
      let merged: Required<DeviceList>;
      try {
        merged = mergeDeviceLists(current.list, normalized);
      } catch (err) {
        if (!(err instanceof DeviceListFull)) throw err;
        const ours = new Set(current.list.devices.map((device) => device.deviceId));
        const unknown = normalized.devices.map((device) => device.deviceId).filter((id) => !ours.has(id));
        const alarm = await this.addAlarm(identityId, current, this.stateStore.identity(identityId).publicKey, unknown);
        return { changed: false, senderBehind: false, selfRemoved: false, alarm };
      }
      const mergedHash = deviceListHashSync(merged);
      const changed = mergedHash !== deviceListHashSync(current.list);
      const senderBehind = mergedHash !== deviceListHashSync(normalized);
      // Only a tombstone removes this device: a list that merely lacks it (made before it joined) does not.
      const selfRemoved = merged.removed.some((tombstone) => tombstone.deviceId === current.selfId);
      if (changed) {
        await this.write(identityId, {
          ...current,
          list: merged,
          earlier: [...current.earlier, current.list].slice(-KEPT_LISTS),
          ...(selfRemoved && current.removedAt === undefined ? { removedAt: this.now() } : {}),
        });
      }
      return { changed, senderBehind, selfRemoved, alarm: false };
    });
  }

  private changing<T>(change: () => Promise<T>): Promise<T> {
    const run = this.shared.changing.catch(() => undefined).then(change);
    this.shared.changing = run.catch(() => undefined);
    return run;
  }

  private next(entry: Entry, list: DeviceList): Entry {
    return { ...entry, list: normalizeDeviceList(list), earlier: [...entry.earlier, entry.list].slice(-KEPT_LISTS) };
  }

  /**
   * The identity's entry, made on first use under the change lock: two first uses at once (the list
   * shown while a batch's echo is judged) would otherwise each make a device of their own, and the
   * one written last would replace the id and prekey the other had already handed out.
   */
  private async entry(identityId: string): Promise<Entry> {
    return (await this.openedEntry(identityId)).entry;
  }

  private async openedEntry(identityId: string): Promise<Opened> {
    return (
      (await this.openedOrNull(identityId)) ??
      this.changing(async () => {
        await this.entryLocked(identityId);
        return (await this.openedOrNull(identityId))!;
      })
    );
  }

  /** `entry` for code already holding the change lock (taking it again would wait for itself). */
  private async entryLocked(identityId: string): Promise<Entry> {
    const found = await this.entryOrNull(identityId);
    if (found) return found;
    this.stateStore.identity(identityId);
    const { record, prekeyPrivate } = this.newSelf(`Device ${Math.floor(Math.random() * 0xffff).toString(16).padStart(4, '0')}`);
    const entry: Entry = { list: { epoch: 1, devices: [record] }, selfId: record.deviceId, selfPrekeyPrivate: prekeyPrivate, earlier: [] };
    await this.write(identityId, entry);
    return entry;
  }

  private async entryOrNull(identityId: string): Promise<Entry | null> {
    return (await this.openedOrNull(identityId))?.entry ?? null;
  }

  private async openedOrNull(identityId: string): Promise<Opened | null> {
    const sealed = (await this.file())[identityId];
    // Locked: nothing opens (and nothing opened stays in memory).
    if (this.stateStore.locked) this.opened.clear();
    if (!sealed || this.stateStore.locked) {
      this.opened.delete(identityId);
      return null;
    }
    const cached = this.opened.get(identityId);
    if (cached?.sealed === sealed) return cached;
    const plain = this.stateStore.openSession(identityId, SEAL_ID, sealed);
    if (!plain) return null; // sealed for an earlier life of this identity
    return this.remember(identityId, sealed, entrySchema.parse(JSON.parse(Buffer.from(plain).toString('utf8'))));
  }

  private remember(identityId: string, sealed: string, entry: Entry): Opened {
    const opened: Opened = { sealed, entry: deepFreeze(entry), hash: deviceListHashSync(entry.list) };
    this.opened.set(identityId, opened);
    return opened;
  }

  private async file(): Promise<Record<string, string>> {
    if (this.shared.sealed) return this.shared.sealed;
    let sealed: Record<string, string>;
    try {
      sealed = fileSchema.parse(JSON.parse(await readFile(join(this.dataDir, FILE_NAME), 'utf8'))).identities;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      sealed = {};
    }
    // A concurrent first read (selfSync, another caller) may have filled it meanwhile: the first copy stays.
    this.shared.sealed ??= sealed;
    return this.shared.sealed;
  }

  private async write(identityId: string, entry: Entry): Promise<void> {
    const identities = await this.file();
    const sealed = this.stateStore.sealSession(identityId, SEAL_ID, Buffer.from(JSON.stringify(entry), 'utf8'));
    identities[identityId] = sealed;
    this.remember(identityId, sealed, entry);
    await this.flush(identities);
  }

  private async flush(identities: Record<string, string>): Promise<void> {
    // Writes go out one after the other, each with everything known by then.
    this.shared.writing = this.shared.writing.catch(() => undefined).then(() => writeFileAtomic(join(this.dataDir, FILE_NAME), JSON.stringify({ version: 1, identities })));
    await this.shared.writing;
  }
}
