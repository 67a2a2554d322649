import { useCallback, useEffect, useState } from 'react';
import type { DeviceAlarm, DeviceListStatus, IdentitySummary } from '../../../shared/ipc/contract.js';
import { database } from '../db/database.js';
import { cleanAlias } from '../db/incomingMessage.js';
import { useLiveQuery } from '../db/useLiveQuery.js';
import { useActiveIdentity, useSession } from '../stores/sessionStore.js';
import { useUi } from '../stores/uiStore.js';
import { joinNoticeText } from './joinNotice.js';

/**
 * The identity's device list as the engine has it (`devices/list`), fetched again whenever the engine
 * says it changed (`devices/changed`: a sibling's news, an alarm, this device removed).
 */
export function useDeviceList(identityId: string | null): { list: DeviceListStatus | null; error: string | null; refresh: () => Promise<void>; set: (list: DeviceListStatus) => void } {
  const bridge = useSession((s) => s.bridge);
  const [list, setList] = useState<DeviceListStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const refresh = useCallback(async () => {
    if (!bridge || !identityId) return;
    const result = await bridge.invoke('devices/list', { identityId });
    if (result.ok) {
      setList(result.value);
      setError(null);
    } else setError(result.error.message);
  }, [bridge, identityId]);
  useEffect(() => {
    setList(null);
    void refresh();
    if (!bridge || !identityId) return;
    return bridge.on('devices/changed', (event) => {
      if (event.identityId === identityId) void refresh();
    });
  }, [bridge, identityId, refresh]);
  return { list, error, refresh, set: setList };
}

/** What a removed device says where it would write (the composer), in place of the input. */
export const REMOVED_READ_ONLY = 'This device was removed from this identity by another of its devices: it is read only here. To write again, link it from a device that still holds the identity.';

/** Whether another device removed this one from the identity (read only then); false until known. */
export function useRemovedHere(identityId: string | null): boolean {
  return useDeviceList(identityId).list?.removedAt != null;
}

/** A contact's name as this identity stores it (plain text), else the start of their key. */
export function useContactName(identityId: string, contactKey: string): string {
  return useLiveQuery(
    async () => {
      const contact = await database().contacts.get([identityId, contactKey]);
      return cleanAlias(contact?.alias) ?? `${contactKey.slice(0, 8)}…`;
    },
    [identityId, contactKey],
    `${contactKey.slice(0, 8)}…`,
  );
}

/**
 * One alarm in words: whose view of our list named which device we never added. A contact's view is
 * its own word (a hostile contact can make one up), so the text says what it showed, not that the key
 * was stolen; an alarm under our own key is a list sealed with it naming more devices than a list holds.
 */
export function AlarmText({ identity, alarm }: { identity: IdentitySummary; alarm: DeviceAlarm }) {
  const name = useContactName(identity.id, alarm.contact);
  const devices = alarm.unknownDevices.map((id) => id.slice(0, 8)).join(', ');
  if (alarm.contact === identity.publicKey) {
    return (
      <p>
        A device list sealed with the key of {identity.alias} names devices you did not add ({devices}): the key of {identity.alias} may be stolen.
      </p>
    );
  }
  return (
    <p>
      <strong>{name}</strong> is sending to a device you did not add ({devices}), as {name}’s app reports it: the key of {identity.alias} may be
      stolen, or {name} made this up.
    </p>
  );
}

/**
 * Across the app, above the active identity's screens: an alarm (a contact encrypts to a device none
 * of this identity's lists ever held: someone with its key added one, PROTOCOL-V1.md 5c), a device that
 * joined through another device and is not confirmed yet, or this device removed from the identity by
 * another one. Both lead to Settings → Devices, where the panel says what
 * to do.
 */
export function DeviceAlarmBanner() {
  const identity = useActiveIdentity();
  const { list } = useDeviceList(identity?.id ?? null);
  const setView = useUi((s) => s.setView);
  if (!identity || !list) return null;
  if (list.removedAt !== null) {
    return (
      <div className="banner warning" role="alert" data-testid="device-removed-banner">
        <p>
          This device was removed from {identity.alias} by another of its devices. It is read only: it sends nothing more as{' '}
          {identity.alias}, no messages, files, receipts or changes. To use it again, link it from a device that still holds{' '}
          {identity.alias} (Settings → Devices there, “Link a new device”), or delete the identity here.
        </p>
      </div>
    );
  }
  if ((list.joined ?? []).length > 0 && list.alarms.length === 0) {
    return (
      <div className="banner warning" role="alert" data-testid="device-joined-banner">
        {(list.joined ?? []).map((notice) => (
          <p key={notice.deviceId}>{joinNoticeText(notice, identity.alias)}</p>
        ))}
        <button type="button" onClick={() => setView('settings')}>
          Review in Settings
        </button>
      </div>
    );
  }
  if (list.alarms.length === 0) return null;
  return (
    <div className="banner warning" role="alert" data-testid="device-alarm-banner">
      {list.alarms.map((alarm) => (
        <AlarmText key={`${alarm.contact} ${alarm.unknownDevices.join(' ')}`} identity={identity} alarm={alarm} />
      ))}
      <button type="button" onClick={() => setView('settings')}>
        What to do
      </button>
    </div>
  );
}
