/**
 * Telling the user what is happening: the drop server is checked before an identity is created on
 * it, a message that cannot go out says why (a full drop) with "Retry now", delivery receipts can
 * be turned off (the sender then never sees "Delivered"), and a stranger's hostile alias stays text.
 */
import { readFile } from 'node:fs/promises';
import { type Locator, type Page, expect, test } from '@playwright/test';
import { Agent } from 'undici';
import { DropClient } from '../../electron/core/net/dropClient.js';
import { generateNativeKeyPair } from '../../electron/core/state/nativeKeyPair.js';
import { parseQco } from '../../shared/protocol/contacts.js';
import { craftPdu } from '../engine/helpers/craft.js';
import {
  allowLocalNetworkServers,
  closeAll,
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
 * The screen in both themes at the desktop size and at the small one, named `60-<name>-<size>-<theme>`,
 * with `focus` (when given) scrolled to the middle, clear of the notices at the bottom.
 */
async function screenshots(page: Page, name: string, focus?: Locator) {
  for (const [width, height] of [
    [1280, 800],
    [800, 600],
  ] as const) {
    await page.setViewportSize({ width, height });
    await focus?.evaluate((element) => element.scrollIntoView({ block: 'center' }));
    for (const colorScheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme });
      await screenshot(page, `60-${name}-${width}x${height}-${colorScheme}`);
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 1280, height: 800 });
}

async function exportCard(user: User): Promise<Buffer> {
  await goTo(user.page, 'Contacts');
  await user.page.getByRole('button', { name: 'My contact card' }).click();
  const download = user.page.waitForEvent('download');
  await user.page.getByRole('button', { name: 'Export .qco file' }).click();
  return readFile((await (await download).path())!);
}

async function importCard(user: User, name: string, qco: Buffer) {
  await goTo(user.page, 'Contacts');
  await user.page.getByRole('button', { name: 'New contact' }).click();
  await user.page.getByTestId('contact-file').setInputFiles({ name: `contact-${name}.qco`, mimeType: 'application/json', buffer: qco });
  await expect(user.page.getByText(`${name} was added to your contacts.`)).toBeVisible();
}

test.describe.serial('telling the user what is happening', () => {
  let server: DropServer;
  /** Takes one message per drop: the second is refused with 507. */
  let fullServer: DropServer;
  let alice: User;
  let bob: User;

  test.beforeAll(async ({ browser }) => {
    [server, fullServer] = await Promise.all([startDropServer(), startDropServer(['--drop-max-messages', '1'])]);
    const [aliceHost, bobHost] = await Promise.all([startEngineHost('alice-feedback'), startEngineHost('bob-feedback')]);
    alice = await openUser(browser, 'alice', aliceHost);
    bob = await openUser(browser, 'bob', bobHost);
  });
  test.afterAll(() => closeAll([alice, bob], [server, fullServer]));

  test('creating an identity checks the server first; the user corrects the address or goes on', async () => {
    const page = alice.page;
    const gone = await startDropServer();
    const goneAddress = new URL(gone.url).host;
    await gone.stop();

    await page.getByLabel('Your name, as contacts will see it').fill('Alice');
    const serverField = page.getByLabel('Drop server');
    await serverField.fill(goneAddress);
    await page.getByRole('button', { name: 'Create identity' }).click();
    // Typed without a scheme: http:// for this computer.
    await expect(serverField).toHaveValue(`http://${goneAddress}`);
    const doubt = page.getByTestId('server-doubt');
    await expect(doubt).toContainText(`No drop server answered at ${goneAddress}. Nothing answers at that address: the server may not be running.`);
    await expect(doubt).not.toContainText('ECONNREFUSED');
    await expect(serverField).toHaveAttribute('aria-invalid', 'true');
    await expect(doubt.getByRole('button', { name: 'Create anyway' })).toBeVisible();
    await expectAccessible(page, 'server check failed');
    await screenshots(page, 'create-identity-server-check');

    await doubt.getByRole('button', { name: 'Correct the address' }).click();
    await expect(serverField).toBeFocused();
    await expect(doubt).toHaveCount(0);
    await serverField.fill(new URL(server.url).host);
    await page.getByRole('button', { name: 'Create identity' }).click();
    await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();

    // Bob goes on with a server that is not up yet: the identity is created all the same.
    await bob.page.getByLabel('Your name, as contacts will see it').fill('Bob');
    await bob.page.getByLabel('Drop server').fill(`http://${goneAddress}`);
    await bob.page.getByRole('button', { name: 'Create identity' }).click();
    await bob.page.getByTestId('server-doubt').getByRole('button', { name: 'Create anyway' }).click();
    await expect(bob.page.getByRole('navigation', { name: 'Main' })).toBeVisible();
  });

  test('a message to a full drop says so, when it is tried next, and offers Retry now', async () => {
    const page = alice.page;
    await setFastPolling(page);
    // The full drop is on another server at 127.0.0.1: a friend's server on the LAN, as it were.
    await allowLocalNetworkServers(page);
    await goTo(page, 'Contacts');
    const fullKey = Buffer.from(generateNativeKeyPair().publicKey).toString('hex');
    await page.getByTestId('contact-paste').fill(['QABELCONTACT', 'Fiona', `${fullServer.url}/${'F'.repeat(43)}`, fullKey].join('\n'));
    await page.getByRole('button', { name: 'Add contact' }).click();
    await expect(page.getByText('Fiona was added to your contacts.')).toBeVisible();
    await page.getByRole('button', { name: 'Open conversation' }).click();

    await sendText(page, 'This one fills her drop.');
    await expect(messages(page).filter({ hasText: 'This one fills her drop.' })).toHaveAttribute('data-status', 'posted');
    await sendText(page, 'This one waits for room.');
    const waiting = messages(page).filter({ hasText: 'This one waits for room.' });
    await expect(waiting).toHaveAttribute('data-status', 'sending');
    const status = waiting.getByTestId('sending-status');
    await expect(status).toContainText('The recipient’s drop is full.');
    await expect(status).toContainText(/Next try in \d+ s\.|Trying again now…/);
    await status.getByRole('button', { name: 'Retry now' }).click();
    // Tried at once, and still honest: the drop is still full.
    await expect(status).toContainText('The recipient’s drop is full.');
    await expect(status).toContainText(/Next try in \d+ s\./);
    await expect(waiting).toHaveAttribute('data-status', 'sending');
    await expectAccessible(page, 'message waiting for a full drop');
    await screenshots(page, 'sending-reason-retry-now');

    // A window opened since asks the engine why.
    await page.reload();
    await openConversationWith(page, 'Fiona');
    await expect(messages(page).filter({ hasText: 'This one waits for room.' }).getByTestId('sending-status')).toContainText('drop is full');
    await messages(page).filter({ hasText: 'This one waits for room.' }).getByRole('button', { name: 'Cancel sending' }).click();
    await expect(messages(page).filter({ hasText: 'This one waits for room.' })).toHaveAttribute('data-status', 'cancelled');
  });

  test('while delivery receipts are off, the sender does not see "Delivered"; on again, it does', async () => {
    // Bob moves to a drop on the running server, then the two exchange cards.
    await goTo(bob.page, 'Settings');
    await bob.page.getByLabel('Drop server for the new drop').fill(server.url);
    await bob.page.getByRole('button', { name: 'Add drop' }).click();
    await expect(bob.page.getByTestId('drop-row')).toHaveCount(2);
    await bob.page.getByTestId('drop-row').first().getByRole('button', { name: /^Remove the drop on/ }).click();
    await bob.page.getByRole('group', { name: 'Remove this drop' }).getByRole('button', { name: 'Remove drop' }).click();
    await expect(bob.page.getByTestId('drop-row')).toHaveCount(1);
    await setFastPolling(bob.page);
    await importCard(bob, 'Alice', await exportCard(alice));
    await importCard(alice, 'Bob', await exportCard(bob));

    await goTo(alice.page, 'Settings');
    const receipts = alice.page.getByLabel('Send delivery receipts');
    await expect(receipts).toBeChecked();
    await receipts.uncheck();
    await alice.page.getByRole('button', { name: 'Save network settings' }).click();
    await expect(alice.page.getByText('Network settings saved.').last()).toBeVisible();
    await expectAccessible(alice.page, 'settings with receipts off');
    await screenshots(alice.page, 'settings-receipts-off', receipts);

    await goTo(bob.page, 'Contacts');
    await bob.page.getByTestId('contact-item').filter({ hasText: 'Alice' }).click();
    await bob.page.getByRole('button', { name: 'Open conversation' }).click();
    await sendText(bob.page, 'Did this reach you?');
    await openConversationWith(alice.page, 'Bob');
    await expect(messages(alice.page).filter({ hasText: 'Did this reach you?' })).toHaveCount(1);
    await sendText(bob.page, 'Still there?');
    await expect(messages(alice.page).filter({ hasText: 'Still there?' })).toHaveCount(1);
    // Alice's app has sent nothing since: no receipt, and no automatic PING either (its acknowledgement
    // vector would say the same), so Bob's app cannot know that either message arrived.
    await expect(messages(bob.page).filter({ hasText: 'Did this reach you?' })).toHaveAttribute('data-status', 'posted');
    await expect(messages(bob.page).filter({ hasText: 'Still there?' })).toHaveAttribute('data-status', 'posted');

    await goTo(alice.page, 'Settings');
    await receipts.check();
    await alice.page.getByRole('button', { name: 'Save network settings' }).click();
    await expect(alice.page.getByText('Network settings saved.').last()).toBeVisible();
    await sendText(bob.page, 'And this one?');
    // The third is answered. In a forward-secret session every message Alice's app sends (this receipt
    // too) carries an acknowledgement vector of what arrived so far, so the two earlier ones count as
    // delivered from then on, as they would with her next reply.
    await expect(messages(bob.page).filter({ hasText: 'And this one?' })).toHaveAttribute('data-status', 'delivered', { timeout: 30_000 });
    await expect(messages(bob.page).filter({ hasText: 'Did this reach you?' })).toHaveAttribute('data-status', 'delivered');
  });

  test('a stranger’s alias with markup, bidi overrides and great length stays bounded text', async () => {
    const page = alice.page;
    await goTo(page, 'Chats');
    await expect(page).toHaveTitle('Deaddrop');
    const [card] = parseQco((await exportCard(alice)).toString('utf8'));
    // As long as the protocol lets an alias be (1024 characters).
    const hostile = `<img src=x onerror="window.__owned=1">\u202Egnp.exe\u2066${'W'.repeat(970)}`;
    const dispatcher = new Agent();
    try {
      const pdu = await craftPdu({ from: generateNativeKeyPair(), to: card!.publicKey, text: 'hello from nobody', alias: hostile });
      await new DropClient({ dispatcher }).post(card!.dropUrls[0]!, pdu);
    } finally {
      await dispatcher.close();
    }
    await expect(page).toHaveTitle('(1) Deaddrop');
    await goTo(page, 'Chats');
    const item = page.getByTestId('conversation-item').filter({ hasText: 'gnp.exe' });
    await expect(item).toHaveCount(1);
    await expect(page.locator('img[src="x"]')).toHaveCount(0);
    expect(await page.evaluate(() => (globalThis as unknown as { __owned?: number }).__owned)).toBeUndefined();
    // Shown as text, and cut short: the list does not hold 970 W.
    const shown = (await item.innerText()).replace(/\s+/g, ' ');
    expect(shown).toContain('<img src=x');
    expect(shown.length).toBeLessThan(400);
    await item.click();
    await expect(page).toHaveTitle('Deaddrop');
  });
});
