import { readFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import {
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
 * Alice, Bob and Carol, each with their own engine host process, data folder and browser context,
 * talk through one real drop server. The steps build on each other, so they run in order.
 */
test.describe.serial('messenger end to end', () => {
  let server: DropServer;
  let alice: User;
  let bob: User;
  let carol: User;
  let aliceQco = '';

  test.beforeAll(async ({ browser }) => {
    test.setTimeout(180_000);
    server = await startDropServer();
    const [aliceHost, bobHost, carolHost] = await Promise.all([
      startEngineHost('alice'),
      startEngineHost('bob'),
      startEngineHost('carol'),
    ]);
    alice = await openUser(browser, 'alice', aliceHost);
    bob = await openUser(browser, 'bob', bobHost);
    carol = await openUser(browser, 'carol', carolHost);
  });

  test.afterAll(() => closeAll([alice, bob, carol], [server]));

  test('1. Alice and Bob create identities; Bob imports Alice’s .qco and writes to her', async () => {
    await expect(alice.page.getByRole('heading', { name: 'Welcome to Deaddrop' })).toBeVisible();
    await screenshot(alice.page, '01-first-run');
    await expectAccessible(alice.page, 'first run');

    await createIdentity(alice.page, 'Alice', server.url, 'Some');
    await createIdentity(bob.page, 'Bob', server.url);
    await setFastPolling(alice.page);
    await setFastPolling(bob.page);
    await screenshot(alice.page, '02-settings');
    await expectAccessible(alice.page, 'settings');

    await goTo(alice.page, 'Contacts');
    await alice.page.getByRole('button', { name: 'My contact card' }).click();
    await expect(alice.page.getByTestId('my-qr')).toBeVisible();
    await screenshot(alice.page, '03-my-contact-card');
    await expectAccessible(alice.page, 'my contact card');
    const download = alice.page.waitForEvent('download', { timeout: 30_000 });
    await alice.page.getByRole('button', { name: 'Export .qco file' }).click();
    const qco = await download;
    expect(qco.suggestedFilename()).toMatch(/\.qco$/);
    aliceQco = (await readFile((await qco.path())!)).toString('utf8');
    expect(JSON.parse(aliceQco)).toHaveProperty('contacts');

    await goTo(bob.page, 'Contacts');
    await bob.page.getByTestId('contact-file').setInputFiles({ name: 'contact-Alice.qco', mimeType: 'application/json', buffer: Buffer.from(aliceQco) });
    await expect(bob.page.getByText('Alice was added to your contacts.')).toBeVisible();
    await expect(bob.page.getByTestId('fingerprint')).toBeVisible();
    await screenshot(bob.page, '04-contact-details');
    await expectAccessible(bob.page, 'contact details');
    await bob.page.getByRole('button', { name: 'Open conversation' }).click();
    await sendText(bob.page, 'Hello Alice, it is Bob.');
    await expect(messages(bob.page).filter({ hasText: 'Hello Alice, it is Bob.' })).toHaveCount(1);
    await expect(messages(bob.page).first()).toHaveAttribute('data-status', /queued|sending|posted|delivered/);
  });

  test('2. Alice accepts Bob’s request and replies; Bob’s message turns delivered', async () => {
    await goTo(alice.page, 'Chats');
    const request = alice.page.getByTestId('conversation-item').filter({ hasText: 'Bob' });
    await expect(request).toContainText('Request');
    await screenshot(alice.page, '05-conversation-list-request');
    await expectAccessible(alice.page, 'conversation list');
    await request.click();
    await expect(alice.page.getByRole('region', { name: 'Contact request' })).toBeVisible();
    // The drop URL Bob's message claims is shown, and nothing is sent there before Accept.
    await expect(alice.page.getByRole('region', { name: 'Contact request' })).toContainText('Nothing is sent there, not even a delivery receipt');
    await expect(messages(alice.page).filter({ hasText: 'Hello Alice, it is Bob.' })).toHaveCount(1);
    await screenshot(alice.page, '06-chat-request');
    await alice.page.getByRole('button', { name: 'Accept' }).click();
    await sendText(alice.page, 'Hi Bob! Got it. https://example.org/welcome');
    // A link never navigates the app (the desktop app opens it in the system browser with `links/open`).
    const appUrl = alice.page.url();
    await alice.page.getByRole('link', { name: 'https://example.org/welcome' }).click();
    expect(alice.page.url()).toBe(appUrl);
    expect(alice.context.pages()).toHaveLength(1);

    await openConversationWith(bob.page, 'Alice');
    await expect(messages(bob.page).filter({ hasText: 'Hi Bob! Got it.' })).toHaveCount(1);
    const bobsFirst = messages(bob.page).filter({ hasText: 'Hello Alice, it is Bob.' });
    await expect(bobsFirst).toHaveAttribute('data-status', 'delivered', { timeout: 60_000 });
    await expect(messages(alice.page).filter({ hasText: 'Hi Bob!' })).toHaveAttribute('data-status', 'delivered', { timeout: 60_000 });
    await screenshot(bob.page, '07-chat');
    await expectAccessible(bob.page, 'chat');
  });

  test('3. Bob’s engine host dies mid-conversation: nothing lost, nothing twice, the queued message goes out', async () => {
    const bobList = bob.page.getByTestId('message-list');
    const aliceList = alice.page.getByTestId('message-list');
    await expect(bobList).toHaveAttribute('data-count', '2');

    await bob.host.kill();
    await expect(bob.page.getByTestId('connection-banner')).toBeVisible();
    await sendText(bob.page, 'Written while my engine was down.');
    const queued = messages(bob.page).filter({ hasText: 'Written while my engine was down.' });
    await expect(queued).toHaveAttribute('data-status', 'queued');
    await screenshot(bob.page, '08-engine-down-queued');
    await expectAccessible(bob.page, 'chat with a queued message');

    await bob.host.restart();
    await expect(bob.page.getByTestId('connection-banner')).toBeHidden();
    await expect(queued).toHaveAttribute('data-status', /posted|delivered/);
    await expect(messages(alice.page).filter({ hasText: 'Written while my engine was down.' })).toHaveCount(1);
    await expect(queued).toHaveAttribute('data-status', 'delivered', { timeout: 60_000 });

    // Alice writes again; after the restart Bob's engine re-delivers what it had not acknowledged:
    // the UI must store each message once.
    await sendText(alice.page, 'Welcome back, Bob.');
    await expect(messages(bob.page).filter({ hasText: 'Welcome back, Bob.' })).toHaveCount(1);
    // Screen readers hear about it; the list itself is no live region (scrolling back would be read out).
    await expect(bob.page.getByTestId('new-message-announcement')).toHaveText('New message from Alice: Welcome back, Bob.');
    await expect(bobList).toHaveAttribute('role', 'region');
    await expect(bobList).toHaveAttribute('data-count', '4');
    await expect(aliceList).toHaveAttribute('data-count', '4');

    // A reload (the window restarting) shows the same four messages, none twice.
    await bob.page.reload();
    await openConversationWith(bob.page, 'Alice');
    await expect(bob.page.getByTestId('message-list')).toHaveAttribute('data-count', '4');
    for (const text of ['Hello Alice, it is Bob.', 'Hi Bob! Got it.', 'Written while my engine was down.', 'Welcome back, Bob.']) {
      await expect(messages(bob.page).filter({ hasText: text })).toHaveCount(1);
    }
  });

  test('4. Carol adds Alice from a PNG of the QR code Alice’s UI rendered', async () => {
    await createIdentity(carol.page, 'Carol', server.url, 'Many');
    await setFastPolling(carol.page);
    await goTo(alice.page, 'Contacts');
    await alice.page.getByRole('button', { name: 'My contact card' }).click();
    const download = alice.page.waitForEvent('download', { timeout: 30_000 });
    await alice.page.getByRole('button', { name: 'Save QR code as PNG' }).click();
    const png = await readFile((await (await download).path())!);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');

    await goTo(carol.page, 'Contacts');
    await carol.page.getByTestId('contact-qr-image').setInputFiles({ name: 'alice-qr.png', mimeType: 'image/png', buffer: png });
    await expect(carol.page.getByText('Alice was added to your contacts.')).toBeVisible();
    await carol.page.getByRole('button', { name: 'Open conversation' }).click();
    await sendText(carol.page, 'Hi Alice, Carol here (from your QR code).');

    await goTo(alice.page, 'Chats');
    await expect(alice.page.getByTestId('conversation-item').filter({ hasText: 'Carol' })).toContainText('Request');
    await goTo(alice.page, 'Contacts');
    await expect(alice.page.getByTestId('request-item').filter({ hasText: 'Carol' })).toBeVisible();
    await screenshot(alice.page, '09-contacts-with-request');
    await expectAccessible(alice.page, 'contacts');
  });

  test('5. A 5,000-character message arrives whole and in order', async () => {
    const pieces: string[] = [];
    for (let i = 0; pieces.join(' ').length < 5000; i++) pieces.push(`[${String(i).padStart(4, '0')}]`);
    const text = pieces.join(' ').slice(0, 5000);
    expect(text).toHaveLength(5000);

    await openConversationWith(bob.page, 'Alice');
    const input = bob.page.getByTestId('composer-input');
    await input.fill(text);
    await expect(bob.page.getByText(/it will be sent as \d+ messages/)).toBeVisible();
    await input.press('Enter');

    await openConversationWith(alice.page, 'Bob');
    const received = messages(alice.page).filter({ hasText: '[0000]' });
    await expect(received).toHaveCount(1);
    await expect(received.getByTestId('message-text')).toHaveText(text);
    await screenshot(alice.page, '10-long-message');
  });

  test('6. Bad input gets a clear message: corrupt .qco, QR image without a code, non-contact text', async () => {
    const page = carol.page;
    await goTo(page, 'Contacts');
    await page.getByRole('button', { name: 'New contact' }).click();
    const error = page.getByTestId('add-contact-error');

    await page.getByTestId('contact-file').setInputFiles({ name: 'broken.qco', mimeType: 'application/json', buffer: Buffer.from('{"contacts":[{"alias":') });
    await expect(error).toContainText('Not a valid contact');

    const blank = await page.getByRole('heading', { name: 'Contacts', level: 1 }).screenshot();
    await page.getByTestId('contact-qr-image').setInputFiles({ name: 'no-code.png', mimeType: 'image/png', buffer: blank });
    await expect(error).toContainText('No QR code was found in that image. Try a sharper picture');

    await page.getByTestId('contact-paste').fill('hello, this is not a contact');
    await page.getByRole('button', { name: 'Add contact', exact: true }).click();
    await expect(error).toContainText('Not a valid contact');
    // A .qco dropped onto the panel; Carol knows Alice already, so the card only updates her.
    const dataTransfer = await page.evaluateHandle(
      `(() => { const d = new DataTransfer(); d.items.add(new File([${JSON.stringify(aliceQco)}], 'alice.qco', { type: 'application/json' })); return d; })()`,
    );
    await page.getByText('Or drop a .qco file or a QR code image here.').dispatchEvent('drop', { dataTransfer });
    await expect(page.getByText('Alice is already in your contacts; the card was updated.')).toBeVisible();
    await expect(error).toHaveCount(0);
    await page.getByRole('button', { name: 'New contact' }).click();
    await page.getByTestId('contact-paste').fill('hello, this is not a contact');
    await page.getByRole('button', { name: 'Add contact', exact: true }).click();
    await expect(error).toContainText('Not a valid contact');
    await screenshot(page, '11-add-contact-error');
    await expectAccessible(page, 'add contact');

    await goTo(page, 'Identities');
    await screenshot(page, '12-identities');
    await expectAccessible(page, 'identities');
  });

  test('7. Contact management: ignore and block a request, verify, rename and delete a contact', async () => {
    // Alice ignores Carol's request: it leaves the chat list, and stays in Contacts as ignored.
    await openConversationWith(alice.page, 'Carol');
    await alice.page.getByRole('button', { name: 'Ignore' }).click();
    await expect(alice.page.getByTestId('conversation-item').filter({ hasText: 'Carol' })).toHaveCount(0);
    await goTo(alice.page, 'Contacts');
    const carolItem = alice.page.getByTestId('contact-item').filter({ hasText: 'Carol' });
    await expect(carolItem).toContainText('Ignored');
    await carolItem.click();
    await alice.page.getByRole('button', { name: 'Block' }).click();
    await expect(carolItem).toContainText('Blocked');

    // Bob verifies Alice's fingerprint, renames her, then deletes her with the conversation.
    await goTo(bob.page, 'Contacts');
    await bob.page.getByTestId('contact-item').filter({ hasText: 'Alice' }).click();
    await bob.page.getByRole('button', { name: 'Mark verified' }).click();
    await expect(bob.page.getByTestId('contact-item').filter({ hasText: 'Alice' })).toContainText('Verified');
    await bob.page.getByLabel('Name').fill('Alice Liddell');
    await bob.page.getByRole('button', { name: 'Rename' }).click();
    await expect(bob.page.getByTestId('contact-item').filter({ hasText: 'Alice Liddell' })).toBeVisible();
    await goTo(bob.page, 'Chats');
    await expect(bob.page.getByTestId('conversation-item').filter({ hasText: 'Alice Liddell' })).toBeVisible();

    await goTo(bob.page, 'Contacts');
    await bob.page.getByTestId('contact-item').filter({ hasText: 'Alice Liddell' }).click();
    await bob.page.getByRole('button', { name: 'Delete contact…' }).click();
    await bob.page.getByRole('button', { name: 'Delete', exact: true }).click();
    await expect(bob.page.getByTestId('contact-item')).toHaveCount(0);
    await goTo(bob.page, 'Chats');
    await expect(bob.page.getByTestId('conversation-item')).toHaveCount(0);
  });
});
