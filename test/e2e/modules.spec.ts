import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Page, expect, test } from '@playwright/test';
import { spawnDropServer } from '../../server/index.js';
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

/** A drop server that keeps its drops in a file, so it can stop and start again on the same port with the same data. */
interface KeptServer extends DropServer {
  /** Stops the process; the drops stay in the file. */
  down(): Promise<void>;
  /** Starts again on the same port with the same drops. */
  up(): Promise<void>;
}

async function startKeptServer(): Promise<KeptServer> {
  const dir = await mkdtemp(join(tmpdir(), 'deaddrop-e2e-kept-'));
  const launch = (port: string) =>
    spawnDropServer({
      command: process.execPath,
      args: ['--import', 'tsx', 'server/cli.ts', '--host', '127.0.0.1', '--port', port, '--db', `sqlite:${join(dir, 'drops.db')}`],
    });
  let server: Awaited<ReturnType<typeof spawnDropServer>> | null = await launch('0');
  const url = server.url;
  const port = new URL(url).port;
  const down = async () => {
    await server?.stop();
    server = null;
  };
  return {
    url,
    down,
    async up() {
      await down();
      server = await launch(port);
    },
    async stop() {
      await down();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const hostOf = (url: string) => new URL(url).host;

async function exportCard(page: Page): Promise<string> {
  await goTo(page, 'Contacts');
  await page.getByRole('button', { name: 'My contact card' }).click();
  const download = page.waitForEvent('download', { timeout: 30_000 });
  await page.getByRole('button', { name: 'Export .qco file' }).click();
  return (await readFile((await (await download).path())!)).toString('utf8');
}

/** `other` adds Alice from her card and writes to her; Alice accepts the request, so both can write to each other. */
async function befriend(alice: User, other: User, otherName: string, aliceName: string) {
  const card = await exportCard(alice.page);
  await goTo(other.page, 'Contacts');
  await other.page.getByTestId('contact-file').setInputFiles({ name: 'contact.qco', mimeType: 'application/json', buffer: Buffer.from(card) });
  await expect(other.page.getByText(`${aliceName} was added to your contacts.`)).toBeVisible();
  await other.page.getByRole('button', { name: 'Open conversation' }).click();
  await sendText(other.page, `Hello ${aliceName}, it is ${otherName}.`);
  await goTo(alice.page, 'Chats');
  await alice.page.getByTestId('conversation-item').filter({ hasText: otherName }).click({ timeout: 60_000 });
  await alice.page.getByRole('button', { name: 'Accept' }).click();
  await expect(alice.page.getByRole('button', { name: 'Accept' })).toHaveCount(0);
}

async function goToPosts(page: Page) {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: /^Posts/ }).click();
  await expect(page.getByRole('heading', { name: 'Posts', level: 1 })).toBeVisible();
}

const eventLines = (page: Page) => page.getByTestId('event-line');

/**
 * The payload modules beyond chat, end to end: Alice renames herself and moves to a drop on a second
 * server (her contact Bob is told by contact updates and writes to her new drop), then posts to Bob,
 * Carol and Dave while Dave's drop server is down; the post reaches Dave once it is back.
 */
test.describe.serial('contact updates and posts', () => {
  let first: DropServer;
  let second: DropServer;
  let daves: KeptServer;
  let alice: User;
  let bob: User;
  let carol: User;
  let dave: User;

  test.beforeAll(async ({ browser }) => {
    test.setTimeout(240_000);
    [first, second, daves] = await Promise.all([startDropServer(), startDropServer(), startKeptServer()]);
    const [aliceHost, bobHost, carolHost, daveHost] = await Promise.all(['alice', 'bob', 'carol', 'dave'].map((name) => startEngineHost(name)));
    alice = await openUser(browser, 'alice', aliceHost!);
    bob = await openUser(browser, 'bob', bobHost!);
    carol = await openUser(browser, 'carol', carolHost!);
    dave = await openUser(browser, 'dave', daveHost!);
  });

  test.afterAll(() => closeAll([alice, bob, carol, dave], [first, second, daves]));

  test('1. Alice and Bob become contacts', async () => {
    test.setTimeout(240_000);
    await createIdentity(alice.page, 'Alice', first.url);
    await createIdentity(bob.page, 'Bob', first.url);
    for (const user of [alice, bob]) {
      await setFastPolling(user.page);
      // Alice's second drop, and later Dave's server, are other servers on 127.0.0.1.
      await allowLocalNetworkServers(user.page);
    }
    await befriend(alice, bob, 'Bob', 'Alice');
  });

  test('2. Alice renames herself and adds a drop on a second server: Bob is told, sees the lines, and lists both drops', async () => {
    const page = alice.page;
    await goTo(page, 'Identities');
    await page.getByRole('button', { name: 'Rename…' }).click();
    await page.getByLabel('New name').fill('Alicia');
    await page.getByRole('button', { name: 'Rename', exact: true }).click();
    await expect(page.getByText('Alice is now called Alicia. 1 contact was told.')).toBeVisible();
    await expect(page.getByRole('navigation', { name: 'Main' }).getByLabel('Active identity')).toContainText('Alicia');

    await goTo(page, 'Settings');
    await page.getByLabel('Drop server for the new drop').fill(second.url);
    await page.getByRole('button', { name: 'Add drop' }).click();
    await expect(page.getByTestId('drop-row')).toHaveCount(2);
    await expect(page.getByText('1 contact was told.').last()).toBeVisible();

    // Alice's own conversation says what she told.
    await openConversationWith(page, 'Bob');
    await expect(eventLines(page).filter({ hasText: 'You are now called Alicia' })).toHaveCount(1);
    await expect(eventLines(page).filter({ hasText: `You now also receive at ${hostOf(second.url)}` })).toHaveCount(1);

    await openConversationWith(bob.page, 'Alicia');
    await expect(eventLines(bob.page).filter({ hasText: 'Alice is now called Alicia' })).toHaveCount(1, { timeout: 60_000 });
    await expect(eventLines(bob.page).filter({ hasText: `Alicia now also receives at ${hostOf(second.url)}` })).toHaveCount(1, { timeout: 60_000 });
    // The lines are not messages: no bubble, nothing unread.
    await expect(messages(bob.page)).toHaveCount(1);
    await expect(bob.page.getByTestId('chats-unread')).toHaveCount(0);
    await screenshot(bob.page, '40-chat-contact-update-lines');
    await expectAccessible(bob.page, 'chat with contact update lines');

    await goTo(bob.page, 'Contacts');
    await bob.page.getByTestId('contact-item').filter({ hasText: 'Alicia' }).click();
    const drops = bob.page.getByRole('list', { name: 'Drop addresses' }).getByRole('listitem');
    await expect(drops).toHaveCount(2);
    await expect(drops.nth(0)).toContainText(first.url);
    await expect(drops.nth(1)).toContainText(second.url);
  });

  test('3. Alice stops using her first drop: Bob’s next message reaches her through the second one only', async () => {
    const page = alice.page;
    await goTo(page, 'Settings');
    const firstRow = page.getByTestId('drop-row').filter({ has: page.getByText(first.url, { exact: true }) });
    await firstRow.getByRole('button', { name: /^Remove the drop on/ }).click();
    await page.getByRole('group', { name: 'Remove this drop' }).getByRole('button', { name: 'Remove drop' }).click();
    await expect(page.getByTestId('drop-row')).toHaveCount(1);

    await openConversationWith(bob.page, 'Alicia');
    await expect(eventLines(bob.page).filter({ hasText: `Alicia no longer receives at ${hostOf(first.url)}` })).toHaveCount(1, { timeout: 60_000 });
    await goTo(bob.page, 'Contacts');
    await bob.page.getByTestId('contact-item').filter({ hasText: 'Alicia' }).click();
    const drops = bob.page.getByRole('list', { name: 'Drop addresses' }).getByRole('listitem');
    await expect(drops).toHaveCount(1);
    await expect(drops).toContainText(second.url);

    await bob.page.getByRole('button', { name: 'Open conversation' }).click();
    await sendText(bob.page, 'Writing to your new drop.');
    await openConversationWith(page, 'Bob');
    await expect(messages(page).filter({ hasText: 'Writing to your new drop.' })).toHaveCount(1, { timeout: 60_000 });
  });

  test('4. Carol and Dave (whose drop is on a third server) become Alicia’s contacts', async () => {
    test.setTimeout(240_000);
    await createIdentity(carol.page, 'Carol', first.url);
    await createIdentity(dave.page, 'Dave', daves.url);
    for (const user of [carol, dave]) {
      await setFastPolling(user.page);
      await allowLocalNetworkServers(user.page);
    }
    await befriend(alice, carol, 'Carol', 'Alicia');
    await befriend(alice, dave, 'Dave', 'Alicia');
  });

  test('5. Alicia posts to three contacts while Dave’s server is down: the progress says so; Bob and Carol read it', async () => {
    await daves.down();
    const page = alice.page;
    await goToPosts(page);
    const text = page.getByLabel('Your post');
    await text.fill('x'.repeat(501));
    await expect(page.getByTestId('post-counter')).toHaveText('501 of 500 characters');
    await expect(page.getByRole('button', { name: 'Post', exact: true })).toBeDisabled();
    await text.fill('Moving day went well. https://example.org/new-home');
    await expect(page.getByText('All 3 contacts')).toBeVisible();
    await page.getByRole('button', { name: 'Post', exact: true }).click();
    await expect(text).toHaveValue('');
    const progress = page.getByTestId('post').filter({ hasText: 'Moving day went well.' }).getByTestId('post-progress');
    await expect(progress).toContainText('Posted to 2 of 3 contacts', { timeout: 60_000 });
    await expect(progress).toContainText('1 waiting for their server');
    await screenshot(page, '41-posts-one-server-down');
    await expectAccessible(page, 'posts with progress');

    // Bob: a badge on Posts (not on Chats); the feed shows the post, and looking at it reads it.
    const badge = bob.page.getByTestId('posts-unread');
    await expect(badge).toHaveText('1', { timeout: 60_000 });
    await expect(bob.page.getByTestId('chats-unread')).toHaveCount(0);
    await goToPosts(bob.page);
    const post = bob.page.getByTestId('post').filter({ hasText: 'Moving day went well.' });
    await expect(post).toContainText('Alicia');
    await expect(post.getByRole('link', { name: 'https://example.org/new-home' })).toBeVisible();
    await expect(badge).toHaveCount(0);
    // Never a chat message.
    await openConversationWith(bob.page, 'Alicia');
    await expect(messages(bob.page).filter({ hasText: 'Moving day' })).toHaveCount(0);

    await goToPosts(carol.page);
    await expect(carol.page.getByTestId('post').filter({ hasText: 'Moving day went well.' })).toHaveCount(1, { timeout: 60_000 });
  });

  test('6. Dave’s server comes back: the post reaches him, and the progress says all three have it', async () => {
    await daves.up();
    const page = alice.page;
    const own = page.getByTestId('post').filter({ hasText: 'Moving day went well.' });
    // Rather than waiting for the next scheduled attempt. That attempt may come first, now that the
    // server is back, and then the button is gone: a click that finds no button is no failure (the
    // progress below still has to reach 3 of 3).
    const retry = own.getByRole('button', { name: 'Retry now' });
    await retry.click({ timeout: 5_000 }).catch(async (error: unknown) => {
      if ((await retry.count()) > 0) throw error;
    });
    await expect(own.getByTestId('post-progress')).toContainText('Posted to 3 of 3 contacts', { timeout: 90_000 });
    await expect(own.getByRole('button', { name: 'Retry now' })).toHaveCount(0);

    await expect(dave.page.getByTestId('posts-unread')).toHaveText('1', { timeout: 90_000 });
    await goToPosts(dave.page);
    await expect(dave.page.getByTestId('post').filter({ hasText: 'Moving day went well.' })).toContainText('Alicia');

    // Alicia's post is on her contact page too.
    await goTo(bob.page, 'Contacts');
    await bob.page.getByTestId('contact-item').filter({ hasText: 'Alicia' }).click();
    await expect(bob.page.getByTestId('contact-posts')).toContainText('Moving day went well.');
    // Receipts come back: each copy delivered.
    await expect(own.getByTestId('post-progress')).toContainText('3 received it', { timeout: 90_000 });
  });

  test('7. A post to chosen contacts goes to them only', async () => {
    const page = alice.page;
    await goToPosts(page);
    await page.getByLabel('Your post').fill('Only for Bob.');
    await page.getByLabel('All 3 contacts').uncheck();
    await expect(page.getByRole('button', { name: 'Post', exact: true })).toBeDisabled();
    await page.getByRole('group', { name: 'Send to' }).getByLabel('Bob').check();
    await page.getByRole('button', { name: 'Post', exact: true }).click();
    const own = page.getByTestId('post').filter({ hasText: 'Only for Bob.' });
    await expect(own.getByTestId('post-progress')).toContainText('Posted to 1 of 1 contact', { timeout: 60_000 });
    await goToPosts(bob.page);
    await expect(bob.page.getByTestId('post').first()).toContainText('Only for Bob.', { timeout: 60_000 });
  });
});
