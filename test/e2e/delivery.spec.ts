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
 * Delivery with copies (k of n, PROTOCOL-V1.md 2c) as the sender sees it: Kim reads drops on two
 * servers, Lev writes to her. While Kim's app is off, Lev's messages say how many servers took them
 * ("Posted to 2 of 2 servers"; "1 of 2" with one server down); once Kim is back each arrives once and
 * turns "Delivered". With one copy per message (the setting) a message reads "Sent".
 */
test.describe.serial('delivery with copies', () => {
  let first: DropServer;
  let second: DropServer;
  let kim: User;
  let lev: User;

  test.beforeAll(async ({ browser }) => {
    test.setTimeout(120_000);
    [first, second] = await Promise.all([startDropServer(), startDropServer()]);
    const [kimHost, levHost] = await Promise.all([startEngineHost('kim'), startEngineHost('lev')]);
    kim = await openUser(browser, 'kim', kimHost);
    lev = await openUser(browser, 'lev', levHost);
  });

  test.afterAll(() => closeAll([kim, lev], [first, second]));

  const status = (page: Page, text: string) => messages(page).filter({ hasText: text }).getByTestId('message-status');

  test('Kim has drops on two servers; Lev takes her card; the copies setting defaults to 2', async () => {
    await createIdentity(kim.page, 'Kim', first.url);
    await createIdentity(lev.page, 'Lev', first.url);
    await setFastPolling(kim.page);
    await setFastPolling(lev.page);
    // Kim's second server holds none of Lev's drops: Lev agrees to local-network servers.
    await allowLocalNetworkServers(lev.page);
    await goTo(kim.page, 'Settings');
    await kim.page.getByLabel('Drop server for the new drop').fill(second.url);
    await kim.page.getByRole('button', { name: 'Add drop' }).click();
    await expect(kim.page.getByTestId('drop-row')).toHaveCount(2);

    await goTo(kim.page, 'Contacts');
    await kim.page.getByRole('button', { name: 'My contact card' }).click();
    await expect(kim.page.getByRole('list', { name: 'Drops on this card' }).getByRole('listitem')).toHaveCount(2);
    const download = kim.page.waitForEvent('download', { timeout: 30_000 });
    await kim.page.getByRole('button', { name: 'Export .qco file' }).click();
    const qco = (await readFile((await (await download).path())!)).toString('utf8');
    await goTo(lev.page, 'Contacts');
    await lev.page.getByTestId('contact-file').setInputFiles({ name: 'contact-Kim.qco', mimeType: 'application/json', buffer: Buffer.from(qco) });
    await expect(lev.page.getByText('Kim was added to your contacts.')).toBeVisible();

    await goTo(lev.page, 'Settings');
    const copies = lev.page.getByLabel('Copies per message');
    await expect(copies).toHaveValue('2');
    await expect(lev.page.getByText('more copies survive more servers failing, each costs one more upload')).toBeVisible();
  });

  test('with Kim away, each message says how many servers took it; back online, each arrives once and turns Delivered', async () => {
    await kim.host.kill();
    // No conversation yet: Lev starts it from the contact.
    await goTo(lev.page, 'Contacts');
    await lev.page.getByTestId('contact-item').filter({ hasText: 'Kim' }).click();
    await lev.page.getByRole('button', { name: 'Open conversation' }).click();
    await sendText(lev.page, 'Two servers, two copies.');
    await expect(status(lev.page, 'Two servers, two copies.')).toHaveText(/Posted to 2 of 2 servers/, { timeout: 30_000 });

    // The second server goes down: one copy lands, the other keeps waiting for its server.
    await second.stop();
    await sendText(lev.page, 'One server down.');
    await expect(status(lev.page, 'One server down.')).toHaveText(/Posted to 1 of 2 servers/, { timeout: 30_000 });
    await screenshot(lev.page, '40-posted-copies');
    await expectAccessible(lev.page, 'chat with copies');

    await kim.host.restart();
    await openConversationWith(kim.page, 'Lev');
    await expect(messages(kim.page).filter({ hasText: 'Two servers, two copies.' })).toHaveCount(1);
    await expect(messages(kim.page).filter({ hasText: 'One server down.' })).toHaveCount(1);
    // Receipts go to contacts only: Kim accepts Lev's request, which answers the receipts held for him.
    await kim.page.getByRole('button', { name: 'Accept' }).click();
    await expect(status(lev.page, 'Two servers, two copies.')).toHaveText(/Delivered/, { timeout: 60_000 });
    await expect(status(lev.page, 'One server down.')).toHaveText(/Delivered/, { timeout: 60_000 });
    await expect(kim.page.getByTestId('message-list')).toHaveAttribute('data-count', '2');
  });

  test('one copy per message: a message reads "Sent", then "Delivered"', async () => {
    await goTo(lev.page, 'Settings');
    await lev.page.getByLabel('Copies per message').selectOption('1');
    await lev.page.getByRole('button', { name: 'Save network settings' }).click();
    await expect(lev.page.getByText('Network settings saved.').last()).toBeVisible();
    await lev.page.reload();
    await goTo(lev.page, 'Settings');
    await expect(lev.page.getByLabel('Copies per message')).toHaveValue('1');

    await openConversationWith(lev.page, 'Kim');
    await sendText(lev.page, 'Just one copy.');
    await expect(status(lev.page, 'Just one copy.')).toHaveText(/Sent|Delivered/, { timeout: 30_000 });
    await expect(status(lev.page, 'Just one copy.')).not.toHaveText(/of 2 servers/);
    await expect(messages(kim.page).filter({ hasText: 'Just one copy.' })).toHaveCount(1);
    await expect(status(lev.page, 'Just one copy.')).toHaveText(/Delivered/, { timeout: 60_000 });
  });
});
