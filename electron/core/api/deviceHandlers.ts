/**
 * The `devices/*` channels: an identity's device list, and linking another device to an identity
 * (electron/core/devices). As with backups, each side of a link moves its own part: the engine the
 * identity, its key, cursors, settings and device list, the UI its records (uploaded by the offering
 * UI, stored by the joining UI before `devices/linkCommit`).
 */
import type { ApiHandlers, DeviceListStatus } from '../../../shared/ipc/contract.js';
import { createLogger } from '../../../shared/log.js';
import type { EngineContext } from '../engine.js';
import { DeviceLinks } from '../devices/deviceLinks.js';
import { type DeviceListView, DeviceStore } from '../devices/deviceStore.js';
import { identitiesChanged } from './identityHandlers.js';

type DeviceChannels =
  | 'devices/linkBegin'
  | 'devices/linkUpload'
  | 'devices/linkConfirm'
  | 'devices/linkCancel'
  | 'devices/linkStatus'
  | 'devices/linkJoin'
  | 'devices/linkDownload'
  | 'devices/linkCommit'
  | 'devices/list'
  | 'devices/rename'
  | 'devices/remove'
  | 'devices/clearAlarms'
  | 'devices/sync'
  | 'devices/rotateKey';

export function deviceHandlers(parts: EngineContext, requireUnlocked: () => void): Pick<ApiHandlers, DeviceChannels> {
  const store = new DeviceStore(parts.options.dataDir, parts.stateStore, parts.now);
  const links = new DeviceLinks(parts, store, createLogger('devices'));
  const { sync } = parts;
  return {
    'devices/linkBegin': async ({ identityId, includeHistory }) => {
      requireUnlocked();
      return links.begin(identityId, includeHistory);
    },
    'devices/linkUpload': async ({ linkId, offset, data }) => {
      requireUnlocked();
      return { received: links.upload(linkId, offset, Buffer.from(data, 'base64url')) };
    },
    'devices/linkConfirm': async ({ linkId, matches }) => {
      requireUnlocked();
      return links.confirm(linkId, matches);
    },
    'devices/linkCancel': async ({ linkId }) => links.cancel(linkId),
    'devices/linkStatus': async ({ linkId }) => links.statusOf(linkId),
    'devices/linkJoin': async ({ linkString, deviceName }) => {
      requireUnlocked();
      return links.join(linkString, deviceName);
    },
    'devices/linkDownload': async ({ linkId, offset }) => {
      requireUnlocked();
      const { data, size } = links.download(linkId, offset);
      return { data: data.toString('base64url'), size };
    },
    'devices/linkCommit': async ({ linkId }) => {
      requireUnlocked();
      const restored = await links.commit(linkId);
      await identitiesChanged(parts);
      return restored;
    },
    'devices/list': async ({ identityId }) => {
      requireUnlocked();
      parts.stateStore.identity(identityId);
      return listStatus(await store.view(identityId));
    },
    'devices/rename': async ({ identityId, deviceId, name }) => {
      requireUnlocked();
      parts.stateStore.identity(identityId);
      const view = await store.rename(identityId, deviceId, name);
      await parts.devices.announce(identityId);
      return listStatus(view);
    },
    'devices/remove': async ({ identityId, deviceId }) => {
      requireUnlocked();
      parts.stateStore.identity(identityId);
      const view = await store.remove(identityId, deviceId);
      // Contacts stop counting it and siblings drop it; the removed device reads this too and stops.
      await parts.devices.announce(identityId);
      return listStatus(view);
    },
    'devices/clearAlarms': async ({ identityId }) => {
      requireUnlocked();
      parts.stateStore.identity(identityId);
      await store.clearAlarms(identityId);
      return listStatus(await store.view(identityId));
    },
    'devices/sync': async ({ identityId, items }) => {
      requireUnlocked();
      return sync.send(identityId, items);
    },
    'devices/rotateKey': async ({ identityId, contacts }) => {
      requireUnlocked();
      return parts.rotation.rotate(identityId, contacts);
    },
  };
}

function listStatus(view: DeviceListView): DeviceListStatus {
  return {
    epoch: view.epoch,
    hash: view.hash,
    devices: view.devices.map(({ deviceId, name, addedDay }) => ({ deviceId, name, addedDay, self: deviceId === view.selfId, lastSeen: view.lastSeen[deviceId] ?? null })),
    removed: view.removed.map((tombstone) => tombstone.deviceId),
    alarms: view.alarms.map(({ contact, unknown, at }) => ({ contact, unknownDevices: unknown, at })),
    removedAt: view.removedAt,
  };
}
