import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { type Socket, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { type Page, expect, test } from '@playwright/test';
import { parseQco } from '../../shared/protocol/contacts.js';
import { generateKeyPair, portableBox } from '../../shared/protocol/box.js';
import { fromHex, toHex } from '../../shared/protocol/encoding.js';
import { encodeDropMessage } from '../../shared/protocol/message.js';
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

/** A `width`×`height` RGB PNG of a colour gradient: something to see in the screenshots. */
function gradientPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8 bits per channel, RGB, no interlace
  const rows = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    const row = y * (1 + width * 3); // each row starts with filter type 0
    for (let x = 0; x < width; x++) rows.set([(x * 255) / width, (y * 255) / height, 160], row + 1 + x * 3);
  }
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}
const PNG = gradientPng(160, 100);
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Runs `check` with the dark theme on, then follows the system again. */
async function inDarkTheme(page: Page, check: () => Promise<void>) {
  await goTo(page, 'Settings');
  await page.getByLabel('Theme').selectOption('dark');
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await check();
  await goTo(page, 'Settings');
  await page.getByLabel('Theme').selectOption('system');
}

/**
 * Alice sends Bob files through one real drop server that stores blobs (`--blobs`), each with their
 * own engine host: a 20 MB file downloaded and saved byte for byte, an upload cancelled, images shown
 * inline (by themselves, or on a click), a notice in Qabel's format shown as one this app cannot
 * open, a failed download cancelled and resumed, and an upload cut by the engine's death tried again.
 */
test.describe.serial('files end to end', () => {
  let server: DropServer;
  let alice: User;
  let bob: User;
  let bobCard = '';
  // The server keeps drops and blobs in a file, so it can be stopped and started again (test 6).
  let serverDir = '';
  const serverFlags = () => ['--blobs', '--db', `sqlite:${join(serverDir, 'drops.db')}`];

  test.beforeAll(async ({ browser }) => {
    test.setTimeout(180_000);
    serverDir = await mkdtemp(join(tmpdir(), 'deaddrop-e2e-files-'));
    server = await startDropServer(serverFlags());
    const [aliceHost, bobHost] = await Promise.all([startEngineHost('files-alice'), startEngineHost('files-bob')]);
    alice = await openUser(browser, 'alice', aliceHost);
    bob = await openUser(browser, 'bob', bobHost);
  });

  test.afterAll(async () => {
    await closeAll([alice, bob], [server]);
    await rm(serverDir, { recursive: true, force: true });
  });

  test('1. Alice and Bob become contacts', async () => {
    await createIdentity(alice.page, 'Alice', server.url);
    await createIdentity(bob.page, 'Bob', server.url);
    await setFastPolling(alice.page);
    await setFastPolling(bob.page);

    const exportCard = async (user: User) => {
      await goTo(user.page, 'Contacts');
      await user.page.getByRole('button', { name: 'My contact card' }).click();
      const download = user.page.waitForEvent('download', { timeout: 30_000 });
      await user.page.getByRole('button', { name: 'Export .qco file' }).click();
      return (await readFile((await (await download).path())!)).toString('utf8');
    };
    const aliceCard = await exportCard(alice);
    bobCard = await exportCard(bob);

    await goTo(bob.page, 'Contacts');
    await bob.page.getByRole('button', { name: 'New contact' }).click();
    await bob.page.getByTestId('contact-file').setInputFiles({ name: 'contact-Alice.qco', mimeType: 'application/json', buffer: Buffer.from(aliceCard) });
    await expect(bob.page.getByText('Alice was added to your contacts.')).toBeVisible();
    await bob.page.getByRole('button', { name: 'Open conversation' }).click();
    await sendText(bob.page, 'Hello Alice, send me the file?');

    await goTo(alice.page, 'Chats');
    await alice.page.getByTestId('conversation-item').filter({ hasText: 'Bob' }).click();
    await alice.page.getByRole('button', { name: 'Accept' }).click();
    await expect(alice.page.getByTestId('composer-input')).toBeVisible();
  });

  test('2. Alice sends a 20 MB file with a caption; Bob downloads it and saves the same bytes', async () => {
    test.setTimeout(240_000);
    const content = randomBytes(20 * 1024 * 1024);
    await alice.page.getByTestId('composer-file').setInputFiles({ name: 'measurements.bin', mimeType: 'application/octet-stream', buffer: content });
    await expect(alice.page.getByTestId('composer-attachment')).toContainText('measurements.bin');
    await expect(alice.page.getByTestId('composer-attachment')).toContainText('20 MB');
    await alice.page.getByTestId('composer-input').fill('The measurements from Tuesday');
    await alice.page.getByRole('button', { name: 'Send', exact: true }).click();

    // The card shows at once, with the caption; it goes through the upload to sent.
    const sent = messages(alice.page).filter({ hasText: 'measurements.bin' });
    await expect(sent).toHaveCount(1);
    await expect(sent).toContainText('The measurements from Tuesday');
    await expect(sent).toContainText('from You');
    await expect(sent).toHaveAttribute('data-status', /posted|delivered/, { timeout: 120_000 });
    await expect(sent.getByTestId('file-upload')).toHaveCount(0);

    await openConversationWith(bob.page, 'Alice');
    const card = messages(bob.page).filter({ hasText: 'measurements.bin' });
    await expect(card).toHaveCount(1, { timeout: 60_000 });
    await expect(card).toContainText('20 MB · from Alice');
    await expect(card).toContainText('The measurements from Tuesday');
    // Not an image: nothing is fetched before Bob asks.
    const download = card.getByTestId('file-download');
    await expect(download).toHaveAttribute('data-state', 'none');
    await screenshot(bob.page, 'files-01-card');
    await expectAccessible(bob.page, 'chat with a file card');

    await card.getByRole('button', { name: 'Download' }).click();
    await expect(download).toHaveAttribute('data-state', 'done', { timeout: 120_000 });
    // The web build has no system dialogs: "Save as…" is the desktop app's.
    await expect(card.getByRole('button', { name: 'Save as…' })).toHaveCount(0);
    const saving = bob.page.waitForEvent('download', { timeout: 60_000 });
    await card.getByRole('button', { name: 'Save', exact: true }).click();
    const saved = await saving;
    expect(saved.suggestedFilename()).toBe('measurements.bin');
    const bytes = await readFile((await saved.path())!);
    expect(bytes.length).toBe(content.length);
    expect(sha256(bytes)).toBe(sha256(content));

    // Bob's receipt reaches Alice.
    await expect(sent).toHaveAttribute('data-status', 'delivered', { timeout: 60_000 });
  });

  test('3. Alice cancels a file while it is handed over: it is never announced to Bob', async () => {
    await alice.page.getByTestId('composer-file').setInputFiles({ name: 'draft.bin', mimeType: 'application/octet-stream', buffer: randomBytes(20 * 1024 * 1024) });
    await alice.page.getByTestId('composer-input').press('Enter');
    const card = messages(alice.page).filter({ hasText: 'draft.bin' });
    const upload = card.getByTestId('file-upload');
    await expect(upload).toBeVisible();
    await expect(upload.getByRole('progressbar')).toBeVisible();
    await screenshot(alice.page, 'files-03-uploading');
    await expectAccessible(alice.page, 'chat with a file being sent');
    await upload.getByRole('button', { name: 'Cancel' }).click();
    await expect(card).toHaveAttribute('data-status', 'cancelled');
    await expect(upload).toHaveCount(0);

    // A text sent after it arrives; the cancelled file never does.
    await sendText(alice.page, 'Never mind the draft.');
    await expect(messages(bob.page).filter({ hasText: 'Never mind the draft.' })).toHaveCount(1, { timeout: 60_000 });
    await expect(messages(bob.page).filter({ hasText: 'draft.bin' })).toHaveCount(0);
  });

  test('4. An image from Alice shows inline by itself; with the limit at 0 it waits for a click', async () => {
    await alice.page.getByTestId('composer-file').setInputFiles({ name: 'dot.png', mimeType: 'image/png', buffer: PNG });
    await alice.page.getByTestId('composer-input').press('Enter');
    // Alice sees what she sent, from the file she chose.
    await expect(messages(alice.page).filter({ hasText: 'dot.png' }).getByTestId('sent-image')).toHaveAttribute('alt', 'dot.png');
    const card = messages(bob.page).filter({ hasText: 'dot.png' });
    await expect(card).toHaveCount(1, { timeout: 60_000 });
    const image = card.getByTestId('inline-image');
    await expect(image).toBeVisible({ timeout: 60_000 });
    await expect(image).toHaveAttribute('alt', 'dot.png');
    // Decoded, not just placed.
    await expect.poll(() => image.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBe(160);
    await expectAccessible(bob.page, 'chat with an inline image');

    await goTo(bob.page, 'Settings');
    const limit = bob.page.getByLabel('Download images automatically up to (MB)');
    await expect(limit).toHaveValue('5');
    await limit.fill('0');
    await bob.page.getByRole('button', { name: 'Save file settings' }).click();
    await expect(bob.page.getByText('File settings saved.')).toBeVisible();
    await openConversationWith(bob.page, 'Alice');
    // What was shown stays shown when the conversation is opened again.
    await expect(card.getByTestId('inline-image')).toBeVisible();

    // This one is dropped on Alice's conversation instead of chosen.
    await alice.page.evaluate(`(() => {
      const bytes = Uint8Array.from(atob('${PNG.toString('base64')}'), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], 'second dot.png', { type: 'image/png' }));
      const chat = document.querySelector('.chat');
      chat.dispatchEvent(new DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }));
      chat.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    })()`);
    await expect(alice.page.getByTestId('composer-attachment')).toContainText('second dot.png');
    await alice.page.getByTestId('composer-input').press('Enter');

    const second = messages(bob.page).filter({ hasText: 'second dot.png' });
    await expect(second).toHaveCount(1, { timeout: 60_000 });
    await expect(second.getByTestId('file-download')).toHaveAttribute('data-state', 'none');
    await second.getByRole('button', { name: 'Download' }).click();
    await second.getByRole('button', { name: 'Show image' }).click();
    await expect(second.getByTestId('inline-image')).toBeVisible();
    await screenshot(bob.page, 'files-02-inline-images');

    // An image pasted into the input is attached like a chosen one.
    await alice.page.evaluate(`(() => {
      const bytes = Uint8Array.from(atob('${PNG.toString('base64')}'), (c) => c.charCodeAt(0));
      const clipboard = new DataTransfer();
      clipboard.items.add(new File([bytes], 'pasted.png', { type: 'image/png' }));
      const input = document.querySelector('[data-testid="composer-input"]');
      input.dispatchEvent(new ClipboardEvent('paste', { clipboardData: clipboard, bubbles: true, cancelable: true }));
    })()`);
    await expect(alice.page.getByTestId('composer-attachment')).toContainText('pasted.png');
    await alice.page.getByTestId('composer-input').fill('Pasted');
    await alice.page.getByTestId('composer-input').press('Enter');
    await expect(messages(bob.page).filter({ hasText: 'pasted.png' })).toContainText('Pasted', { timeout: 60_000 });
  });

  test('5. A file notice in Qabel’s original format is shown as one this app cannot open', async () => {
    // A stranger with a client of the original format writes to Bob's drop directly.
    const bobContact = parseQco(bobCard)[0]!;
    const stranger = await generateKeyPair();
    const payload = JSON.stringify({ msg: 'Here is the report', file: 'report.pdf', url: 'https://qabel.example/api/v0/files/abc', key: 'a'.repeat(64), size: 2048 });
    const pdu = await portableBox.sealPdu(
      stranger,
      fromHex(bobContact.publicKey, 32),
      encodeDropMessage({
        version: 1,
        time_stamp: Date.now(),
        sender: toHex(stranger.publicKey),
        drop_payload: payload,
        drop_payload_type: 'box_share_notification',
        acknowledge_id: '0',
        meta_data: { alias: 'Old Client' },
      }),
    );
    const posted = await fetch(bobContact.dropUrls[0]!, { method: 'POST', headers: { authorization: 'Client Qabel', 'content-type': 'application/octet-stream' }, body: pdu });
    expect(posted.status).toBe(200);

    await goTo(bob.page, 'Chats');
    await bob.page.getByTestId('conversation-item').filter({ hasText: 'Old Client' }).click({ timeout: 60_000 });
    const card = messages(bob.page).filter({ hasText: 'report.pdf' });
    await expect(card).toHaveCount(1);
    await expect(card.getByTestId('share-unsupported')).toHaveText('Shared file — this app cannot open files in this format.');
    await expect(card).toContainText('Here is the report');
    await expect(card).toContainText('2.0 KB');
    await expect(card.getByRole('button', { name: 'Download' })).toHaveCount(0);
    await expectAccessible(bob.page, 'a file notice this app cannot open');
  });

  test('6. A download that fails says why; Cancel forgets it; Resume once the sender’s server is back completes it', async () => {
    test.setTimeout(240_000);
    const content = randomBytes(3 * 1024 * 1024 + 17);
    await openConversationWith(alice.page, 'Bob');
    await alice.page.getByTestId('composer-file').setInputFiles({ name: 'notes.bin', mimeType: 'application/octet-stream', buffer: content });
    await alice.page.getByTestId('composer-input').press('Enter');
    await expect(messages(alice.page).filter({ hasText: 'notes.bin' })).toHaveAttribute('data-status', /posted|delivered/, { timeout: 60_000 });
    await openConversationWith(bob.page, 'Alice');
    const card = messages(bob.page).filter({ hasText: 'notes.bin' });
    await expect(card).toHaveCount(1, { timeout: 60_000 });

    const port = new URL(server.url).port;
    await server.stop();
    const download = card.getByTestId('file-download');
    await card.getByRole('button', { name: 'Download' }).click();
    await expect(download).toHaveAttribute('data-state', 'failed', { timeout: 60_000 });
    await expect(card.getByRole('alert')).toContainText('The download stopped:');
    await expect(card.getByRole('alert')).toContainText('Choose Resume once the connection is back');
    await screenshot(bob.page, 'files-04-download-failed');
    await expectAccessible(bob.page, 'chat with a failed download');
    await inDarkTheme(bob.page, async () => {
      await openConversationWith(bob.page, 'Alice');
      await screenshot(bob.page, 'files-05-dark-cards');
      await expectAccessible(bob.page, 'file cards in the dark theme');
    });
    await openConversationWith(bob.page, 'Alice');

    // Cancel forgets what arrived (`files/discard`); Download starts anew, and fails again while the server is away.
    await card.getByRole('button', { name: 'Cancel' }).click();
    await expect(download).toHaveAttribute('data-state', 'cancelled');
    await card.getByRole('button', { name: 'Download' }).click();
    await expect(download).toHaveAttribute('data-state', 'failed', { timeout: 60_000 });

    server = await startDropServer([...serverFlags(), '--port', port]);
    await card.getByRole('button', { name: 'Resume' }).click();
    await expect(download).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
    const saving = bob.page.waitForEvent('download', { timeout: 60_000 });
    await card.getByRole('button', { name: 'Save', exact: true }).click();
    const bytes = await readFile((await (await saving).path())!);
    expect(sha256(bytes)).toBe(sha256(content));
  });

  test('7. Alice’s engine dies while a file is handed over: the card says so, and Try again sends it once', async () => {
    test.setTimeout(240_000);
    const content = randomBytes(20 * 1024 * 1024);
    await openConversationWith(alice.page, 'Bob');
    await alice.page.getByTestId('composer-file').setInputFiles({ name: 'retry.bin', mimeType: 'application/octet-stream', buffer: content });
    await alice.page.getByTestId('composer-input').fill('Second try');
    await alice.page.getByTestId('composer-input').press('Enter');
    const card = messages(alice.page).filter({ hasText: 'retry.bin' });
    await expect(card.getByTestId('file-upload')).toBeVisible();
    await alice.host.kill();
    await expect(card).toHaveAttribute('data-status', 'failed');
    await expect(card.getByTestId('file-failed')).toContainText('The upload stopped when the connection to the engine was lost');
    await inDarkTheme(alice.page, async () => {
      await openConversationWith(alice.page, 'Bob');
      await screenshot(alice.page, 'files-06-dark-upload-failed');
      await expectAccessible(alice.page, 'a failed upload in the dark theme');
    });
    await openConversationWith(alice.page, 'Bob');

    await alice.host.restart();
    await expect(alice.page.getByTestId('connection-banner')).toBeHidden({ timeout: 60_000 });
    // Reconnected, the outbox resumes what is sending: the failed file is not among it.
    await expect(card).toHaveAttribute('data-status', 'failed');
    await card.getByRole('button', { name: 'Try again' }).click();
    await expect(card).toHaveAttribute('data-status', /posted|delivered/, { timeout: 120_000 });

    const received = messages(bob.page).filter({ hasText: 'retry.bin' });
    await expect(received).toHaveCount(1, { timeout: 60_000 });
    await expect(received).toContainText('Second try');
    await received.getByRole('button', { name: 'Download' }).click();
    await expect(received.getByTestId('file-download')).toHaveAttribute('data-state', 'done', { timeout: 120_000 });
    const saving = bob.page.waitForEvent('download', { timeout: 60_000 });
    await received.getByRole('button', { name: 'Save', exact: true }).click();
    expect(sha256(await readFile((await (await saving).path())!))).toBe(sha256(content));
    // The caption never went out as a chat text of its own.
    await expect(messages(bob.page).filter({ hasText: 'Second try' })).toHaveCount(1);
  });

  test('8. A 20 MB download cut in the middle resumes where it stopped (a range request) and saves the same bytes', async () => {
    test.setTimeout(240_000);
    // Bob's drop traffic goes through an HTTP proxy that cuts the first download after 4 MB.
    const proxy = await startCuttingProxy(4 * 1024 * 1024);
    const useProxy = async (url: string | null) => {
      await goTo(bob.page, 'Settings');
      await bob.page.getByLabel(url === null ? 'No proxy' : 'HTTP proxy').check();
      if (url !== null) await bob.page.getByLabel('Proxy address').fill(url);
      await bob.page.getByRole('button', { name: 'Save network settings' }).click();
      await expect(bob.page.getByText('Network settings saved.')).toBeVisible();
    };
    try {
      await useProxy(proxy.url);
      const content = randomBytes(20 * 1024 * 1024);
      await openConversationWith(alice.page, 'Bob');
      await alice.page.getByTestId('composer-file').setInputFiles({ name: 'cut.bin', mimeType: 'application/octet-stream', buffer: content });
      await alice.page.getByTestId('composer-input').press('Enter');
      await expect(messages(alice.page).filter({ hasText: 'cut.bin' })).toHaveAttribute('data-status', /posted|delivered/, { timeout: 120_000 });

      await openConversationWith(bob.page, 'Alice');
      const card = messages(bob.page).filter({ hasText: 'cut.bin' });
      await expect(card).toHaveCount(1, { timeout: 60_000 });
      const download = card.getByTestId('file-download');
      await card.getByRole('button', { name: 'Download' }).click();
      await expect(download).toHaveAttribute('data-state', 'failed', { timeout: 120_000 });
      expect(proxy.cuts()).toBe(1);
      await card.getByRole('button', { name: 'Resume' }).click();
      await expect(download).toHaveAttribute('data-state', 'done', { timeout: 120_000 });
      // The second request asked only for the rest.
      expect(proxy.rangeStarts().length).toBe(1);
      expect(proxy.rangeStarts()[0]).toBeGreaterThan(0);
      const saving = bob.page.waitForEvent('download', { timeout: 60_000 });
      await card.getByRole('button', { name: 'Save', exact: true }).click();
      expect(sha256(await readFile((await (await saving).path())!))).toBe(sha256(content));
    } finally {
      await useProxy(null);
      await proxy.close();
    }
  });
});

/**
 * An HTTP CONNECT proxy that cuts the first tunnel whose answers pass `cutAfter` bytes (a blob
 * download: polls are small), and notes the start of every `Range` a request through it asks for.
 */
async function startCuttingProxy(cutAfter: number) {
  let cuts = 0;
  const ranges: number[] = [];
  const sockets = new Set<Socket>();
  const server = createHttpServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req, client: Socket) => {
    const [host, port] = (req.url ?? '').split(':');
    const upstream = connect(Number(port), host!, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      let down = 0;
      upstream.on('data', (chunk: Buffer) => {
        down += chunk.length;
        if (cuts === 0 && down > cutAfter) {
          cuts++;
          client.destroy();
          upstream.destroy();
          return;
        }
        client.write(chunk);
      });
      client.on('data', (chunk: Buffer) => {
        const range = /range:\s*bytes=(\d+)-/i.exec(chunk.toString('latin1'));
        if (range) ranges.push(Number(range[1]));
        upstream.write(chunk);
      });
    });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    cuts: () => cuts,
    rangeStarts: () => [...ranges],
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
