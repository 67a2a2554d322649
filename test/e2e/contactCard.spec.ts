/**
 * The contact card: Deaddrop's five-line DEADDROP1 code by default (QR and text), the four-line
 * QABELCONTACT code one switch away for Qabel apps, a `.qco` with the version-1 field, and both codes
 * (and the QR image) read back by another user. Small things a new user meets on the Contacts screen:
 * copying says so; no camera, no "Close camera".
 */
import { readFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { encodeV1Field } from '../../shared/protocol/contacts.js';
import { createIdentity, expectAccessible, goTo, openUser, screenshot, type User } from './support/appDriver.js';
import { type DropServer, type EngineHost, startDropServer, startEngineHost } from './support/services.js';

const V1_CODE = /^DEADDROP1\nHana\nhttp:\/\/127\.0\.0\.1:\d+\/[-_A-Za-z0-9]{43}\n[0-9a-f]{64}\n[-_A-Za-z0-9]{47}$/;
const V0_CODE = /^QABELCONTACT\nHana\nhttp:\/\/127\.0\.0\.1:\d+\/[-_A-Za-z0-9]{43}\n[0-9a-f]{64}$/;

test.describe.serial('contact card and scanner', () => {
  let server: DropServer;
  let host: EngineHost;
  let otherHost: EngineHost;
  let hana: User;
  let ivo: User;
  let v1Code = '';
  let v0Code = '';
  let qrPng: Buffer = Buffer.alloc(0);

  test.beforeAll(async ({ browser }) => {
    test.setTimeout(120_000);
    server = await startDropServer();
    [host, otherHost] = await Promise.all([startEngineHost('card'), startEngineHost('card-reader')]);
    hana = await openUser(browser, 'card', host);
    ivo = await openUser(browser, 'card-reader', otherHost);
  });
  test.afterAll(async () => {
    await hana?.context.close();
    await ivo?.context.close();
    await host?.stop();
    await otherHost?.stop();
    await server?.stop();
  });

  test('the card shows DEADDROP1 by default; "For Qabel apps" switches QR, text and copy to QABELCONTACT; the .qco carries the prekey', async () => {
    const page = hana.page;
    await hana.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(host.appUrl).origin });
    await createIdentity(page, 'Hana', server.url);
    await goTo(page, 'Contacts');
    await page.getByRole('button', { name: 'My contact card' }).click();

    const qr = page.getByTestId('my-qr');
    const text = page.getByTestId('my-contact-text');
    const forQabel = page.getByRole('switch', { name: 'For Qabel apps' });
    await expect(forQabel).not.toBeChecked();
    await expect(qr).toHaveAttribute('data-format', 'DEADDROP1');
    await expect(text).toHaveText(V1_CODE);
    v1Code = (await text.textContent()) ?? '';
    await page.getByRole('button', { name: 'Copy contact text' }).click();
    await expect(page.getByRole('button', { name: 'Copied' })).toBeVisible();
    expect(await page.evaluate<string>('navigator.clipboard.readText()')).toBe(v1Code);
    await expect(page.getByRole('button', { name: 'Copy contact text' })).toBeVisible({ timeout: 5000 });
    const src = (await qr.getAttribute('src')) ?? '';
    qrPng = Buffer.from(src.slice(src.indexOf(',') + 1), 'base64');
    await screenshot(page, '26-contact-card-deaddrop1');
    await expectAccessible(page, 'my contact card');

    // One click away: the Qabel code, in the QR, the text and what is copied; and back.
    await forQabel.check();
    await expect(qr).toHaveAttribute('data-format', 'QABELCONTACT');
    await expect(text).toHaveText(V0_CODE);
    v0Code = (await text.textContent()) ?? '';
    expect(v0Code.split('\n').slice(1, 4)).toEqual(v1Code.split('\n').slice(1, 4));
    await expect(page.getByText('The older four-line code (QABELCONTACT) that Qabel apps read.')).toBeVisible();
    await page.getByRole('button', { name: 'Copy contact text' }).click();
    // The copy is written asynchronously (the clipboard still holds the DEADDROP1 code until then).
    await expect.poll(() => page.evaluate<string>('navigator.clipboard.readText()')).toBe(v0Code);
    await screenshot(page, '27-contact-card-for-qabel');
    await forQabel.uncheck();
    await expect(text).toHaveText(v1Code);

    const download = page.waitForEvent('download', { timeout: 30_000 });
    await page.getByRole('button', { name: 'Export .qco file' }).click();
    const qco = JSON.parse((await readFile((await (await download).path())!)).toString('utf8')) as {
      contacts: { alias: string; public_key: string; drop_urls: string[]; deaddrop?: { v: number; qpk: string } }[];
    };
    expect(qco.contacts).toHaveLength(1);
    expect(qco.contacts[0]).toMatchObject({ alias: 'Hana', public_key: v1Code.split('\n')[3], drop_urls: [v1Code.split('\n')[2]] });
    expect(qco.contacts[0]!.deaddrop).toMatchObject({ v: 1, qpk: expect.stringMatching(/^[-_A-Za-z0-9]{47}$/) });
  });

  test('another user adds the card from either code, from the QR image, and an expired prekey only costs the prekey', async () => {
    const page = ivo.page;
    await createIdentity(page, 'Ivo', server.url);
    await goTo(page, 'Contacts');
    const paste = page.getByTestId('contact-paste');
    await expect(paste).toHaveAttribute('placeholder', /DEADDROP1 \(or QABELCONTACT\)/);

    // The four-line code first: Hana is added without a prekey.
    await paste.fill(v0Code);
    await page.getByRole('button', { name: 'Add contact', exact: true }).click();
    await expect(page.getByTestId('notice-info').filter({ hasText: 'Hana was added to your contacts.' })).toBeVisible();
    await page.getByRole('button', { name: 'Dismiss notice' }).click();
    await expect(page.getByRole('heading', { name: 'Hana', level: 2 })).toBeVisible();
    await expect(page.getByTestId('contact-prekey')).toHaveCount(0);

    // The five-line code of the same person updates the card with its prekey.
    await page.getByRole('button', { name: 'New contact' }).click();
    await paste.fill(v1Code);
    await page.getByRole('button', { name: 'Add contact', exact: true }).click();
    await expect(page.getByTestId('notice-info').filter({ hasText: 'Hana is already in your contacts; the card was updated.' })).toBeVisible();
    await expect(page.getByTestId('contact-prekey')).toContainText('Their card carried a prekey, usable until');
    await page.getByRole('button', { name: 'Dismiss notice' }).click();
    await expect(page.getByTestId('notice-info')).toHaveCount(0);

    // The QR image as Hana's screen showed it, read by the QR reader: a DEADDROP1 code, understood.
    await page.getByRole('button', { name: 'New contact' }).click();
    await page.getByTestId('contact-qr-image').setInputFiles({ name: 'hana.png', mimeType: 'image/png', buffer: qrPng });
    await expect(page.getByTestId('notice-info').filter({ hasText: 'Hana is already in your contacts; the card was updated.' })).toBeVisible();
    await expect(page.getByTestId('notice-info')).not.toContainText('prekey');
    await expect(page.getByTestId('contact-prekey')).toBeVisible();

    // Someone's old five-line code whose prekey expired long ago: added all the same, and one quiet line says what is missing.
    const expired = ['DEADDROP1', 'Jun', `${server.url}/${'J'.repeat(43)}`, 'e7'.repeat(32), encodeV1Field({ qrPrekey: '5a'.repeat(32), qrPrekeyExpiresDay: 19_000, caps: 1 })].join('\n');
    await page.getByRole('button', { name: 'New contact' }).click();
    await paste.fill(expired);
    await page.getByRole('button', { name: 'Add contact', exact: true }).click();
    await expect(page.getByTestId('notice-info').filter({ hasText: 'Jun was added to your contacts.' })).toContainText(
      'Jun was added without the prekey on their card: it has expired, so messages to them become forward secret only once they answer.',
    );
    await expect(page.getByRole('heading', { name: 'Jun', level: 2 })).toBeVisible();
    await expect(page.getByTestId('contact-prekey')).toHaveCount(0);

    // A broken code names both formats to ask for.
    await page.getByRole('button', { name: 'New contact' }).click();
    await paste.fill(v1Code.split('\n').slice(0, 4).join('\n'));
    await page.getByRole('button', { name: 'Add contact', exact: true }).click();
    await expect(page.getByTestId('add-contact-error')).toContainText('it starts with DEADDROP1, or QABELCONTACT from Qabel apps');
  });

  test('scanning without a camera offers no "Close camera"', async () => {
    const page = hana.page;
    // No camera in this browser: the scanner says so, and its button only dismisses the message.
    await page.getByRole('button', { name: 'New contact' }).click();
    await page.getByRole('button', { name: 'Scan with camera' }).click();
    await expect(page.getByRole('alert').filter({ hasText: /camera/ })).toBeVisible();
    await expect(page.getByRole('button', { name: 'Close camera' })).toHaveCount(0);
    await screenshot(page, '25-scanner-without-camera');
    await page.getByRole('button', { name: 'Dismiss' }).click();
    await expect(page.getByRole('alert').filter({ hasText: /camera/ })).toHaveCount(0);
  });
});
