import { readFile } from 'node:fs/promises';
import { type Page, expect, test } from '@playwright/test';
import { closeAll, createIdentity, expectAccessible, goTo, messages, openConversationWith, openUser, screenshot, sendText, setFastPolling, type User } from './support/appDriver.js';
import { type DropServer, startDropServer, startEngineHost } from './support/services.js';

/**
 * Proof of work as the sender sees it (PROTOCOL-V1 3c L2): the drop server is held under pressure
 * (`--pow-above 0`: once it stores anything, every ticketless POST needs a stamp), with 22 bits so a
 * stamp takes a few seconds. Lev's messages to Mia get stamped; while a stamp is computed the bubble
 * says "Proving work for <host>… n %" (never 100 %, gone once posted), and every message arrives once. Then the Closed drops switch.
 */
test.describe.serial('proof of work', () => {
  let server: DropServer;
  let mia: User;
  let lev: User;

  test.beforeAll(async ({ browser }) => {
    test.setTimeout(120_000);
    server = await startDropServer(['--pow-above', '0', '--pow-bits', '22', '--log-level', 'warn']);
    const [miaHost, levHost] = await Promise.all([startEngineHost('mia'), startEngineHost('lev')]);
    mia = await openUser(browser, 'mia', miaHost);
    lev = await openUser(browser, 'lev', levHost);
  });

  test.afterAll(() => closeAll([mia, lev], [server]));

  const status = (page: Page, text: string) => messages(page).filter({ hasText: text }).getByTestId('message-status');

  test('Lev writes to Mia through a server that asks for stamps: each message is posted and arrives once', async () => {
    await createIdentity(mia.page, 'Mia', server.url);
    await createIdentity(lev.page, 'Lev', server.url);
    await setFastPolling(mia.page);
    await setFastPolling(lev.page);

    await goTo(mia.page, 'Contacts');
    await mia.page.getByRole('button', { name: 'My contact card' }).click();
    const download = mia.page.waitForEvent('download', { timeout: 30_000 });
    await mia.page.getByRole('button', { name: 'Export .qco file' }).click();
    const qco = (await readFile((await (await download).path())!)).toString('utf8');
    await goTo(lev.page, 'Contacts');
    await lev.page.getByTestId('contact-file').setInputFiles({ name: 'contact-Mia.qco', mimeType: 'application/json', buffer: Buffer.from(qco) });
    await expect(lev.page.getByText('Mia was added to your contacts.')).toBeVisible();
    await lev.page.getByTestId('contact-item').filter({ hasText: 'Mia' }).click();
    await lev.page.getByRole('button', { name: 'Open conversation' }).click();

    // Whether a stamp's progress was ever on screen (it may be over between two frames).
    // (A script in the page's own words: this file is type-checked without the DOM's types.)
    await lev.page.evaluate(`
      window.stampLines = [];
      new MutationObserver(() => {
        for (const line of document.querySelectorAll('[data-testid=stamp-progress]')) window.stampLines.push(line.textContent ?? '');
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    `);

    const texts = ['First, before the server holds anything.', 'Second, stamped.', 'Third, stamped too.'];
    for (const text of texts) {
      await sendText(lev.page, text);
      await expect(status(lev.page, text)).toHaveText(/Sent|Posted|Delivered/, { timeout: 60_000 });
    }
    const lines = (await lev.page.evaluate('window.stampLines')) as string[];
    const host = new URL(server.url).host;
    for (const line of lines) expect(line).toMatch(new RegExp(`^Proving work for ${host.replace(/[.]/g, '\\.')}… ([0-9]|[1-9][0-9]) %$`));
    // 22 bits: about four million hashes on average, seconds of work, so the lines cannot all be missed.
    expect(lines.length).toBeGreaterThan(0);
    // Posted: no progress left on any bubble.
    await expect(lev.page.getByTestId('stamp-progress')).toHaveCount(0);
    await screenshot(lev.page, '45-stamped-messages');

    await openConversationWith(mia.page, 'Lev');
    for (const text of texts) await expect(messages(mia.page).filter({ hasText: text })).toHaveCount(1, { timeout: 60_000 });
  });

  test('the Closed drops switch is off by default, says what it does, and is kept once saved', async () => {
    await goTo(mia.page, 'Settings');
    const closed = mia.page.getByRole('switch', { name: 'Closed drops' });
    await expect(mia.page.getByLabel('Check for messages every (seconds)')).not.toHaveValue('');
    await expect(closed).not.toBeChecked();
    await expect(mia.page.getByText('strangers, original Qabel apps and contacts without tickets must send a proof of work')).toBeVisible();
    await closed.check();
    await mia.page.getByRole('button', { name: 'Save network settings' }).click();
    await expect(mia.page.getByText('Network settings saved.').last()).toBeVisible();
    await expectAccessible(mia.page, 'settings with closed drops');
    await mia.page.reload();
    await goTo(mia.page, 'Settings');
    await expect(mia.page.getByLabel('Check for messages every (seconds)')).not.toHaveValue('');
    await expect(mia.page.getByRole('switch', { name: 'Closed drops' })).toBeChecked();
  });
});
