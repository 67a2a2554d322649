import { readFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { closeAll, createIdentity, expectAccessible, goTo, messages, openConversationWith, openUser, screenshot, sendText, setFastPolling, type User } from './support/appDriver.js';
import { type DropServer, startDropServer, startEngineHost } from './support/services.js';

/**
 * Replacing the identity key (Settings → Devices, electron/core/devices/rotation.ts) through the real
 * UI: Alice replaces hers after a confirmation; Bob's app moves the conversation to her new key and says
 * so; what each writes afterwards reaches the other in the same conversation, with the history kept.
 */
test.describe.serial('replacing the identity key', () => {
  let server: DropServer;
  let alice: User;
  let bob: User;

  test.beforeAll(async ({ browser }) => {
    test.setTimeout(180_000);
    server = await startDropServer();
    const [aliceHost, bobHost] = await Promise.all([startEngineHost('alice'), startEngineHost('bob')]);
    alice = await openUser(browser, 'alice', aliceHost);
    bob = await openUser(browser, 'bob', bobHost);
  });

  test.afterAll(() => closeAll([alice, bob], [server]));

  test('1. Alice and Bob talk', async () => {
    await createIdentity(alice.page, 'Alice', server.url);
    await createIdentity(bob.page, 'Bob', server.url);
    await setFastPolling(alice.page);
    await setFastPolling(bob.page);
    await goTo(alice.page, 'Contacts');
    await alice.page.getByRole('button', { name: 'My contact card' }).click();
    const download = alice.page.waitForEvent('download', { timeout: 30_000 });
    await alice.page.getByRole('button', { name: 'Export .qco file' }).click();
    const qco = (await readFile((await (await download).path())!)).toString('utf8');
    await goTo(bob.page, 'Contacts');
    await bob.page.getByTestId('contact-file').setInputFiles({ name: 'contact-Alice.qco', mimeType: 'application/json', buffer: Buffer.from(qco) });
    await bob.page.getByRole('button', { name: 'Open conversation' }).click();
    await sendText(bob.page, 'Hello Alice, it is Bob.');
    await goTo(alice.page, 'Chats');
    await alice.page.getByTestId('conversation-item').filter({ hasText: 'Bob' }).click();
    await alice.page.getByRole('button', { name: 'Accept' }).click();
    await sendText(alice.page, 'Hi Bob.');
    await openConversationWith(bob.page, 'Alice');
    await expect(messages(bob.page).filter({ hasText: 'Hi Bob.' })).toHaveCount(1);
  });

  test('2. Alice replaces her key; Bob’s conversation moves to it and says so', async () => {
    await goTo(alice.page, 'Settings');
    const panel = alice.page.getByTestId('rotate-key');
    await panel.getByRole('button', { name: 'Replace the identity key…' }).click();
    await expect(panel).toContainText('Whoever holds the old key');
    await expectAccessible(alice.page, 'replace the identity key');
    await panel.getByRole('button', { name: 'Replace the key now' }).click();
    await expect(panel.getByTestId('rotate-outcome')).toContainText('1 contact(s)', { timeout: 30_000 });
    await screenshot(alice.page, 'rotate-01-replaced');

    await openConversationWith(bob.page, 'Alice');
    await expect(bob.page.getByTestId('event-line').filter({ hasText: /Alice replaced their identity key; the change was signed by their old key\. Compare safety numbers\./ })).toHaveCount(1, { timeout: 60_000 });
    // The history stays in one place.
    await expect(messages(bob.page).filter({ hasText: 'Hello Alice, it is Bob.' })).toHaveCount(1);
    await expect(messages(bob.page).filter({ hasText: 'Hi Bob.' })).toHaveCount(1);
    await screenshot(bob.page, 'rotate-02-contact-line');
  });

  test('3. both write on under the new key, in the same conversations', async () => {
    await sendText(bob.page, 'Got your new key.');
    await openConversationWith(alice.page, 'Bob');
    await expect(messages(alice.page).filter({ hasText: 'Got your new key.' })).toHaveCount(1, { timeout: 60_000 });
    await expect(messages(alice.page).filter({ hasText: 'Hello Alice, it is Bob.' })).toHaveCount(1);
    await sendText(alice.page, 'Thanks, Bob.');
    await openConversationWith(bob.page, 'Alice');
    await expect(messages(bob.page).filter({ hasText: 'Thanks, Bob.' })).toHaveCount(1, { timeout: 60_000 });
    await expect(bob.page.getByTestId('conversation-item')).toHaveCount(1);
    await openConversationWith(alice.page, 'Bob');
    await screenshot(alice.page, 'rotate-03-after');
  });
});
