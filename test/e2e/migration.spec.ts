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
 * Migration in one message (PROTOCOL-V1.md 2c): Alice moves her drop from one real drop server to
 * another. Her contact Bob is told with a contact update that asks for a receipt; until it comes he is
 * listed as not having confirmed the new address (and "Send again" sends it once more). Once he
 * confirms he leaves the list and the old drop is read only once a day, and his next message reaches
 * Alice through the new drop even with the old server stopped. The old drop is listed as retiring
 * meanwhile.
 */
test.describe.serial('moving to a new drop', () => {
  let first: DropServer;
  let second: DropServer;
  let alice: User;
  let bob: User;

  test.beforeAll(async ({ browser }) => {
    test.setTimeout(120_000);
    [first, second] = await Promise.all([startDropServer(), startDropServer()]);
    const [aliceHost, bobHost] = await Promise.all([startEngineHost('mig-alice'), startEngineHost('mig-bob')]);
    alice = await openUser(browser, 'mig-alice', aliceHost);
    bob = await openUser(browser, 'mig-bob', bobHost);
  });

  test.afterAll(() => closeAll([alice, bob], [first, second]));

  const dropRows = (page: Page) => page.getByTestId('drop-row');
  const unconfirmed = (page: Page) => page.getByTestId('unconfirmed-contact');

  test('Alice and Bob are contacts on the first server', async () => {
    await createIdentity(alice.page, 'Alice', first.url);
    await createIdentity(bob.page, 'Bob', first.url);
    await setFastPolling(alice.page);
    await setFastPolling(bob.page);
    // Alice's new drop will be on a second server at 127.0.0.1 that holds none of Bob's drops.
    await allowLocalNetworkServers(bob.page);

    await goTo(alice.page, 'Contacts');
    await alice.page.getByRole('button', { name: 'My contact card' }).click();
    const download = alice.page.waitForEvent('download', { timeout: 30_000 });
    await alice.page.getByRole('button', { name: 'Export .qco file' }).click();
    const qco = (await readFile((await (await download).path())!)).toString('utf8');
    await goTo(bob.page, 'Contacts');
    await bob.page.getByTestId('contact-file').setInputFiles({ name: 'contact-Alice.qco', mimeType: 'application/json', buffer: Buffer.from(qco) });
    await expect(bob.page.getByText('Alice was added to your contacts.')).toBeVisible();
    await bob.page.getByRole('button', { name: 'Open conversation' }).click();
    await sendText(bob.page, 'Hello from Bob.');

    await openConversationWith(alice.page, 'Bob');
    await alice.page.getByRole('button', { name: 'Accept' }).click();
    await expect(messages(bob.page).filter({ hasText: 'Hello from Bob.' })).toHaveAttribute('data-status', 'delivered', { timeout: 60_000 });
  });

  test('Alice moves her drop to the second server; Bob, away, is listed until he confirms', async () => {
    await bob.host.kill();
    const page = alice.page;
    await goTo(page, 'Settings');
    await expect(dropRows(page)).toHaveCount(1);
    await dropRows(page).getByRole('button', { name: /^Move the drop on .* to a new drop$/ }).click();
    const form = page.getByRole('form', { name: 'Move to a new drop' });
    await expect(form.getByRole('radio', { name: first.url })).toBeChecked();
    await form.getByRole('radio', { name: 'Another server' }).check();
    await form.getByLabel('Address of the other drop server').fill(second.url);
    await expectAccessible(page, 'move to a new drop');
    await form.getByRole('button', { name: 'Move and tell my contacts' }).click();

    await expect(page.getByTestId('move-progress')).toHaveText(/^Told 1 of 1 contact\./);
    await expect(dropRows(page)).toHaveCount(1);
    await expect(dropRows(page)).toContainText(second.url);
    const retiring = page.getByTestId('retiring-drop-row');
    await expect(retiring).toHaveCount(1);
    await expect(retiring).toContainText(first.url);
    await expect(retiring).toContainText('Retiring: still read until');
    await expect(unconfirmed(page)).toHaveCount(1);
    await expect(unconfirmed(page)).toContainText('Bob');
    await expect(page.getByRole('heading', { name: 'Contacts who have not confirmed your new address' })).toBeVisible();
    await screenshot(page, '41-drop-moved-unconfirmed');
    await expectAccessible(page, 'drops after a move');

    // Sending again asks once more; Bob is still listed until his app answers.
    await unconfirmed(page).getByRole('button', { name: 'Send Bob your address again' }).click();
    await expect(page.getByText('Your address was sent to Bob again.')).toBeVisible();
    await expect(unconfirmed(page)).toHaveCount(1);

    // The conversation says what changed.
    await openConversationWith(page, 'Bob');
    await expect(page.getByTestId('event-line').filter({ hasText: `You now also receive at ${new URL(second.url).host}` })).toHaveCount(1);

    // Bob comes back: his app applies the update and confirms; he leaves the list.
    await bob.host.restart();
    await goTo(page, 'Settings');
    await expect(unconfirmed(page)).toHaveCount(0, { timeout: 60_000 });
    // With nobody left to confirm, the UI tells the engine: the old drop is read once a day from now on.
    await expect(page.getByTestId('retiring-drop-row')).toContainText('(once a day)', { timeout: 30_000 });
    await openConversationWith(bob.page, 'Alice');
    await expect(bob.page.getByTestId('event-line').filter({ hasText: `Alice now also receives at ${new URL(second.url).host}` })).toHaveCount(1);
  });

  test('with the old server gone, Bob’s next message reaches Alice through the new drop; the old drop is still listed as retiring', async () => {
    await first.stop();
    await sendText(bob.page, 'Written after your move.');
    await openConversationWith(alice.page, 'Bob');
    await expect(messages(alice.page).filter({ hasText: 'Written after your move.' })).toHaveCount(1, { timeout: 60_000 });
    // (No receipt can come back: Bob's own drop was on the stopped server.)
    await expect(messages(bob.page).filter({ hasText: 'Written after your move.' })).toHaveAttribute('data-status', 'posted');

    // Alice's UI counts what each drop delivered: the message came through the new one.
    await goTo(alice.page, 'Settings');
    const received = alice.page.getByRole('table', { name: 'Messages received per drop' }).getByRole('row');
    await expect(received.filter({ hasText: `${second.url}/` }).getByRole('cell').last()).toHaveText(/^[1-9]\d*$/);
    await expect(alice.page.getByTestId('retiring-drop-row')).toContainText('Retiring: still read until');
    await expect(unconfirmed(alice.page)).toHaveCount(0);
  });
});
