/**
 * Impersonation and requests: a stranger who takes the name of a contact is shown as not that
 * contact, with an avatar drawn from another key and the key's start in the header; Block asks first.
 */
import { readFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { allowLocalNetworkServers, createIdentity, expectAccessible, goTo, openConversationWith, openUser, screenshot, sendText, setFastPolling, type User } from './support/appDriver.js';
import { type DropServer, type EngineHost, startDropServer, startEngineHost } from './support/services.js';

test.describe.serial('a stranger with a contact’s name', () => {
  let server: DropServer;
  const hosts: EngineHost[] = [];
  let alice: User;
  let mallory: User;
  const realBobKey = 'b0b'.padEnd(64, '1');

  test.beforeAll(async ({ browser }) => {
    server = await startDropServer();
    for (const name of ['alice-trust', 'mallory-trust']) hosts.push(await startEngineHost(name));
    alice = await openUser(browser, 'alice', hosts[0]!);
    mallory = await openUser(browser, 'mallory', hosts[1]!);
  });
  test.afterAll(async () => {
    await alice?.context.close();
    await mallory?.context.close();
    for (const host of hosts) await host.stop();
    await server?.stop();
  });

  test('is marked as not the contact, looks different, and is blocked only after a confirmation', async () => {
    await createIdentity(alice.page, 'Alice', server.url);
    await createIdentity(mallory.page, 'Воb', server.url); // Cyrillic В and о
    await setFastPolling(alice.page);
    await allowLocalNetworkServers(alice.page);
    await allowLocalNetworkServers(mallory.page);

    // Alice knows the real Bob.
    await goTo(alice.page, 'Contacts');
    await alice.page.getByTestId('contact-paste').fill(['QABELCONTACT', 'Bob', `${server.url}/${'B'.repeat(43)}`, realBobKey].join('\n'));
    await alice.page.getByRole('button', { name: 'Add contact' }).click();
    await expect(alice.page.getByText('Bob was added to your contacts.')).toBeVisible();

    // Mallory, calling himself "Воb", writes to Alice.
    await alice.page.getByRole('button', { name: 'My contact card' }).click();
    const download = alice.page.waitForEvent('download');
    await alice.page.getByRole('button', { name: 'Export .qco file' }).click();
    const qco = await readFile((await (await download).path())!);
    await goTo(mallory.page, 'Contacts');
    await mallory.page.getByTestId('contact-file').setInputFiles({ name: 'contact-Alice.qco', mimeType: 'application/json', buffer: qco });
    await mallory.page.getByRole('button', { name: 'Open conversation' }).click();
    await sendText(mallory.page, 'It is me, Bob. Please send the code.');

    // Unread: on Chats and in the window title; the switcher names the active identity alone (its count is on Chats).
    await expect(alice.page.getByTestId('chats-unread')).toHaveText('1');
    await expect(alice.page.locator('#identity-switcher option')).toHaveText(['Alice']);
    await expect(alice.page).toHaveTitle('(1) Deaddrop');
    await openConversationWith(alice.page, 'Воb');
    await expect(alice.page).toHaveTitle('Deaddrop');
    await expect(alice.page.getByTestId('lookalike-warning')).toContainText('Not the Bob in your contacts: this is a different key');
    await expect(alice.page.getByTestId('chat-key-prefix')).toContainText('key ');
    // No composer before Accept.
    await expect(alice.page.getByTestId('composer-input')).toHaveCount(0);

    // The two "Bob"s are drawn from their keys: they do not look alike.
    await goTo(alice.page, 'Contacts');
    const avatarOf = (testId: string, name: string) => alice.page.getByTestId(testId).filter({ hasText: name }).getByTestId('key-avatar').innerHTML();
    expect(await avatarOf('request-item', 'Воb')).not.toBe(await avatarOf('contact-item', 'Bob'));
    await openConversationWith(alice.page, 'Воb');
    await screenshot(alice.page, '26-lookalike-request');
    await expectAccessible(alice.page, 'look-alike request');

    // Block asks first; Cancel keeps the request.
    const request = alice.page.getByRole('region', { name: 'Contact request' });
    await request.getByRole('button', { name: 'Block', exact: true }).click();
    await request.getByRole('button', { name: 'Cancel' }).click();
    await expect(request.getByRole('group', { name: 'Confirm blocking' })).toHaveCount(0);
    await request.getByRole('button', { name: 'Block', exact: true }).click();
    await request.getByRole('button', { name: 'Block Воb' }).click();
    await expect(alice.page.getByTestId('conversation-item').filter({ hasText: 'Воb' })).toHaveCount(0);
  });
});
