/**
 * Message history at rest: with the profile locked, nothing a person wrote or is called can be read
 * from the browser profile's IndexedDB files. Real Chromium with a profile on disk, the real engine
 * (locked with a passphrase) and a real drop server.
 */
import { readdir, readFile, rm, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, expect, test } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../playwright.config.js';
import { allowLocalNetworkServers, choosePassphrase, createIdentity, goTo, messages, sendText } from './support/appDriver.js';
import { startDropServer, startEngineHost, type DropServer, type EngineHost } from './support/services.js';

const SECRET_TEXT = 'zebra quantum 7331 meet at the old mill';
const SECRET_ALIAS = 'Bobby Uniquename';
const PASSPHRASE = 'correct horse battery staple';

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** Whether any file of the IndexedDB folders holds `text` as Latin-1/UTF-8 or UTF-16LE bytes (V8 stores strings either way). */
async function indexedDbHolds(profile: string, text: string): Promise<boolean> {
  const needles = [Buffer.from(text, 'latin1'), Buffer.from(text, 'utf16le')];
  for (const file of (await filesUnder(profile)).filter((f) => f.includes('IndexedDB'))) {
    const bytes = await readFile(file);
    if (needles.some((needle) => bytes.includes(needle))) return true;
  }
  return false;
}

test.describe('message history at rest', () => {
  let server: DropServer;
  let host: EngineHost;
  let profile: string;

  test.beforeAll(async () => {
    server = await startDropServer();
    host = await startEngineHost('at-rest', { locked: true });
    profile = await mkdtemp(join(tmpdir(), 'deaddrop-profile-'));
  });
  test.afterAll(async () => {
    await host?.stop();
    await server?.stop();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  test('a locked profile keeps no message text, name or preview readable in its IndexedDB files', async () => {
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(host.appUrl);
    await choosePassphrase(page, PASSPHRASE);
    await createIdentity(page, 'Alice', server.url);
    await allowLocalNetworkServers(page);

    const bobKey = 'b'.repeat(63) + '1';
    await goTo(page, 'Contacts');
    await page.getByTestId('contact-paste').fill(['QABELCONTACT', SECRET_ALIAS, `${server.url}/${'B'.repeat(43)}`, bobKey].join('\n'));
    await page.getByRole('button', { name: 'Add contact' }).click();
    await page.getByRole('button', { name: 'Open conversation' }).click();
    await sendText(page, SECRET_TEXT);
    await expect(messages(page).filter({ hasText: SECRET_TEXT })).toHaveAttribute('data-status', /posted|delivered/);
    await context.close();

    // The control: the clear fields are there to be found, so the search below could find text.
    expect(await indexedDbHolds(profile, bobKey)).toBe(true);
    for (const secret of [SECRET_TEXT, 'zebra quantum', SECRET_ALIAS, 'Uniquename']) {
      expect(await indexedDbHolds(profile, secret), secret).toBe(false);
    }

    // And the same profile, with the engine started anew (locked) and unlocked again, shows everything.
    await host.restart();
    const again = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
    const reopened = again.pages()[0] ?? (await again.newPage());
    await reopened.goto(host.appUrl);
    await reopened.getByLabel('Passphrase').fill('not the passphrase');
    await reopened.getByRole('button', { name: /Unlock/ }).click();
    await expect(reopened.getByText('Wrong passphrase. Try again.')).toBeVisible();
    await reopened.getByLabel('Passphrase').fill(PASSPHRASE);
    await reopened.getByRole('button', { name: /Unlock/ }).click();
    await reopened.getByTestId('conversation-item').filter({ hasText: SECRET_ALIAS }).click();
    await expect(messages(reopened).filter({ hasText: SECRET_TEXT })).toHaveCount(1);
    await again.close();
  });
});
