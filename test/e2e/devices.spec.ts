import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
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
 * Linking a second device (PROTOCOL-V1.md 5c) through the real UI: Alice's desktop shows a link code
 * under Settings → Devices, a fresh profile ("laptop", its own engine host and browser context) answers
 * it from the first-run screen, both show the same six digits, and the laptop gets Alice with her
 * contact Bob and their conversation. A message Bob sends afterwards appears on both devices; what
 * Alice sends from either device then shows on both (sibling sync), delivered once Bob reads it, and
 * a contact renamed on one is renamed on the other. A drop moved on the desktop is the laptop's new
 * A file sent from the desktop shows on the laptop as ours, and the laptop downloads the same bytes. A
 * drop moved on the desktop is the laptop's new drop too: it lists and reads it, and Bob's message
 * through it reaches the laptop with the old server gone.
 */
test.describe.serial('linking a device', () => {
  let server: DropServer;
  /** Where the desktop moves Alice's drop in step 8. */
  let second: DropServer;
  let desktop: User;
  let laptop: User;
  let bob: User;

  test.beforeAll(async ({ browser }) => {
    test.setTimeout(180_000);
    // The first stores files (step 8: a file sent from the desktop is uploaded there).
    [server, second] = await Promise.all([startDropServer(['--blobs']), startDropServer()]);
    const [desktopHost, laptopHost, bobHost] = await Promise.all([startEngineHost('desktop'), startEngineHost('laptop'), startEngineHost('bob')]);
    desktop = await openUser(browser, 'desktop', desktopHost);
    laptop = await openUser(browser, 'laptop', laptopHost);
    bob = await openUser(browser, 'bob', bobHost);
  });

  test.afterAll(() => closeAll([desktop, laptop, bob], [server, second]));

  test('1. Alice and Bob talk on Alice’s desktop', async () => {
    await createIdentity(desktop.page, 'Alice', server.url);
    await createIdentity(bob.page, 'Bob', server.url);
    await setFastPolling(desktop.page);
    await setFastPolling(bob.page);

    await goTo(desktop.page, 'Contacts');
    await desktop.page.getByRole('button', { name: 'My contact card' }).click();
    const download = desktop.page.waitForEvent('download', { timeout: 30_000 });
    await desktop.page.getByRole('button', { name: 'Export .qco file' }).click();
    const qco = (await readFile((await (await download).path())!)).toString('utf8');
    await goTo(bob.page, 'Contacts');
    await bob.page.getByTestId('contact-file').setInputFiles({ name: 'contact-Alice.qco', mimeType: 'application/json', buffer: Buffer.from(qco) });
    await bob.page.getByRole('button', { name: 'Open conversation' }).click();
    await sendText(bob.page, 'Hello Alice, it is Bob.');

    await goTo(desktop.page, 'Chats');
    await desktop.page.getByTestId('conversation-item').filter({ hasText: 'Bob' }).click();
    await desktop.page.getByRole('button', { name: 'Accept' }).click();
    await sendText(desktop.page, 'Hi Bob, from my desktop.');
    await openConversationWith(bob.page, 'Alice');
    await expect(messages(bob.page).filter({ hasText: 'Hi Bob, from my desktop.' })).toHaveCount(1);
  });

  test('2. the laptop links to Alice’s desktop after both show the same code', async () => {
    await goTo(desktop.page, 'Settings');
    const panel = desktop.page.getByTestId('devices-panel');
    await expect(panel.getByTestId('device-row')).toHaveCount(1);
    await panel.getByLabel('This device’s name').fill('Desktop');
    await panel.getByRole('button', { name: 'Rename' }).click();
    await expect(panel.getByTestId('device-row')).toContainText('Desktop');
    await panel.getByRole('button', { name: 'Link a new device' }).click();
    await panel.getByRole('button', { name: 'Show the link code' }).click();
    await expect(panel.getByTestId('link-qr')).toBeVisible();
    await expect(panel.getByTestId('link-text')).toHaveText(/^DEADDROP-LINK\s/);
    const linkString = (await panel.getByTestId('link-text').textContent())!;
    expect(linkString.split('\n')[0]).toBe('DEADDROP-LINK');
    await screenshot(desktop.page, 'devices-01-link-code');
    await expectAccessible(desktop.page, 'link code');

    await expect(laptop.page.getByRole('heading', { name: 'Welcome to Deaddrop' })).toBeVisible();
    await laptop.page.getByRole('button', { name: 'Link to an existing device' }).click();
    await laptop.page.getByLabel('Link code').fill(linkString);
    await laptop.page.getByLabel('Name of this device').fill('Laptop');
    await laptop.page.getByRole('button', { name: 'Link this device' }).click();
    await expect(laptop.page.getByTestId('join-code')).toHaveText(/^[0-9]{3} [0-9]{3}$/);
    const laptopCode = (await laptop.page.getByTestId('join-code').textContent())!;
    expect(laptopCode).toMatch(/^[0-9]{3} [0-9]{3}$/);
    await screenshot(laptop.page, 'devices-02-join-code');
    await expectAccessible(laptop.page, 'join code');

    await expect(panel.getByTestId('link-code')).toHaveText(laptopCode);
    await expect(panel).toContainText('Laptop answered');
    await screenshot(desktop.page, 'devices-03-compare');
    await expectAccessible(desktop.page, 'code comparison');
    await panel.getByRole('button', { name: 'Yes, the same' }).click();
    await expect(panel.getByTestId('link-done')).toBeVisible();
    // Bob is told at once that Alice is on several devices (a contact update and her device list).
    await expect(panel.getByTestId('link-done')).toContainText('1 contact was told.');

    await expect(laptop.page.getByRole('navigation', { name: 'Main' })).toBeVisible();
    await expect(laptop.page.getByText(/Alice is now on this device too, with 1 contact and 2 messages/)).toBeVisible();
    await openConversationWith(laptop.page, 'Bob');
    await expect(messages(laptop.page).filter({ hasText: 'Hello Alice, it is Bob.' })).toHaveCount(1);
    await expect(messages(laptop.page).filter({ hasText: 'Hi Bob, from my desktop.' })).toHaveCount(1);
    await screenshot(laptop.page, 'devices-04-laptop-history');

    await panel.getByRole('button', { name: 'Close' }).click();
    await expect(panel.getByTestId('device-row')).toHaveCount(2);
    await goTo(laptop.page, 'Settings');
    const laptopPanel = laptop.page.getByTestId('devices-panel');
    await expect(laptopPanel.getByTestId('device-row')).toHaveCount(2);
    await expect(laptopPanel.getByTestId('device-row').filter({ hasText: 'This device' })).toContainText('Laptop');
    await expect(laptopPanel.getByTestId('device-row').filter({ hasText: 'Desktop' })).toHaveCount(1);
    await screenshot(laptop.page, 'devices-05-device-list');
    await expectAccessible(laptop.page, 'devices panel');
  });

  test('3. a message from Bob appears on both of Alice’s devices', async () => {
    // Bob's app heard of the laptop before he writes: his message goes in a session of its own to each of
    // Alice's devices (the laptop's first one an Init to its device prekey), so the conversation stays
    // forward secret on every device.
    await openConversationWith(bob.page, 'Alice');
    await expect(bob.page.getByTestId('chat-forward-secrecy')).toContainText('Forward secret since', { timeout: 30_000 });
    await sendText(bob.page, 'Do both of your computers see this?');
    await openConversationWith(desktop.page, 'Bob');
    await expect(messages(desktop.page).filter({ hasText: 'Do both of your computers see this?' })).toHaveCount(1);
    await openConversationWith(laptop.page, 'Bob');
    await expect(messages(laptop.page).filter({ hasText: 'Do both of your computers see this?' })).toHaveCount(1);
    await expect(laptop.page.getByTestId('chat-forward-secrecy')).toContainText('Forward secret since', { timeout: 30_000 });
  });

  test('4. sent from each device, both show the whole conversation (sibling sync)', async () => {
    await openConversationWith(desktop.page, 'Bob');
    await sendText(desktop.page, 'Sent from the desktop after the link.');
    await openConversationWith(laptop.page, 'Bob');
    await sendText(laptop.page, 'Sent from the laptop.');
    const whole = ['Hello Alice, it is Bob.', 'Hi Bob, from my desktop.', 'Do both of your computers see this?', 'Sent from the desktop after the link.', 'Sent from the laptop.'];
    for (const [device, other] of [
      [desktop, 'Sent from the laptop.'],
      [laptop, 'Sent from the desktop after the link.'],
    ] as const) {
      await openConversationWith(device.page, 'Bob');
      // The other device's text arrives as ours, in time order, marked as sent from another device.
      const mine = messages(device.page).filter({ hasText: other });
      await expect(mine).toHaveCount(1, { timeout: 30_000 });
      await expect(mine).toHaveAttribute('data-direction', 'out');
      await expect(mine.getByTestId('sent-from-device')).toHaveCount(1);
      await expect(messages(device.page)).toHaveCount(whole.length);
      const texts = await messages(device.page).allTextContents();
      expect(whole.map((text) => texts.findIndex((shown) => shown.includes(text)))).toEqual([0, 1, 2, 3, 4]);
    }
    // Bob reads both; his receipts then mark each as delivered on both of Alice's devices.
    await openConversationWith(bob.page, 'Alice');
    await expect(messages(bob.page).filter({ hasText: 'Sent from the desktop after the link.' })).toHaveCount(1, { timeout: 30_000 });
    await expect(messages(bob.page).filter({ hasText: 'Sent from the laptop.' })).toHaveCount(1, { timeout: 30_000 });
    for (const device of [desktop, laptop]) {
      await openConversationWith(device.page, 'Bob');
      for (const text of ['Sent from the desktop after the link.', 'Sent from the laptop.']) {
        await expect(messages(device.page).filter({ hasText: text })).toHaveAttribute('data-status', 'delivered', { timeout: 30_000 });
      }
    }
    await screenshot(laptop.page, 'devices-06-both-sides');
  });

  test('5. a conversation read on the desktop is read on the laptop', async () => {
    await goTo(desktop.page, 'Contacts');
    await goTo(laptop.page, 'Contacts');
    await openConversationWith(bob.page, 'Alice');
    await sendText(bob.page, 'Read me on one computer.');
    // Unread on both while neither shows the conversation.
    await expect(laptop.page.getByTestId('chats-unread')).toHaveText('1', { timeout: 30_000 });
    await expect(desktop.page.getByTestId('chats-unread')).toHaveText('1', { timeout: 30_000 });
    await openConversationWith(desktop.page, 'Bob');
    await expect(messages(desktop.page).filter({ hasText: 'Read me on one computer.' })).toHaveCount(1);
    await expect(desktop.page.getByTestId('chats-unread')).toHaveCount(0);
    // The laptop hears it was read there, without opening it.
    await expect(laptop.page.getByTestId('chats-unread')).toHaveCount(0, { timeout: 30_000 });
  });

  test('6. a contact renamed on the desktop is renamed on the laptop', async () => {
    await goTo(desktop.page, 'Contacts');
    await desktop.page.getByTestId('contact-item').filter({ hasText: 'Bob' }).click();
    await desktop.page.getByLabel('Name', { exact: true }).fill('Bob (work)');
    await desktop.page.getByRole('button', { name: 'Rename' }).click();
    await goTo(laptop.page, 'Contacts');
    await expect(laptop.page.getByTestId('contact-item').filter({ hasText: 'Bob (work)' })).toHaveCount(1, { timeout: 30_000 });
  });

  test('7. the laptop asks the desktop for what it missed and shows the progress of the answer', async () => {
    await goTo(laptop.page, 'Settings');
    const catchUp = laptop.page.getByTestId('devices-panel').getByTestId('catch-up');
    await catchUp.getByRole('button', { name: 'Ask my other devices for missed messages' }).click();
    await expect(catchUp.getByTestId('history-progress')).toContainText(/Asked at|Received/);
    // Every text of the last 30 days on the desktop (the five of the conversation and the one read there).
    await expect(catchUp.getByTestId('history-progress')).toHaveText('Received 6 of 6 messages from another device.', { timeout: 30_000 });
    await screenshot(laptop.page, 'devices-07-catch-up');
    await openConversationWith(laptop.page, 'Bob (work)');
    await expect(messages(laptop.page)).toHaveCount(6);
  });

  test('8. a file sent from the desktop shows on the laptop as sent, and the laptop downloads it', async () => {
    const content = randomBytes(300 * 1024);
    await openConversationWith(desktop.page, 'Bob (work)');
    await desktop.page.getByTestId('composer-file').setInputFiles({ name: 'plans.bin', mimeType: 'application/octet-stream', buffer: content });
    await desktop.page.getByTestId('composer-input').fill('The plans, from the desktop');
    await desktop.page.getByRole('button', { name: 'Send', exact: true }).click();
    await expect(messages(desktop.page).filter({ hasText: 'plans.bin' })).toHaveAttribute('data-status', /posted|delivered/, { timeout: 60_000 });

    await openConversationWith(laptop.page, 'Bob (work)');
    const card = messages(laptop.page).filter({ hasText: 'plans.bin' });
    await expect(card).toHaveCount(1, { timeout: 30_000 });
    await expect(card).toHaveAttribute('data-direction', 'out');
    await expect(card.getByTestId('sent-from-device')).toHaveCount(1);
    await expect(card).toContainText('The plans, from the desktop');
    await expect(card).toContainText('from You');
    await card.getByRole('button', { name: 'Download' }).click();
    await expect(card.getByTestId('file-download')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
    const saving = laptop.page.waitForEvent('download', { timeout: 30_000 });
    await card.getByRole('button', { name: 'Save', exact: true }).click();
    const bytes = await readFile((await (await saving).path())!);
    expect(bytes.equals(content)).toBe(true);
    await screenshot(laptop.page, 'devices-08-file-from-desktop');
  });

  test('9. a drop moved on the desktop is read on the laptop (sibling sync of drops)', async () => {
    const page = desktop.page;
    await goTo(page, 'Settings');
    await page.getByTestId('drop-row').getByRole('button', { name: /^Move the drop on .* to a new drop$/ }).click();
    const form = page.getByRole('form', { name: 'Move to a new drop' });
    await form.getByRole('radio', { name: 'Another server' }).check();
    await form.getByLabel('Address of the other drop server').fill(second.url);
    await form.getByRole('button', { name: 'Move and tell my contacts' }).click();
    await expect(page.getByTestId('move-progress')).toHaveText(/^Told 1 of 1 contact\./);

    // The laptop lists the new drop as Alice's and the old one as retiring, without doing anything.
    await goTo(laptop.page, 'Settings');
    await expect(laptop.page.getByTestId('drop-row')).toContainText(second.url, { timeout: 30_000 });
    await expect(laptop.page.getByTestId('drop-row')).toHaveCount(1);
    await expect(laptop.page.getByTestId('retiring-drop-row')).toContainText(server.url);
    await screenshot(laptop.page, 'devices-09-drop-moved-on-desktop');

    // Bob's app heard of the move; with the old server gone his next message comes only through the new drop
    // (a contact's drop on this computer is written to only with local servers allowed).
    await allowLocalNetworkServers(bob.page);
    await openConversationWith(bob.page, 'Alice');
    await expect(bob.page.getByTestId('event-line').filter({ hasText: `Alice now also receives at ${new URL(second.url).host}` })).toHaveCount(1, { timeout: 30_000 });
    await server.stop();
    await sendText(bob.page, 'Through your new drop.');
    await openConversationWith(laptop.page, 'Bob (work)');
    await expect(messages(laptop.page).filter({ hasText: 'Through your new drop.' })).toHaveCount(1, { timeout: 60_000 });
    await openConversationWith(desktop.page, 'Bob (work)');
    await expect(messages(desktop.page).filter({ hasText: 'Through your new drop.' })).toHaveCount(1, { timeout: 60_000 });
  });
});
