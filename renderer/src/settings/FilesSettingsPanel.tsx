import { type FormEvent, useEffect, useId, useState } from 'react';
import { ErrorText } from '../components/ErrorText.js';
import { database } from '../db/database.js';
import { MAX_AUTO_DOWNLOAD_MB, saveFileSettings, useFileSettings } from '../files/fileSettings.js';
import { useUi } from '../stores/uiStore.js';
import { tellSettings } from '../devices/syncSettings.js';

/** Settings → Files: how large an image from a contact may be to be downloaded and shown by itself. */
export function FilesSettingsPanel() {
  const id = useId();
  const settings = useFileSettings();
  const [limit, setLimit] = useState('');
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (settings) setLimit(String(settings.autoDownloadImagesMb));
  }, [settings]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const mb = Number(limit);
    if (limit.trim() === '' || !Number.isFinite(mb) || mb < 0 || mb > MAX_AUTO_DOWNLOAD_MB) {
      setError(`Give a number of MB from 0 to ${MAX_AUTO_DOWNLOAD_MB}.`);
      return;
    }
    setError(null);
    await saveFileSettings(database(), { autoDownloadImagesMb: mb });
    void tellSettings(database());
    useUi.getState().notify('info', 'File settings saved.');
  };

  return (
    <form className="stack" onSubmit={(e) => void submit(e)} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Files</h2>
      <label htmlFor={`${id}-limit`}>Download images automatically up to (MB)</label>
      <input
        id={`${id}-limit`}
        type="number"
        inputMode="decimal"
        min={0}
        max={MAX_AUTO_DOWNLOAD_MB}
        step="any"
        value={limit}
        disabled={settings === null}
        onChange={(e) => setLimit(e.target.value)}
        aria-describedby={`${id}-hint`}
      />
      <p className="hint" id={`${id}-hint`}>
        PNG, JPEG, GIF and WebP images from accepted contacts are fetched and shown in the chat when they are no larger than this. 0: never;
        every file then waits for Download. Requests from strangers never download anything.
      </p>
      <ErrorText message={error} />
      <button type="submit">Save file settings</button>
    </form>
  );
}
