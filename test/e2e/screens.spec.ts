import { readFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import {
  choosePassphrase,
  closeAll,
  createIdentity,
  expectAccessible,
  goTo,
  messages,
  openUser,
  screenshot,
  setFastPolling,
  type User,
} from './support/appDriver.js';
import { type DropServer, startDropServer, startEngineHost } from './support/services.js';

/**
 * Passphrase unlock, identity backups, several identities, pasting a contact, multi-line messages,
 * search and the dark theme. Dana's engine keeps its keys under a passphrase; Dana's backup is
 * restored on a second engine, which also holds a second identity, Eli.
 */
test.describe.serial('identities, unlock, search and theme', () => {
  let server: DropServer;
  let dana: User;
  let second: User;
  let backup = '';

  test.beforeAll(async ({ browser }) => {
    server = await startDropServer();
    const [lockedHost, otherHost] = await Promise.all([startEngineHost('dana', { locked: true }), startEngineHost('second')]);
    dana = await openUser(browser, 'dana', lockedHost);
    second = await openUser(browser, 'second', otherHost);
  });

  test.afterAll(() => closeAll([dana, second], [server]));

  test('a locked engine asks for the passphrase; a wrong one is refused with a message', async () => {
    const page = dana.page;
    // The first run chooses the passphrase (test/e2e/passphrase.spec.ts tests that step); later runs ask for it.
    await choosePassphrase(page, 'correct horse battery staple');
    await createIdentity(page, 'Dana', server.url);

    await dana.host.restart();
    await expect(page.getByRole('heading', { name: 'Unlock Deaddrop' })).toBeVisible();
    await screenshot(page, '13-unlock');
    await expectAccessible(page, 'unlock');
    await page.getByLabel('Passphrase').fill('wrong passphrase');
    await page.getByRole('button', { name: 'Unlock' }).click();
    await expect(page.getByRole('alert')).toBeVisible();
    await page.getByLabel('Passphrase').fill('correct horse battery staple');
    await page.getByRole('button', { name: 'Unlock' }).click();
    await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();
    await setFastPolling(page);
  });

  test('an encrypted backup restores the identity on another engine, beside a second identity', async () => {
    await goTo(dana.page, 'Identities');
    await dana.page.getByRole('button', { name: 'Export backup' }).click();
    await dana.page.getByLabel('Backup passphrase').fill('backup passphrase 1');
    await dana.page.getByLabel('Repeat passphrase').fill('backup passphrase 1');
    const download = dana.page.waitForEvent('download', { timeout: 30_000 });
    await dana.page.getByRole('button', { name: 'Save backup file' }).click();
    backup = (await readFile((await (await download).path())!)).toString('utf8');
    expect(backup.length).toBeGreaterThan(0);

    const page = second.page;
    await page.getByRole('button', { name: 'Import a backup' }).click();
    await page.getByLabel('Backup file').setInputFiles({ name: 'dana.ddbackup', mimeType: 'application/json', buffer: Buffer.from(backup) });
    await page.getByLabel('Backup passphrase').fill('not the passphrase');
    await page.getByRole('button', { name: 'Restore backup' }).click();
    await expect(page.getByRole('alert')).toBeVisible();
    await page.getByLabel('Backup passphrase').fill('backup passphrase 1');
    await page.getByRole('button', { name: 'Restore backup' }).click();
    await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();
    await expect(page.getByLabel('Active identity')).toHaveText(/Dana/);

    await goTo(page, 'Identities');
    await page.getByRole('button', { name: 'New identity' }).click();
    await page.getByLabel('Your name, as contacts will see it').fill('Eli');
    await page.getByLabel('Drop server').fill(server.url);
    await page.getByRole('button', { name: 'Create identity' }).click();
    await expect(page.getByRole('combobox', { name: 'Active identity' })).toHaveValue(/.+/);
    await expect(page.locator('#identity-switcher option')).toHaveText(['Dana', 'Eli']);
    await expect(page.locator('#identity-switcher option:checked')).toHaveText('Eli');
    await screenshot(page, '14-identities-two');
    await setFastPolling(page);
  });

  test('pasting a contact, Shift+Enter for a new line, and search over names and message text', async () => {
    // Eli's card, pasted into Dana's "add contact" field.
    await goTo(second.page, 'Contacts');
    await second.page.getByRole('button', { name: 'My contact card' }).click();
    const download = second.page.waitForEvent('download', { timeout: 30_000 });
    await second.page.getByRole('button', { name: 'Export .qco file' }).click();
    const eliCard = (await readFile((await (await download).path())!)).toString('utf8');

    await goTo(dana.page, 'Contacts');
    await dana.page.getByTestId('contact-paste').fill(eliCard);
    await dana.page.getByRole('button', { name: 'Add contact', exact: true }).click();
    await expect(dana.page.getByText('Eli was added to your contacts.')).toBeVisible();
    await dana.page.getByRole('button', { name: 'Open conversation' }).click();
    const input = dana.page.getByTestId('composer-input');
    await input.fill('alpha bravo');
    await input.press('Shift+Enter');
    await input.pressSequentially('charlie');
    await expect(input).toHaveValue('alpha bravo\ncharlie');
    await input.press('Enter');
    await expect(input).toHaveValue('');

    const page = second.page;
    await goTo(page, 'Chats');
    const item = page.getByTestId('conversation-item').filter({ hasText: 'Dana' });
    await expect(item).toContainText('Request');
    await expect(item.getByLabel('1 unread')).toBeVisible();
    await page.getByLabel('Search contacts and messages').fill('bravo');
    await expect(page.getByTestId('conversation-item')).toHaveCount(1);
    await page.getByLabel('Search contacts and messages').fill('zulu');
    await expect(page.getByTestId('conversation-item')).toHaveCount(0);
    await expect(page.getByText('Nothing matches your search.')).toBeVisible();
    await page.getByLabel('Search contacts and messages').fill('');
    await item.click();
    await expect(messages(page).getByTestId('message-text')).toHaveText('alpha bravo\ncharlie');
    await expect(item.getByLabel('1 unread')).toHaveCount(0);

    // The other identity has its own, empty, conversation list.
    await page.getByLabel('Active identity').selectOption({ label: 'Dana' });
    await expect(page.getByTestId('conversation-item')).toHaveCount(0);
    await page.getByLabel('Active identity').selectOption({ label: 'Eli' });
    await expect(page.getByTestId('conversation-item')).toHaveCount(1);
  });

  test('dark theme: every main screen stays accessible', async () => {
    const page = second.page;
    await goTo(page, 'Settings');
    await page.getByLabel('Theme').selectOption('dark');
    await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
    await screenshot(page, '15-dark-settings');
    await expectAccessible(page, 'dark settings');
    await goTo(page, 'Chats');
    await page.getByTestId('conversation-item').first().click();
    await expect(page.getByRole('region', { name: 'Contact request' })).toBeVisible();
    await screenshot(page, '16-dark-chat');
    await expectAccessible(page, 'dark chat');
    await goTo(page, 'Contacts');
    await screenshot(page, '17-dark-contacts');
    await expectAccessible(page, 'dark contacts');
  });

  test('keyboard only: Tab reaches navigation, search, conversations and the composer', async () => {
    const page = second.page;
    await goTo(page, 'Chats');
    await page.getByTestId('conversation-item').first().click();
    await page.getByRole('button', { name: 'Accept' }).click();
    // The composer replaces the request once the contact is stored as accepted: tabbing before that
    // would never reach it.
    await expect(page.getByTestId('composer-input')).toBeVisible();
    // Start from the top of the document, as after opening the window.
    await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { blur(): void } | null } }).document.activeElement?.blur());
    const reached = new Set<string>();
    for (let i = 0; i < 30; i++) {
      await page.keyboard.press('Tab');
      reached.add(
        await page.evaluate(() => {
          const el = (globalThis as unknown as { document: { activeElement: { getAttribute(n: string): string | null; textContent: string | null; id: string } | null } })
            .document.activeElement;
          if (!el) return '';
          if (el.getAttribute('data-testid') === 'composer-input') return 'composer';
          if (el.getAttribute('data-testid') === 'conversation-item') return 'conversation';
          if (el.id === 'conversation-search') return 'search';
          return (el.textContent ?? '').trim().split(/\s/)[0] ?? '';
        }),
      );
    }
    expect([...reached]).toEqual(expect.arrayContaining(['Chats', 'Contacts', 'Identities', 'Settings', 'search', 'conversation', 'composer']));
    await page.getByTestId('composer-input').focus();
    await page.keyboard.type('sent from the keyboard');
    await page.keyboard.press('Enter');
    await expect(page.getByTestId('message').filter({ hasText: 'sent from the keyboard' })).toHaveCount(1);
  });

  test('deleting an identity removes it; the other identity keeps its conversations', async () => {
    const page = second.page;
    await goTo(page, 'Identities');
    const danaRow = page.getByRole('listitem').filter({ hasText: 'Dana' });
    await danaRow.getByRole('button', { name: 'Delete…' }).click();
    await expectAccessible(page, 'delete identity');
    await danaRow.getByRole('button', { name: 'Delete Dana' }).click();
    await expect(page.getByText('Dana was deleted.')).toBeVisible();
    await expect(page.locator('#identity-switcher option')).toHaveText(['Eli']);
    await goTo(page, 'Chats');
    await expect(page.getByTestId('conversation-item')).toHaveCount(1);
  });
});
