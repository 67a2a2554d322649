import { readFile } from 'node:fs/promises';
import { type Page, expect, test } from '@playwright/test';
import {
  allowLocalNetworkServers,
  closeAll,
  createIdentity,
  expectAccessible,
  goTo,
  messages,
  openConversationWith,
  openUser,
  screenshot,
  sendText,
  setFastPolling,
  type User,
} from './support/appDriver.js';
import { type DropServer, startDropServer, startEngineHost } from './support/services.js';

/**
 * Drop management: Fay adds a drop on a second drop server, Gus takes her new card and writes while
 * the first server is down (so the message can only travel through the second drop), then Fay
 * stops using the first drop. Her last drop cannot be removed.
 */
test.describe.serial('managing the drops of an identity', () => {
  let first: DropServer;
  let second: DropServer;
  let fay: User;
  let gus: User;

  test.beforeAll(async ({ browser }) => {
    [first, second] = await Promise.all([startDropServer(), startDropServer()]);
    const [fayHost, gusHost] = await Promise.all([startEngineHost('fay'), startEngineHost('gus')]);
    fay = await openUser(browser, 'fay', fayHost);
    gus = await openUser(browser, 'gus', gusHost);
  });

  test.afterAll(() => closeAll([fay, gus], [first, second]));

  const dropRows = (page: Page) => page.getByTestId('drop-row');
  const dropRowOn = (page: Page, server: DropServer) => dropRows(page).filter({ has: page.getByText(server.url, { exact: true }) });

  test('a second drop on another server: checked address, listed with status, on the contact card', async () => {
    await createIdentity(fay.page, 'Fay', first.url);
    await createIdentity(gus.page, 'Gus', first.url);
    await setFastPolling(gus.page);
    await setFastPolling(fay.page);
    // Fay's second drop will be on another server at 127.0.0.1 that holds none of Gus's own drops: Gus
    // agrees to local-network servers, as someone writing to a friend's server on their LAN would.
    await allowLocalNetworkServers(gus.page);

    const page = fay.page;
    await expect(dropRows(page)).toHaveCount(1);
    await expect(dropRowOn(page, first)).toContainText('Reachable');
    const serverField = page.getByLabel('Drop server for the new drop');
    await serverField.fill('drop.example.org:port');
    await page.getByRole('button', { name: 'Add drop' }).click();
    await expect(page.getByRole('alert')).toContainText('starting with https://');
    await expect(serverField).toHaveAttribute('aria-invalid', 'true');
    await serverField.fill('ftp://drop.example.org');
    await page.getByRole('button', { name: 'Add drop' }).click();
    await expect(page.getByRole('alert')).toContainText('start the address with https://');
    await expect(dropRows(page)).toHaveCount(1);

    await serverField.fill(`${second.url}/`);
    await page.getByRole('button', { name: 'Add drop' }).click();
    await expect(dropRows(page)).toHaveCount(2);
    await expect(serverField).toHaveValue('');
    await expect(page.getByRole('alert')).toHaveCount(0);
    await expect(dropRowOn(page, second)).toContainText('Reachable');
    await screenshot(page, '20-settings-two-drops');
    await expectAccessible(page, 'settings with two drops');

    await goTo(page, 'Contacts');
    await page.getByRole('button', { name: 'My contact card' }).click();
    const onCard = page.getByRole('list', { name: 'Drops on this card' }).getByRole('listitem');
    await expect(onCard).toHaveCount(2);
    await expect(onCard.nth(0)).toContainText(first.url);
    await expect(onCard.nth(1)).toContainText(second.url);
    await expect(page.getByTestId('my-qr')).toBeVisible();
    const download = page.waitForEvent('download', { timeout: 30_000 });
    await page.getByRole('button', { name: 'Export .qco file' }).click();
    const qco = (await readFile((await (await download).path())!)).toString('utf8');
    expect(qco).toContain(`${first.url}/`);
    expect(qco).toContain(`${second.url}/`);

    await goTo(gus.page, 'Contacts');
    await gus.page.getByTestId('contact-file').setInputFiles({ name: 'contact-Fay.qco', mimeType: 'application/json', buffer: Buffer.from(qco) });
    await expect(gus.page.getByText('Fay was added to your contacts.')).toBeVisible();
  });

  test('with the first server down, a message reaches the second drop', async () => {
    await first.stop();
    await gus.page.getByRole('button', { name: 'Open conversation' }).click();
    await sendText(gus.page, 'Through the second drop.');
    await expect(messages(gus.page).filter({ hasText: 'Through the second drop.' })).toHaveAttribute('data-status', /posted|delivered/);

    await openConversationWith(fay.page, 'Gus');
    await expect(messages(fay.page).filter({ hasText: 'Through the second drop.' })).toHaveCount(1);
    await goTo(fay.page, 'Settings');
    await expect(dropRowOn(fay.page, first)).toContainText('Unreachable');
    const statusTable = fay.page.getByRole('table', { name: 'Status of each drop server' });
    await expect(statusTable.getByRole('row', { name: new RegExp(`^${first.url.replace(/[.]/g, '\\.')} No`) })).toBeVisible();
    // Fay's UI counts what each drop delivered: the message came through the second one only.
    const received = fay.page.getByRole('table', { name: 'Messages received per drop' }).getByRole('row');
    await expect(received.filter({ hasText: `${second.url}/` }).getByRole('cell').last()).toHaveText('1');
    await expect(received.filter({ hasText: `${first.url}/` })).toHaveCount(0);
    await expect(statusTable).toContainText('nothing answers at that address');
    await expect(statusTable).not.toContainText('ECONNREFUSED');
    await statusTable.scrollIntoViewIfNeeded();
    await screenshot(fay.page, '22-settings-server-down');

    // In Chats, a banner says which server is down and why, in words, and can try again at once.
    await goTo(fay.page, 'Chats');
    const banner = fay.page.getByTestId('server-banner');
    await expect(banner).toContainText(`Cannot reach your drop server ${new URL(first.url).host}`);
    await expect(banner).toContainText('the server may not be running');
    await expect(banner).not.toContainText('ECONNREFUSED');
    await banner.getByRole('button', { name: 'Retry now' }).click();
    await expect(banner.getByRole('button', { name: 'Retry now' })).toBeEnabled();
    await screenshot(fay.page, '22b-chats-server-down-banner');
    await expectAccessible(fay.page, 'chats with a server down');
    await goTo(fay.page, 'Settings');
  });

  test('removing a drop asks first and mentions the new contact card; the last drop stays', async () => {
    const page = fay.page;
    await dropRowOn(page, first).getByRole('button', { name: /^Remove the drop on/ }).click();
    const confirm = page.getByRole('group', { name: 'Remove this drop' });
    await expect(confirm).toContainText('new contact card');
    await expectAccessible(page, 'remove drop confirmation');
    // Keeping it (button or Escape) puts the focus back on the row's button.
    const removeFirst = dropRowOn(page, first).getByRole('button', { name: /^Remove the drop on/ });
    await confirm.getByRole('button', { name: 'Keep it' }).click();
    await expect(confirm).toHaveCount(0);
    await expect(removeFirst).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(confirm).toBeVisible();
    await page.keyboard.press('Escape');
    await expect(confirm).toHaveCount(0);
    await expect(removeFirst).toBeFocused();
    await expect(dropRows(page)).toHaveCount(2);

    await removeFirst.click();
    await confirm.getByRole('button', { name: 'Remove drop' }).click();
    await expect(dropRows(page)).toHaveCount(1);
    await expect(page.getByRole('heading', { name: 'Drops of Fay' })).toBeFocused();
    await expect(dropRowOn(page, second)).toHaveCount(1);
    await expect(page.getByText(/^Drop removed\./)).toBeVisible();

    await dropRowOn(page, second).getByRole('button', { name: /^Remove the drop on/ }).focus();
    await page.keyboard.press('Enter');
    await expect(confirm).toContainText('This is the only drop of Fay');
    await expect(confirm.getByRole('button', { name: 'Remove drop' })).toBeDisabled();
    await screenshot(page, '21-settings-last-drop');
    await page.getByLabel('Theme').selectOption('dark');
    await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
    await expectAccessible(page, 'dark settings, last drop');
    await expect(dropRows(page)).toHaveCount(1);

    await goTo(page, 'Contacts');
    await page.getByRole('button', { name: 'My contact card' }).click();
    const onCard = page.getByRole('list', { name: 'Drops on this card' }).getByRole('listitem');
    await expect(onCard).toHaveCount(1);
    await expect(onCard).toContainText(second.url);
  });
});
