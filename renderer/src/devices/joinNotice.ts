/**
 * A device that joined an identity through a sibling (engine: devices/joinNotices.ts): whoever holds
 * the identity key can announce one, so every other device says so at once, as a system notification
 * where there are notifications, and keeps a notice (DeviceAlarmBanner, Settings → Devices) until the
 * user confirms the device or removes it.
 */
import type { EventMap } from '../../../shared/ipc/contract.js';
import { createLogger } from '../../../shared/log.js';
import type { EngineBridge } from '../bridge/transport.js';
import { cleanAlias } from '../db/incomingMessage.js';
import { hasCapability, useSession } from '../stores/sessionStore.js';

const log = createLogger('device-join');

/** The notice's sentence (names are plain text, cleaned of control and bidi characters). */
export function joinNoticeText(device: { name: string; addedBy: string | null }, identityAlias: string): string {
  const name = cleanAlias(device.name) ?? 'Unnamed device';
  const by = device.addedBy === null ? 'a device this one does not know' : (cleanAlias(device.addedBy) ?? 'Unnamed device');
  return `A new device, ${name}, was linked to ${cleanAlias(identityAlias) ?? 'this identity'} (added by ${by}). If you did not do this, remove it and replace your identity key.`;
}

/** On `devices/changed` with `joined`: a system notification for each device (desktop only). Never throws. */
export async function notifyJoined(bridge: EngineBridge, event: EventMap['devices/changed']): Promise<number> {
  if (!event.joined || event.joined.length === 0 || !hasCapability('notifications')) return 0;
  const identity = (useSession.getState().identities ?? []).find((candidate) => candidate.id === event.identityId);
  let shown = 0;
  for (const device of event.joined) {
    try {
      const result = await bridge.invoke('notifications/show', { title: 'New device linked', body: joinNoticeText(device, identity?.alias ?? 'this identity').slice(0, 500) });
      if (result.ok) shown++;
      else log.warn('device notice not shown', { code: result.error.code });
    } catch (err) {
      log.warn('device notice not shown', { reason: String(err) });
    }
  }
  return shown;
}
