import { expect, test } from '@playwright/test';
import { closeAll, createIdentity, expectAccessible, goTo, openUser, screenshot, setFastPolling, type User } from './support/appDriver.js';
import { type DropServer, startDropServer, startEngineHost } from './support/services.js';

/**
 * Removing a device through the real UI (PROTOCOL-V1.md 5c "Removing a device"): Alice's laptop is
 * linked to her desktop; under Settings → Devices the desktop sees when the laptop was last heard
 * from, removes it after a confirmation, and the laptop, reading the new list in Alice's drops, says
 * that it was removed from Alice.
 */
test.describe.serial('removing a device', () => {
  let server: DropServer;
  let desktop: User;
  let laptop: User;

  test.beforeAll(async ({ browser }) => {
    test.setTimeout(180_000);
    server = await startDropServer();
    const [desktopHost, laptopHost] = await Promise.all([startEngineHost('desktop'), startEngineHost('laptop')]);
    desktop = await openUser(browser, 'desktop', desktopHost);
    laptop = await openUser(browser, 'laptop', laptopHost);
  });

  test.afterAll(() => closeAll([desktop, laptop], [server]));

  test('1. the laptop is linked to Alice’s desktop', async () => {
    await createIdentity(desktop.page, 'Alice', server.url);
    await setFastPolling(desktop.page);
    await goTo(desktop.page, 'Settings');
    const panel = desktop.page.getByTestId('devices-panel');
    await panel.getByLabel('This device’s name').fill('Desktop');
    await panel.getByRole('button', { name: 'Rename' }).click();
    await panel.getByRole('button', { name: 'Link a new device' }).click();
    await panel.getByRole('button', { name: 'Show the link code' }).click();
    await expect(panel.getByTestId('link-text')).toHaveText(/^DEADDROP-LINK\s/);
    const linkString = (await panel.getByTestId('link-text').textContent())!;
    await laptop.page.getByRole('button', { name: 'Link to an existing device' }).click();
    await laptop.page.getByLabel('Link code').fill(linkString);
    await laptop.page.getByLabel('Name of this device').fill('Laptop');
    await laptop.page.getByRole('button', { name: 'Link this device' }).click();
    await expect(laptop.page.getByTestId('join-code')).toHaveText(/^[0-9]{3} [0-9]{3}$/);
    const laptopCode = (await laptop.page.getByTestId('join-code').textContent())!;
    await expect(panel.getByTestId('link-code')).toHaveText(laptopCode);
    await panel.getByRole('button', { name: 'Yes, the same' }).click();
    await expect(panel.getByTestId('link-done')).toBeVisible();
    await expect(laptop.page.getByRole('navigation', { name: 'Main' })).toBeVisible();
    await panel.getByRole('button', { name: 'Close' }).click();
    await expect(panel.getByTestId('device-row')).toHaveCount(2);
  });

  test('2. the desktop removes the laptop after confirming; the laptop says it was removed', async () => {
    await setFastPolling(laptop.page);
    const panel = desktop.page.getByTestId('devices-panel');
    const laptopRow = panel.getByTestId('device-row').filter({ hasText: 'Laptop' });
    await expect(laptopRow).toContainText(/last seen|not heard from here yet/);
    await laptopRow.getByRole('button', { name: 'Remove Laptop' }).click();
    const confirm = panel.getByRole('alertdialog', { name: 'Remove Laptop?' });
    await expect(confirm).toContainText('Remove Laptop from Alice?');
    await screenshot(desktop.page, 'devices-06-remove-confirm');
    await expectAccessible(desktop.page, 'remove device confirmation');
    await confirm.getByRole('button', { name: 'Keep it' }).click();
    await expect(panel.getByTestId('device-row')).toHaveCount(2);

    await laptopRow.getByRole('button', { name: 'Remove Laptop' }).click();
    await panel.getByRole('alertdialog', { name: 'Remove Laptop?' }).getByRole('button', { name: 'Remove it' }).click();
    await expect(panel.getByTestId('device-row')).toHaveCount(1);
    await expect(panel.getByTestId('device-row')).toContainText('This device');

    // The laptop (in Settings since it set its polling) reads the desktop's new list in Alice's drops.
    const laptopPanel = laptop.page.getByTestId('devices-panel');
    await expect(laptopPanel.getByTestId('device-removed')).toContainText('This device was removed from Alice', { timeout: 30_000 });
    await expect(laptopPanel.getByRole('button', { name: /^Remove/ })).toHaveCount(0);
    await expect(laptopPanel.getByRole('button', { name: 'Link a new device' })).toHaveCount(0);
    await screenshot(laptop.page, 'devices-07-removed');
    // And above every other screen.
    await goTo(laptop.page, 'Chats');
    await expect(laptop.page.getByTestId('device-removed-banner')).toContainText('This device was removed from Alice');
    // Read only, and what to do next.
    await expect(laptop.page.getByTestId('device-removed-banner')).toContainText('To use it again, link it from a device that still holds Alice');
  });
});
