import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type Locator, type Page, expect, test } from '@playwright/test';
import {
  closeAll, createIdentity, expectAccessible, goTo, messages, openConversationWith, openUser, screenshot, sendText, setFastPolling, type User,
} from './support/appDriver.js';
import { type DropServer, startDropServer, startEngineHost } from './support/services.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function openShares(page: Page) {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: /^Shares/ }).click();
  await expect(page.getByRole('heading', { name: 'Shares', level: 1 })).toBeVisible();
}

/** Downloads one file of a received share and saves it; the bytes saved. */
async function downloadAndSave(page: Page, share: Locator, path: string): Promise<Buffer> {
  const row = share.getByTestId('share-file').filter({ hasText: path });
  await row.getByRole('button', { name: `Download ${path}` }).click();
  await expect(row).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  const saving = page.waitForEvent('download', { timeout: 60_000 });
  await row.getByRole('button', { name: `Save ${path}`, exact: true }).click();
  const saved = await saving;
  expect(saved.suggestedFilename()).toBe(path.split('/').pop());
  return readFile((await saved.path())!);
}

/**
 * Alice shares a folder with Bob through one real drop server that stores blobs, each with their own
 * engine host: Bob sees its three files and saves one byte for byte; Alice replaces one file and
 * removes another, and Bob sees revision 2 with what changed and the new content; Alice removes the
 * share, and Bob sees it removed. No announcement ever shows in their chat.
 */
test.describe.serial('shared folders end to end', () => {
  let server: DropServer;
  let alice: User;
  let bob: User;
  const first = { a: randomBytes(3000), b: randomBytes(70_000), c: randomBytes(10) };
  const newB = randomBytes(123_456);

  test.beforeAll(async ({ browser }) => {
    test.setTimeout(180_000);
    server = await startDropServer(['--blobs']);
    const [aliceHost, bobHost] = await Promise.all([startEngineHost('shares-alice'), startEngineHost('shares-bob')]);
    alice = await openUser(browser, 'alice', aliceHost);
    bob = await openUser(browser, 'bob', bobHost);
  });

  test.afterAll(() => closeAll([alice, bob], [server]));

  test('1. Alice and Bob become contacts', async () => {
    await createIdentity(alice.page, 'Alice', server.url);
    await createIdentity(bob.page, 'Bob', server.url);
    await setFastPolling(alice.page);
    await setFastPolling(bob.page);

    await goTo(alice.page, 'Contacts');
    await alice.page.getByRole('button', { name: 'My contact card' }).click();
    const download = alice.page.waitForEvent('download', { timeout: 30_000 });
    await alice.page.getByRole('button', { name: 'Export .qco file' }).click();
    const aliceCard = (await readFile((await (await download).path())!)).toString('utf8');

    await goTo(bob.page, 'Contacts');
    await bob.page.getByRole('button', { name: 'New contact' }).click();
    await bob.page.getByTestId('contact-file').setInputFiles({ name: 'contact-Alice.qco', mimeType: 'application/json', buffer: Buffer.from(aliceCard) });
    await expect(bob.page.getByText('Alice was added to your contacts.')).toBeVisible();
    await bob.page.getByRole('button', { name: 'Open conversation' }).click();
    await sendText(bob.page, 'Hello Alice, could you share the photos?');

    await goTo(alice.page, 'Chats');
    await alice.page.getByTestId('conversation-item').filter({ hasText: 'Bob' }).click();
    await alice.page.getByRole('button', { name: 'Accept' }).click();
    await expect(alice.page.getByTestId('composer-input')).toBeVisible();
  });

  test('2. Alice shares a folder of three files with Bob; Bob sees them and saves one byte for byte', async () => {
    test.setTimeout(180_000);
    await openShares(alice.page);
    await alice.page.getByLabel('Name of the shared folder').fill('Holiday');
    await alice.page.getByTestId('share-files').first().setInputFiles([
      { name: 'a.txt', mimeType: 'text/plain', buffer: first.a },
      { name: 'b.jpg', mimeType: 'image/jpeg', buffer: first.b },
      { name: 'c.bin', mimeType: 'application/octet-stream', buffer: first.c },
    ]);
    await expect(alice.page.getByRole('list', { name: 'Files to share' }).getByRole('listitem')).toHaveCount(3);
    const share = alice.page.getByRole('button', { name: 'Share', exact: true });
    await expect(share).toBeDisabled();
    await alice.page.getByRole('checkbox', { name: 'Bob' }).check();
    await share.click();

    const own = alice.page.getByTestId('own-share').filter({ hasText: 'Holiday' });
    await expect(own).toHaveCount(1, { timeout: 60_000 });
    await expect(own.getByTestId('share-revision')).toContainText('Revision 1 · 3 files');
    await expect(own.getByTestId('share-recipient')).toHaveAttribute('data-status', /posted|delivered/, { timeout: 60_000 });
    await screenshot(alice.page, 'shares-01-own');
    await expectAccessible(alice.page, 'shares view with an own share');

    // The rail's entry is reached with the keyboard.
    const rail = bob.page.getByRole('navigation', { name: 'Main' });
    await rail.getByRole('button', { name: /^Posts/ }).focus();
    await bob.page.keyboard.press('Tab');
    await expect(rail.getByRole('button', { name: /^Shares/ })).toBeFocused();
    await bob.page.keyboard.press('Enter');
    await expect(bob.page.getByRole('heading', { name: 'Shares', level: 1 })).toBeVisible();
    const received = bob.page.getByTestId('received-share').filter({ hasText: 'Holiday' });
    await expect(received).toHaveCount(1, { timeout: 60_000 });
    await expect(received.getByTestId('share-revision')).toHaveText('Shared by Alice · revision 1');
    await expect(received.getByTestId('share-file')).toHaveCount(3, { timeout: 60_000 });
    await expect(received.getByTestId('share-file').nth(0)).toContainText('a.txt');
    await expect(received.getByTestId('share-file').nth(1)).toContainText('b.jpg');
    await expect(received.getByTestId('share-file').nth(2)).toContainText('c.bin');
    const saved = await downloadAndSave(bob.page, received, 'b.jpg');
    expect(sha256(saved)).toBe(sha256(first.b));
    await screenshot(bob.page, 'shares-02-received');
    await expectAccessible(bob.page, 'shares view with a received share');

    // The announcement is no chat message; Bob's receipt reaches Alice.
    await openConversationWith(bob.page, 'Alice');
    await expect(messages(bob.page).filter({ hasText: 'Hello Alice' })).toHaveCount(1);
    await expect(messages(bob.page).filter({ hasText: 'Holiday' })).toHaveCount(0);
    await expect(own.getByTestId('share-recipient')).toHaveAttribute('data-status', 'delivered', { timeout: 60_000 });
  });

  test('3. Alice replaces one file and removes another; Bob sees revision 2, what changed and the new content', async () => {
    test.setTimeout(180_000);
    const own = alice.page.getByTestId('own-share').filter({ hasText: 'Holiday' });
    await own.getByTestId('share-files').setInputFiles([{ name: 'b.jpg', mimeType: 'image/jpeg', buffer: newB }]);
    await expect(own.getByRole('list', { name: 'Files to add to Holiday' })).toContainText('replaces the file');
    await own.getByRole('button', { name: 'Remove c.bin' }).click();
    await own.getByRole('button', { name: 'Share the changes' }).click();
    await expect(own.getByTestId('share-revision')).toContainText('Revision 2 · 2 files', { timeout: 60_000 });
    await expect(own.getByTestId('share-recipient')).toHaveAttribute('data-status', /posted|delivered/, { timeout: 60_000 });

    await openShares(bob.page);
    const received = bob.page.getByTestId('received-share').filter({ hasText: 'Holiday' });
    await expect(received.getByTestId('share-revision')).toHaveText('Shared by Alice · revision 2', { timeout: 60_000 });
    await expect(received.getByTestId('share-changes')).toHaveText('Changed: b.jpg · Removed: c.bin', { timeout: 60_000 });
    await expect(received.getByTestId('share-file')).toHaveCount(2);
    await expect(received.getByTestId('share-file').filter({ hasText: 'c.bin' })).toHaveCount(0);
    const saved = await downloadAndSave(bob.page, received, 'b.jpg');
    expect(saved.length).toBe(newB.length);
    expect(sha256(saved)).toBe(sha256(newB));
    await screenshot(bob.page, 'shares-03-revision-2');
  });

  test('4. Alice removes the share; Bob sees it removed', async () => {
    const own = alice.page.getByTestId('own-share').filter({ hasText: 'Holiday' });
    await own.getByRole('button', { name: 'Remove share' }).click();
    await own.getByRole('button', { name: 'Remove for everyone' }).click();
    await expect(own.getByTestId('share-revision')).toContainText('Removed (revision 3)');
    await expect(own.getByTestId('share-recipient')).toHaveAttribute('data-status', /posted|delivered/, { timeout: 60_000 });

    const received = bob.page.getByTestId('received-share').filter({ hasText: 'Holiday' });
    await expect(received.getByTestId('share-removed')).toHaveText('Removed by Alice', { timeout: 60_000 });
    await expect(received.getByTestId('share-file')).toHaveCount(0);
    await screenshot(bob.page, 'shares-04-removed');
  });
});
