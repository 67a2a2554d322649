import { useEffect, useId, useState } from 'react';
import type { DesktopSettings, NotificationPreview, UiSettableSettings } from '../../../shared/ipc/contract.js';
import type { EngineBridge } from '../bridge/transport.js';
import { ErrorText } from '../components/ErrorText.js';
import { database } from '../db/database.js';
import { tellSettings } from '../devices/syncSettings.js';

const previews: Array<{ value: NotificationPreview; label: string }> = [
  { value: 'nameAndText', label: 'Name and message text' },
  { value: 'nameOnly', label: 'Name only' },
  { value: 'nothing', label: 'Nothing (just “New message”)' },
];

/** Notification privacy, tray and start-up: settings the desktop shell keeps (capability `desktopSettings`). */
export function DesktopSettingsPanel({ bridge }: { bridge: EngineBridge }) {
  const id = useId();
  const [settings, setSettings] = useState<DesktopSettings | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    void bridge.invoke('desktop/getSettings', {}).then((r) => (r.ok ? setSettings(r.value) : setError(r.error.message)));
  }, [bridge]);

  const save = async (patch: UiSettableSettings) => {
    const result = await bridge.invoke('desktop/setSettings', patch);
    if (result.ok) setSettings(result.value);
    else setError(result.error.message);
    // What a notification shows follows the user to the identity's other devices.
    if (result.ok && patch.notificationPreview !== undefined) void tellSettings(database());
  };

  if (!settings) return error ? <p className="error-text">{error}</p> : null;
  const toggle = (key: 'startMinimised' | 'closeToTray' | 'startAtLogin', label: string) => (
    <label className="choice">
      <input type="checkbox" checked={settings[key]} onChange={(e) => void save({ [key]: e.target.checked })} />
      <span>{label}</span>
    </label>
  );
  return (
    <>
      <label htmlFor={`${id}-preview`}>Notifications show</label>
      <select
        id={`${id}-preview`}
        value={settings.notificationPreview}
        onChange={(e) => void save({ notificationPreview: e.target.value as NotificationPreview })}
      >
        {previews.map((p) => (
          <option key={p.value} value={p.value}>
            {p.label}
          </option>
        ))}
      </select>
      {toggle('startMinimised', 'Start minimised to the tray')}
      {toggle('closeToTray', 'Keep running in the tray when the window is closed')}
      {toggle('startAtLogin', 'Start Deaddrop when I log in')}
      <ErrorText message={error} />
    </>
  );
}
