/**
 * For the renderer's tests only: a fresh sealed database per test (real IndexedDB), and a way to
 * close and delete every one of them afterwards.
 *
 *   let db: DeaddropDatabase;
 *   beforeEach(async () => (db = await openTestDatabase('inbox')));
 *   afterEach(deleteTestDatabases);
 */
import { DeaddropDatabase } from './database.js';
import { setDatabaseKey } from './sealing.js';

const opened: DeaddropDatabase[] = [];
const TEST_KEY = btoa(String.fromCharCode(...new Uint8Array(32).fill(11)));

export async function openTestDatabase(prefix: string): Promise<DeaddropDatabase> {
  await setDatabaseKey(TEST_KEY);
  const db = new DeaddropDatabase(`${prefix}-test-${crypto.randomUUID()}`);
  opened.push(db);
  return db;
}

export async function deleteTestDatabases(): Promise<void> {
  for (const db of opened.splice(0)) {
    db.close();
    await DeaddropDatabase.delete(db.name);
  }
}
