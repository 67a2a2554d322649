import { useId } from 'react';
import { database } from '../db/database.js';
import { DesktopSettingsPanel } from '../desktop/DesktopSettingsPanel.js';
import { DevicesPanel } from '../devices/DevicesPanel.js';
import { DebugLogPanel } from './DebugLogPanel.js';
import { DropsPanel } from './DropsPanel.js';
import { EngineSettingsForm } from './EngineSettingsForm.js';
import { FilesSettingsPanel } from './FilesSettingsPanel.js';
import { LocalServerPanel } from './LocalServerPanel.js';
import { SecurityPanel } from './SecurityPanel.js';
import { ServerStatusPanel } from './ServerStatusPanel.js';
import { TrafficBudgetPanel } from './TrafficBudgetPanel.js';
import { tellSettings } from '../devices/syncSettings.js';
import { useCapability, useSession } from '../stores/sessionStore.js';
import { type NotificationPrivacy, type Theme, saveUiSettings, useUiSettings } from './uiSettings.js';

const themes: Array<{ value: Theme; label: string }> = [
  { value: 'system', label: 'Follow the system' },
  { value: 'light', label: 'Light' },
  { value: 'dark', label: 'Dark' },
];
const privacyChoices: Array<{ value: NotificationPrivacy; label: string }> = [
  { value: 'nameAndText', label: 'Name and message text' },
  { value: 'nameOnly', label: 'Name only' },
  { value: 'nothing', label: 'Nothing (just “New message”)' },
];

/** Appearance, notifications, start-up, network, files and server status. */
export function SettingsScreen() {
  const settings = useUiSettings();
  const id = useId();
  const bridge = useSession((s) => s.bridge);
  const desktopSettings = useCapability('desktopSettings');
  const save = (patch: Parameters<typeof saveUiSettings>[1]) => void saveUiSettings(database(), patch);

  return (
    <div className="page settings">
      <h1>Settings</h1>
      <div className="settings-grid">
        <section className="panel stack" aria-labelledby={`${id}-appearance`}>
          <h2 id={`${id}-appearance`}>Appearance and notifications</h2>
          <label htmlFor={`${id}-theme`}>Theme</label>
          <select id={`${id}-theme`} value={settings.theme} onChange={(e) => save({ theme: e.target.value as Theme })}>
            {themes.map((t) => (
              <option key={t.value} value={t.value}>
                {t.label}
              </option>
            ))}
          </select>
          {bridge && desktopSettings ? <DesktopSettingsPanel bridge={bridge} /> : <BrowserOnlySettings />}
        </section>
        <SecurityPanel />
        <section className="panel">
          <EngineSettingsForm />
        </section>
        <section className="panel">
          <FilesSettingsPanel />
        </section>
        <section className="panel wide-panel">
          <DropsPanel />
        </section>
        <section className="panel wide-panel">
          <DevicesPanel />
        </section>
        <section className="panel wide-panel">
          <ServerStatusPanel />
        </section>
        <section className="panel">
          <TrafficBudgetPanel />
        </section>
        <section className="panel">
          <LocalServerPanel />
        </section>
        <DebugLogPanel />
      </div>
    </div>
  );
}

/** Outside the desktop app there are no notifications or tray; the choices are kept for later. */
function BrowserOnlySettings() {
  const settings = useUiSettings();
  const id = useId();
  const save = (patch: Parameters<typeof saveUiSettings>[1]) =>
    void saveUiSettings(database(), patch).then(() => (patch.notificationPrivacy !== undefined ? tellSettings(database()) : undefined));
  return (
    <>
            <label htmlFor={`${id}-privacy`}>Notifications show</label>
            <select
              id={`${id}-privacy`}
              value={settings.notificationPrivacy}
              onChange={(e) => save({ notificationPrivacy: e.target.value as NotificationPrivacy })}
            >
              {privacyChoices.map((p) => (
                <option key={p.value} value={p.value}>
                  {p.label}
                </option>
              ))}
            </select>
            <label className="choice">
              <input type="checkbox" checked={settings.startMinimised} onChange={(e) => save({ startMinimised: e.target.checked })} />
              <span>Start minimised to the tray</span>
            </label>
      <p className="hint">Notifications and the tray exist only in the desktop app.</p>
    </>
  );
}
