import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { type Browser, type BrowserContext, type Page, expect } from '@playwright/test';
import type { DropServer, EngineHost } from './services.js';

export const SCREENSHOT_DIR = join('artifacts', 'screenshots');

/** One person in a test: an engine host process, a browser context (own IndexedDB) and a page. */
export interface User {
  name: string;
  host: EngineHost;
  context: BrowserContext;
  page: Page;
}

export async function openUser(browser: Browser, name: string, host: EngineHost): Promise<User> {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  await page.goto(host.appUrl);
  return { name, host, context, page };
}

/** An `afterAll` in one call: each user's browser context and engine host, then the drop servers. */
export async function closeAll(users: (User | undefined)[], servers: (DropServer | undefined)[]): Promise<void> {
  for (const user of users) {
    await user?.context.close();
    await user?.host.stop();
  }
  await Promise.all(servers.map((server) => server?.stop()));
}

/** First run of a profile that keeps its keys under a passphrase: choose it (typed twice). */
export async function choosePassphrase(page: Page, passphrase: string) {
  await expect(page.getByRole('heading', { name: 'Choose a passphrase' })).toBeVisible();
  await page.getByLabel('New passphrase').fill(passphrase);
  await page.getByLabel('Repeat the passphrase').fill(passphrase);
  await page.getByRole('button', { name: 'Set passphrase' }).click();
  await expect(page.getByRole('heading', { name: 'Choose a passphrase' })).toHaveCount(0);
}

/** First run: alias, drop server, anonymity level. Waits until the messenger shows. */
export async function createIdentity(page: Page, alias: string, serverUrl: string, level: 'None' | 'Some' | 'Many' = 'None') {
  await page.getByLabel('Your name, as contacts will see it').fill(alias);
  await page.getByLabel('Drop server').fill(serverUrl);
  await page.getByRole('radio', { name: new RegExp(`^${level}`) }).check();
  await page.getByRole('button', { name: 'Create identity' }).click();
  await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();
}

export async function goTo(page: Page, place: 'Chats' | 'Contacts' | 'Identities' | 'Settings') {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: new RegExp(`^${place}`) }).click();
}

/** Polls every second so tests do not wait for the default interval. */
export async function setFastPolling(page: Page) {
  await goTo(page, 'Settings');
  const seconds = page.getByLabel('Check for messages every (seconds)');
  await expect(seconds).not.toHaveValue('');
  await seconds.fill('1');
  await page.getByRole('button', { name: 'Save network settings' }).click();
  await expect(page.getByText('Network settings saved.')).toBeVisible();
}

/** Turns on "Allow drop servers on this computer and the local network" in the network settings. */
export async function allowLocalNetworkServers(page: Page) {
  await goTo(page, 'Settings');
  const allow = page.getByLabel('Allow drop servers on this computer and the local network');
  await expect(page.getByLabel('Check for messages every (seconds)')).not.toHaveValue('');
  await allow.check();
  await page.getByRole('button', { name: 'Save network settings' }).click();
  await expect(page.getByText('Network settings saved.').last()).toBeVisible();
  await expect(allow).toBeChecked();
}

export async function openConversationWith(page: Page, alias: string) {
  await goTo(page, 'Chats');
  await page.getByTestId('conversation-item').filter({ hasText: alias }).click();
  await expect(page.getByRole('heading', { name: alias, level: 1 })).toBeVisible();
}

export async function sendText(page: Page, text: string) {
  const input = page.getByTestId('composer-input');
  await input.fill(text);
  await input.press('Enter');
  await expect(input).toHaveValue('');
}

/** The message bubbles currently rendered (the list is virtualised: the newest are on screen). */
export function messages(page: Page) {
  return page.getByTestId('message');
}

export async function screenshot(page: Page, name: string) {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`) });
}

/**
 * No serious or critical accessibility violation on what is on screen now. A confirmation notice fades
 * out over the last fifth of its life; contrast is judged at rest, so the check runs with reduced motion
 * (which the app honours by not fading) and puts motion back afterwards.
 */
export async function expectAccessible(page: Page, screen: string) {
  await page.emulateMedia({ reducedMotion: 'reduce' });
  const results = await new AxeBuilder({ page }).analyze().finally(() => page.emulateMedia({ reducedMotion: 'no-preference' }));
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(
    bad.map((v) => `${screen}: ${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
  ).toEqual([]);
}
