/** Small things a new user meets on the Contacts screen: copying the card says so; no camera, no "Close camera". */
import { expect, test } from '@playwright/test';
import { createIdentity, goTo, openUser, screenshot } from './support/appDriver.js';
import { type DropServer, type EngineHost, startDropServer, startEngineHost } from './support/services.js';

test.describe('contact card and scanner', () => {
  let server: DropServer;
  let host: EngineHost;
  test.beforeAll(async () => {
    server = await startDropServer();
    host = await startEngineHost('card');
  });
  test.afterAll(async () => {
    await host?.stop();
    await server?.stop();
  });

  test('"Copy contact text" copies the card and says "Copied"; scanning without a camera offers no "Close camera"', async ({ browser }) => {
    const user = await openUser(browser, 'card', host);
    const page = user.page;
    await user.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(host.appUrl).origin });
    await createIdentity(page, 'Hana', server.url);
    await goTo(page, 'Contacts');
    await page.getByRole('button', { name: 'My contact card' }).click();
    await page.getByRole('button', { name: 'Copy contact text' }).click();
    await expect(page.getByRole('button', { name: 'Copied' })).toBeVisible();
    expect(await page.evaluate<string>('navigator.clipboard.readText()')).toMatch(/^QABELCONTACT\nHana\nhttp:\/\/127\.0\.0\.1:\d+\/[-_A-Za-z0-9]{43}\n[0-9a-f]{64}$/);
    await expect(page.getByRole('button', { name: 'Copy contact text' })).toBeVisible({ timeout: 5000 });

    // No camera in this browser: the scanner says so, and its button only dismisses the message.
    await page.getByRole('button', { name: 'New contact' }).click();
    await page.getByRole('button', { name: 'Scan with camera' }).click();
    await expect(page.getByRole('alert').filter({ hasText: /camera/ })).toBeVisible();
    await expect(page.getByRole('button', { name: 'Close camera' })).toHaveCount(0);
    await screenshot(page, '25-scanner-without-camera');
    await page.getByRole('button', { name: 'Dismiss' }).click();
    await expect(page.getByRole('alert').filter({ hasText: /camera/ })).toHaveCount(0);
    await user.context.close();
  });
});
