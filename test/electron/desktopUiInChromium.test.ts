import { existsSync } from 'node:fs';
import path from 'node:path';
import { type Browser, type Page, chromium } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HeadlessMain, startHeadlessMain, until } from './fakes/headlessMain.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../support/chromium.js';

// The built UI in the system Chromium, talking to the real main process code (headless, fake electron)
// through the real preload API modules: the desktop path minus Electron itself. Pages come from main's
// own app-scheme handler (CSP header included) under an http stand-in origin, since Chromium does not
// know `deaddrop://`. This also checks the first-run flow the Electron smoke test drives.

const skipReason = existsSync(CHROMIUM_PATH) ? null : `${CHROMIUM_PATH} is missing (apt-get install chromium)`;
if (skipReason) console.warn(`Desktop UI in Chromium skipped: ${skipReason}`);

const STAND_IN_ORIGIN = 'http://app.deaddrop.test';

describe.skipIf(skipReason !== null)('desktop UI over main IPC, in Chromium', () => {
  let main: HeadlessMain;
  let browser: Browser;
  let page: Page;
  let preloadScript = '';
  const cspViolations: string[] = [];
  const pageErrors: string[] = [];

  /** A page of the built UI served by main's scheme handler, with the preload modules over `invoke`. */
  async function openUi(preloadScript: string, invoke: (channel: string, request: unknown) => Promise<unknown>): Promise<Page> {
    const context = await browser.newContext();
    const scheme = main.fake.protocolHandlers.get('deaddrop');
    if (!scheme) throw new Error('main did not register the app scheme');
    // Every request of the page is answered by main's deaddrop:// handler; nothing reaches a network.
    await context.route('**/*', async (route) => {
      const url = new URL(route.request().url());
      if (url.origin !== STAND_IN_ORIGIN) return route.abort();
      const response = await scheme(new Request(`deaddrop://app${url.pathname}`));
      await route.fulfill({
        status: response.status,
        headers: Object.fromEntries(response.headers),
        body: Buffer.from(await response.arrayBuffer()),
      });
    });
    await context.exposeBinding('__deaddropIpcInvoke', (_source, channel: string, request: unknown) => invoke(channel, request));
    await context.addInitScript({ content: preloadScript });
    const opened = await context.newPage();
    opened.on('console', (message) => {
      // Blocked loads and inline code show up as "Refused to ..." / "violates the following Content Security Policy".
      if (/Refused to|violates the following Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
    opened.on('pageerror', (error) => pageErrors.push(error.message));
    await opened.goto(`${STAND_IN_ORIGIN}/index.html`);
    return opened;
  }

  beforeAll(async () => {
    main = await startHeadlessMain('ui', async (dir) => {
      const { build } = await import('vite');
      await build({
        configFile: path.resolve('renderer/vite.config.ts'),
        logLevel: 'error',
        build: { outDir: dir, emptyOutDir: true, sourcemap: false },
      });
    });
    const esbuild = await import('esbuild');
    const preload = await esbuild.build({
      entryPoints: [path.resolve('test/electron/fakes/pagePreload.ts')],
      bundle: true,
      format: 'iife',
      platform: 'browser',
      write: false,
      logLevel: 'error',
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: CHROMIUM_ARGS,
    });
    const window = main.fake.windows[0]!;
    preloadScript = preload.outputFiles[0]!.text;
    page = await openUi(preloadScript, (channel, request) => main.call(channel, request));
    window.webContents.on('ipc-sent', (channel: string, payload: unknown) => {
      void page
        .evaluate(([c, p]) => (globalThis as unknown as { __deaddropIpcDeliver(c: string, p: unknown): void }).__deaddropIpcDeliver(c, p), [channel, payload] as const)
        .catch(() => undefined);
    });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await main?.stop();
  });

  it('shows first run, creates an identity through the UI, and shows an incoming message with a notification', async () => {
    await page.getByRole('heading', { name: 'Welcome to Deaddrop' }).waitFor({ timeout: 30_000 });
    // First run offers a drop server on this computer: choosing it starts main's local server and
    // fills the server field with its loopback URL.
    expect((await main.call('localServer/status', {})).value).toMatchObject({ running: false });
    await page.getByLabel('Your name, as contacts will see it').fill('Alice');
    await page.getByLabel('Port (empty: any free port)').fill('70000');
    await page.getByRole('button', { name: 'Run a drop server on this computer' }).click();
    await page.getByRole('alert').getByText('The port must be a number from 1 to 65535').waitFor({ timeout: 10_000 });
    await page.getByLabel('Port (empty: any free port)').fill('');
    await page.getByRole('button', { name: 'Run a drop server on this computer' }).click();
    await page.getByText(/^Running at/).waitFor({ timeout: 30_000 });
    const status = await main.call('localServer/status', {});
    const serverUrl = status.value!.url;
    expect(status.value).toMatchObject({ running: true });
    expect(serverUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
    await expect.poll(() => page.getByLabel('Drop server', { exact: true }).inputValue(), { timeout: 10_000 }).toBe(serverUrl);
    await page.getByRole('button', { name: 'Create identity' }).click();
    await page.getByRole('heading', { name: 'Welcome to Deaddrop' }).waitFor({ state: 'detached', timeout: 30_000 });
    const identities = await main.call('identities/list', {});
    const alice = (identities.value as unknown as { id: string; alias: string; publicKey: string; dropUrls: string[] }[]).find((i) => i.alias === 'Alice')!;
    expect(alice).toBeDefined();
    expect(alice.dropUrls.every((url) => url.startsWith(serverUrl))).toBe(true);

    // Bob lives in the same engine (one profile here); he writes to Alice's card.
    const bob = await main.call('identities/create', { alias: 'Bob', serverUrl });
    const card = await main.call('identities/contactCard', { identityId: alice.id });
    const [, , urls, publicKey] = card.value!.contactString.split('\n');
    main.fake.windows[0]!.blur();
    const sent = await main.call('messages/send', {
      identityId: bob.value!.id,
      localId: 'ui-1',
      recipient: { publicKey, dropUrls: urls!.split(', ') },
      text: 'Hello Alice, from the desktop path',
    });
    expect(sent.ok).toBe(true);
    await main.call('poller/pollNow', {});
    await until('a notification for Alice', () => main.fake.notifications.some((n) => n.options.body === 'Hello Alice, from the desktop path'));
    // The UI stored the batch and acknowledged it; main saw the acknowledgement through IPC.
    await expect.poll(() => page.getByText('Hello Alice, from the desktop path').count(), { timeout: 30_000 }).toBeGreaterThan(0);
    // Clicking the notification brings the window up and the UI opens Bob's conversation.
    main.fake.notifications.find((n) => n.options.body === 'Hello Alice, from the desktop path')!.emit('click');
    expect(main.fake.windows[0]!.isFocused()).toBe(true);
    await page.getByRole('region', { name: /^Conversation with Bob/ }).waitFor({ timeout: 30_000 });
    expect(pageErrors).toEqual([]);
    expect(cspViolations).toEqual([]);
  }, 120_000);
  it('hides the local drop server choice where the host cannot run one', async () => {
    // A host answering `localServer/status` with `unavailable` (as the browser test host does) and no identities.
    let statusAnswered = false;
    const other = await openUi(preloadScript, async (channel, request) => {
      if (channel === 'localServer/status') {
        statusAnswered = true;
        return { ok: false, error: { code: 'unavailable', message: 'Not in this host.' } };
      }
      if (channel === 'identities/list') return { ok: true, value: [] };
      return main.call(channel, request);
    });
    await other.getByRole('heading', { name: 'Welcome to Deaddrop' }).waitFor({ timeout: 30_000 });
    await other.getByLabel('Drop server', { exact: true }).waitFor({ timeout: 10_000 });
    await expect.poll(() => statusAnswered, { timeout: 10_000 }).toBe(true);
    // Two frames after the answer: React has committed whatever the answer rendered.
    await other.evaluate(() => {
      const frame = (globalThis as unknown as { requestAnimationFrame(callback: () => void): void }).requestAnimationFrame;
      return new Promise<void>((resolve) => frame(() => frame(resolve)));
    });
    expect(await other.getByRole('button', { name: 'Run a drop server on this computer' }).count()).toBe(0);
    expect(await other.getByText('Or run a drop server on this computer').count()).toBe(0);
    await other.context().close();
  }, 60_000);
});
