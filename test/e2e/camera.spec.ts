import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, expect, test } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../playwright.config.js';
import { createIdentity, expectAccessible, goTo, screenshot } from './support/appDriver.js';
import { writeQrVideo } from './support/qrVideo.js';
import { startDropServer, startEngineHost } from './support/services.js';

/**
 * Adding a contact by scanning: Chromium's fake camera plays a video of a QR code (the camera is
 * granted to the page as the desktop app grants it on user action).
 */
test('a contact is added by scanning a QR code with the camera', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'deaddrop-camera-'));
  const video = join(dir, 'qr.y4m');
  const contactKey = 'c0ffee'.padEnd(64, '0');
  const contactString = ['QABELCONTACT', 'Grace', `http://127.0.0.1:9/drop/${'G'.repeat(43)}`, contactKey].join('\n');
  await writeQrVideo(video, contactString);

  const server = await startDropServer();
  const host = await startEngineHost('frank');
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [...CHROMIUM_ARGS, '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${video}`],
  });
  try {
    const context = await browser.newContext({ permissions: ['camera'] });
    const page = await context.newPage();
    await page.goto(host.appUrl);
    await createIdentity(page, 'Frank', server.url);
    await goTo(page, 'Contacts');
    await page.getByRole('button', { name: 'Scan with camera' }).click();
    await expect(page.getByText('Grace was added to your contacts.')).toBeVisible();
    await expect(page.getByTestId('fingerprint')).toContainText('c0ff');
    await expect(page.getByLabel('Camera preview for scanning a QR code')).toHaveCount(0);
    await screenshot(page, '18-scanned-contact');
    await expectAccessible(page, 'scanned contact');
  } finally {
    await browser.close();
    await host.stop();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
