import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeaddropDatabase } from '../db/database.js';
import { deleteTestDatabases, openTestDatabase } from '../db/testDatabase.js';
import { defaultFileSettings, loadFileSettings, saveFileSettings } from './fileSettings.js';

let db: DeaddropDatabase;
beforeEach(async () => (db = await openTestDatabase('file-settings')));
afterEach(deleteTestDatabases);

describe('file settings', () => {
  it('download images up to 5 MB by default; a saved limit is kept, 0 among them', async () => {
    expect(await loadFileSettings(db)).toEqual(defaultFileSettings);
    expect(defaultFileSettings.autoDownloadImagesMb).toBe(5);
    await saveFileSettings(db, { autoDownloadImagesMb: 0 });
    expect(await loadFileSettings(db)).toEqual({ autoDownloadImagesMb: 0 });
    await saveFileSettings(db, { autoDownloadImagesMb: 12.5 });
    expect((await loadFileSettings(db)).autoDownloadImagesMb).toBe(12.5);
  });

  it('a stored value that is no usable limit reads as the default', async () => {
    for (const value of [-1, 101, Number.NaN, '7', null]) {
      await db.settings.put({ key: 'files', value: { autoDownloadImagesMb: value } });
      expect((await loadFileSettings(db)).autoDownloadImagesMb).toBe(5);
    }
    await db.settings.put({ key: 'files', value: 'garbage' });
    expect(await loadFileSettings(db)).toEqual(defaultFileSettings);
  });
});
