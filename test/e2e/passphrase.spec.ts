/**
 * Passphrase and locking, in real Chromium against a real engine host (started locked, as `npm run
 * web` does) and a real drop server: choosing the first passphrase, Lock now (Settings and Ctrl+L),
 * the wrong-passphrase message, auto-lock after idle time (on a clock the test drives), and Change
 * passphrase, which holds across an engine restart.
 */
import { expect, test, type Page } from '@playwright/test';
import { allowLocalNetworkServers, createIdentity, expectAccessible, goTo, messages, openUser, screenshot, sendText, type User } from './support/appDriver.js';
import { type DropServer, startDropServer, startEngineHost } from './support/services.js';

const FIRST = 'orbit lantern velvet cactus';
const SECOND = 'marble heron quiet tundra';
const TEXT = 'written before locking';

/** The screen in light and dark, at 1280×800 and 800×600 (names like `30-choose-passphrase-dark-800`). */
async function screenshots(page: Page, name: string) {
  for (const theme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: theme });
    for (const [width, height] of [[1280, 800], [800, 600]] as const) {
      await page.setViewportSize({ width, height });
      await screenshot(page, `${name}-${theme}-${width}`);
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 1280, height: 800 });
}

async function unlock(page: Page, passphrase: string) {
  await page.getByLabel('Passphrase').fill(passphrase);
  await page.getByRole('button', { name: 'Unlock' }).click();
}

const unlockHeading = (page: Page) => page.getByRole('heading', { name: 'Unlock Deaddrop' });
const navigation = (page: Page) => page.getByRole('navigation', { name: 'Main' });

test.describe.serial('passphrase and locking', () => {
  let server: DropServer;
  let pat: User;

  test.beforeAll(async ({ browser }) => {
    server = await startDropServer();
    pat = await openUser(browser, 'pat', await startEngineHost('pat', { locked: true }));
  });

  test.afterAll(async () => {
    await pat?.context.close();
    await pat?.host.stop();
    await server?.stop();
  });

  test('first run asks to choose a passphrase: twice, long enough, with a strength hint and a warning', async () => {
    const page = pat.page;
    await expect(page.getByRole('heading', { name: 'Choose a passphrase' })).toBeVisible();
    await expect(unlockHeading(page)).toHaveCount(0);
    await expect(page.getByText('It cannot be recovered.')).toBeVisible();
    const strength = page.getByTestId('passphrase-strength');

    await page.getByLabel('New passphrase').fill('abc');
    await page.getByLabel('Repeat the passphrase').fill('abc');
    await expect(strength).toHaveAttribute('data-strength', 'too short');
    await page.getByRole('button', { name: 'Set passphrase' }).click();
    await expect(page.getByRole('alert')).toHaveText('Choose a passphrase of at least 8 characters.');

    await page.getByLabel('New passphrase').fill('password1');
    await expect(strength).toHaveAttribute('data-strength', 'weak');
    await page.getByLabel('New passphrase').fill(FIRST);
    await expect(strength).toHaveAttribute('data-strength', 'fair');
    await page.getByLabel('Repeat the passphrase').fill(`${FIRST}s`);
    await page.getByRole('button', { name: 'Set passphrase' }).click();
    await expect(page.getByRole('alert')).toHaveText('The two passphrases differ. Type the same passphrase twice.');
    await page.getByLabel('Repeat the passphrase').fill(FIRST);
    await expectAccessible(page, 'choose passphrase');
    await screenshots(page, '30-choose-passphrase');

    await page.getByRole('button', { name: 'Set passphrase' }).click();
    await expect(page.getByRole('heading', { name: 'Welcome to Deaddrop' })).toBeVisible();
    await createIdentity(page, 'Pat', server.url);
    await allowLocalNetworkServers(page);
    // A conversation to find again after each unlock: the sealed database must open again.
    await goTo(page, 'Contacts');
    await page.getByTestId('contact-paste').fill(['QABELCONTACT', 'Robin', `${server.url}/${'R'.repeat(43)}`, 'c'.repeat(63) + '1'].join('\n'));
    await page.getByRole('button', { name: 'Add contact', exact: true }).click();
    await page.getByRole('button', { name: 'Open conversation' }).click();
    await sendText(page, TEXT);
    await expect(messages(page).filter({ hasText: TEXT })).toHaveAttribute('data-status', /posted|delivered/);
  });

  test('Lock now in Settings shows the unlock screen; a wrong passphrase says so; Ctrl+L locks too', async () => {
    const page = pat.page;
    await goTo(page, 'Settings');
    const panel = page.getByRole('region', { name: 'Passphrase and locking' });
    await expect(panel.getByRole('button', { name: 'Lock now' })).toBeVisible();
    await panel.scrollIntoViewIfNeeded();
    await expectAccessible(page, 'settings security');
    await screenshots(page, '32-settings-security');

    await panel.getByRole('button', { name: 'Lock now' }).click();
    await expect(unlockHeading(page)).toBeVisible();
    // Nothing read with the keys is left on screen, and nothing decrypted in the page's stores.
    await expect(navigation(page)).toHaveCount(0);
    await expect(page.getByText('Robin')).toHaveCount(0);
    await unlock(page, 'orbit lantern velvet');
    await expect(page.getByRole('alert')).toHaveText('Wrong passphrase. Try again.');
    await expectAccessible(page, 'unlock wrong passphrase');
    await screenshots(page, '31-unlock-wrong-passphrase');

    await unlock(page, FIRST);
    await expect(navigation(page)).toBeVisible();
    // Unlocking returns to the screen the user was on.
    await expect(page.getByRole('region', { name: 'Passphrase and locking' })).toBeVisible();
    await goTo(page, 'Chats');
    await page.getByTestId('conversation-item').filter({ hasText: 'Robin' }).click();
    await expect(messages(page).filter({ hasText: TEXT })).toHaveCount(1);

    await page.getByTestId('composer-input').focus();
    await page.keyboard.press('Control+L');
    await expect(unlockHeading(page)).toBeVisible();
    await unlock(page, FIRST);
    await expect(navigation(page)).toBeVisible();
    // And to the conversation that was open.
    await expect(messages(page).filter({ hasText: TEXT })).toHaveCount(1);
  });

  test('auto-lock: locks after the chosen idle time, not before, and input restarts the count', async () => {
    const page = pat.page;
    await page.clock.install();
    await page.reload();
    await expect(navigation(page)).toBeVisible();
    await goTo(page, 'Settings');
    await page.getByLabel('Lock when not used').selectOption({ label: 'After 5 minutes' });
    await expect(page.getByText('Deaddrop locks after 5 minutes without use.')).toBeVisible();

    await page.clock.fastForward('04:00');
    await page.mouse.move(300, 300);
    await page.mouse.move(320, 310);
    await page.clock.fastForward('04:00');
    await expect(navigation(page)).toBeVisible();
    await page.clock.fastForward('01:30');
    await expect(unlockHeading(page)).toBeVisible();

    // The choice is the engine's: it holds after unlocking again (and in any other window).
    await unlock(page, FIRST);
    await goTo(page, 'Settings');
    await expect(page.getByLabel('Lock when not used')).toHaveValue('5');
    await page.getByLabel('Lock when not used').selectOption({ label: 'Never' });
    await expect(page.getByText('Auto-lock is off.')).toBeVisible();
    await page.clock.fastForward('02:00:00');
    await expect(navigation(page)).toBeVisible();
  });

  test('Change passphrase: needs the current one; afterwards only the new one unlocks, also after a restart', async () => {
    const page = pat.page;
    await goTo(page, 'Settings');
    const panel = page.getByRole('region', { name: 'Passphrase and locking' });
    await panel.getByLabel('Current passphrase').fill('not it at all');
    await panel.getByLabel('New passphrase', { exact: true }).fill(SECOND);
    await panel.getByLabel('Repeat the new passphrase').fill(SECOND);
    await panel.getByRole('button', { name: 'Change passphrase' }).click();
    await expect(panel.getByRole('alert')).toHaveText('Wrong passphrase: the current passphrase was not accepted. Nothing was changed.');

    await panel.getByLabel('Current passphrase').fill(FIRST);
    await panel.getByLabel('Repeat the new passphrase').fill('marble heron');
    await panel.getByRole('button', { name: 'Change passphrase' }).click();
    await expect(panel.getByRole('alert')).toHaveText('The two passphrases differ. Type the same passphrase twice.');
    await panel.getByLabel('Repeat the new passphrase').fill(SECOND);
    await panel.getByRole('button', { name: 'Change passphrase' }).click();
    await expect(page.getByText('Passphrase changed. Use the new one from now on.')).toBeVisible();
    await expect(panel.getByLabel('Current passphrase')).toHaveValue('');

    await pat.host.restart();
    await expect(unlockHeading(page)).toBeVisible();
    await unlock(page, FIRST);
    await expect(page.getByRole('alert')).toHaveText('Wrong passphrase. Try again.');
    await unlock(page, SECOND);
    await expect(navigation(page)).toBeVisible();
    await goTo(page, 'Chats');
    await page.getByTestId('conversation-item').filter({ hasText: 'Robin' }).click();
    await expect(messages(page).filter({ hasText: TEXT })).toHaveCount(1);
  });
});
