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
import type { DeviceListView } from '../devices/deviceStore.js';
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
  | 'devices/confirmJoined'
  | 'devices/sync'
  | 'devices/rotateKey';

export function deviceHandlers(parts: EngineContext, requireUnlocked: () => void): Pick<ApiHandlers, DeviceChannels> {
  // The one store of the engine (device news, sibling sync and rotation use it too): two would each
  // write what the other did not see.
  const { store } = parts.devices;
  const links = new DeviceLinks(parts, store, createLogger('devices'));
  const { sync } = parts;
  // Devices that joined through a sibling and are not confirmed yet (devices/joinNotices.ts): only those still listed.
  const withJoins = async (identityId: string, status: DeviceListStatus): Promise<DeviceListStatus> => {
    const listed = new Set(status.devices.map((device) => device.deviceId));
    const joined = (await parts.devices.joins.list(identityId)).filter((notice) => listed.has(notice.deviceId));
    return joined.length > 0 ? { ...status, joined } : status;
  };
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
      return withJoins(identityId, listStatus(await store.view(identityId)));
    },
    'devices/rename': async ({ identityId, deviceId, name }) => {
      requireUnlocked();
      parts.stateStore.identity(identityId);
      const view = await store.rename(identityId, deviceId, name);
      await parts.devices.announce(identityId);
      return withJoins(identityId, listStatus(view));
    },
    'devices/remove': async ({ identityId, deviceId }) => {
      requireUnlocked();
      parts.stateStore.identity(identityId);
      const view = await store.remove(identityId, deviceId);
      await parts.devices.joins.confirm(identityId, [deviceId]);
      // Contacts stop counting it and siblings drop it; the removed device reads this too and stops.
      await parts.devices.announce(identityId);
      return withJoins(identityId, listStatus(view));
    },
    'devices/clearAlarms': async ({ identityId }) => {
      requireUnlocked();
      parts.stateStore.identity(identityId);
      await store.clearAlarms(identityId);
      return withJoins(identityId, listStatus(await store.view(identityId)));
    },
    'devices/confirmJoined': async ({ identityId, deviceId }) => {
      requireUnlocked();
      parts.stateStore.identity(identityId);
      // Every view of the identity (the banner over each screen) drops the notice.
      if ((await parts.devices.joins.confirm(identityId, deviceId === undefined ? undefined : [deviceId])) > 0) parts.emit('devices/changed', { identityId, alarm: false });
      return withJoins(identityId, listStatus(await store.view(identityId)));
    },
    'devices/sync': async ({ identityId, items }) => {
      requireUnlocked();
      const sent = await sync.send(identityId, items);
      // A device asking for history has been away (longer than a drop keeps messages, or the user asked):
      // a removal or link made meanwhile went out in device news that has expired since. Announcing our
      // list makes every sibling that knows more send its own back (deviceNews `senderBehind`).
      if (items.some((item) => item.kind === 'historyRequest')) await parts.devices.announce(identityId, 'siblings');
      return sent;
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
