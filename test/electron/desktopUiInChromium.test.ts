import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
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
  it('raises no notification and leaves the badge unchanged for an ignored and a blocked sender', async () => {
    const list = (await main.call('identities/list', {})).value as unknown as { id: string; alias: string }[];
    const alice = list.find((i) => i.alias === 'Alice')!;
    const card = await main.call('identities/contactCard', { identityId: alice.id });
    const [, , urls, publicKey] = card.value!.contactString.split('\n');
    const serverUrl = (await main.call('localServer/status', {})).value!.url;
    const carol = await main.call('identities/create', { alias: 'Carol', serverUrl });
    const dave = await main.call('identities/create', { alias: 'Dave', serverUrl });
    const bob = list.find((i) => i.alias === 'Bob')!;
    const write = async (from: string, localId: string, text: string) => {
      expect((await main.call('messages/send', { identityId: from, localId, recipient: { publicKey, dropUrls: urls!.split(', ') }, text })).ok).toBe(true);
      await main.call('poller/pollNow', {});
    };
    const noticed = (text: string) => main.fake.notifications.some((n) => n.options.body === text);
    const badge = () => main.fake.badge.at(-1);
    const conversation = (name: string) => page.getByTestId('conversation-item').filter({ hasText: name });
    const nav = (place: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: new RegExp(`^${place}`) }).click();

    // Strangers' first messages notify; the UI then ignores Carol and blocks Dave.
    await nav('Chats');
    await write(carol.value!.id, 'carol-1', 'Carol writes first');
    await write(dave.value!.id, 'dave-1', 'Dave writes first');
    await until('notifications for Carol and Dave', () => noticed('Carol writes first') && noticed('Dave writes first'));
    for (const [name, action] of [['Carol', 'Ignore'], ['Dave', 'Block']] as const) {
      await conversation(name).click();
      const request = page.getByRole('region', { name: 'Contact request' });
      await request.getByRole('button', { name: action, exact: true }).click();
      // Block asks first.
      if (action === 'Block') await request.getByRole('button', { name: `Block ${name}` }).click();
      await request.waitFor({ state: 'detached', timeout: 10_000 });
    }
    // Nothing on screen: every conversation would notify now, were it not for the UI's decision. Each
    // conversation was read when it was open, so nothing is unread.
    await nav('Contacts');
    await expect.poll(badge, { timeout: 10_000 }).toBe(0);
    const shownBefore = main.fake.notifications.length;

    await write(carol.value!.id, 'carol-2', 'Carol writes again');
    await write(dave.value!.id, 'dave-2', 'Dave writes again');
    // Batches are stored in order: once Bob's later message notified, the two before it were handled.
    await write(bob.id, 'bob-2', 'Bob writes after them');
    await until('the notification for Bob', () => noticed('Bob writes after them'));
    expect(main.fake.notifications.slice(shownBefore).map((n) => n.options.body)).toEqual(['Bob writes after them']);
    // Bob's message counts; the ignored one is stored but not counted, the blocked one not even stored.
    await expect.poll(badge, { timeout: 10_000 }).toBe(1);
    expect(main.fake.notifications.some((n) => /Carol writes again|Dave writes again/.test(`${n.options.title} ${n.options.body}`))).toBe(false);
    expect(pageErrors).toEqual([]);
  }, 120_000);
  it('hides the local drop server choice where the host cannot run one', async () => {
    // A host whose `app/info` offers no local drop server (as the browser host), and no identities.
    let infoAnswered = false;
    const other = await openUi(preloadScript, async (channel, request) => {
      if (channel === 'localServer/status') throw new Error('the UI asked for a capability the host does not offer');
      if (channel === 'identities/list') return { ok: true, value: [] };
      const answer = await main.call(channel, request);
      if ((channel === 'app/info' || channel === 'app/unlock') && answer.ok) {
        infoAnswered = true;
        return { ...answer, value: { ...answer.value, capabilities: { ...(answer.value!.capabilities as object), localServer: false } } };
      }
      return answer;
    });
    await other.getByRole('heading', { name: 'Welcome to Deaddrop' }).waitFor({ timeout: 30_000 });
    await other.getByLabel('Drop server', { exact: true }).waitFor({ timeout: 10_000 });
    expect(infoAnswered).toBe(true);
    // Two frames: React has committed whatever the answer rendered.
    await other.evaluate(() => {
      const frame = (globalThis as unknown as { requestAnimationFrame(callback: () => void): void }).requestAnimationFrame;
      return new Promise<void>((resolve) => frame(() => frame(resolve)));
    });
    expect(await other.getByRole('button', { name: 'Run a drop server on this computer' }).count()).toBe(0);
    expect(await other.getByText('Or run a drop server on this computer').count()).toBe(0);
    await other.context().close();
  }, 60_000);
  it('offers "Export debug log" in Settings and saves main\'s redacted log as a file', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: /^Settings/ }).click();
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), page.getByRole('button', { name: 'Export debug log' }).click()]);
    expect(download.suggestedFilename()).toMatch(/^deaddrop-debug-[-0-9]+\.log$/);
    const saved = await readFile(await download.path(), 'utf8');
    expect(saved).toMatch(/^Deaddrop 0\.0\.0-test on \w+ \w+, exported /);
    expect(saved).toMatch(/info \[main\] Deaddrop starts/);
    // The earlier tests exchanged these texts between identities with their own keys and drops.
    for (const text of ['Hello Alice, from the desktop path', 'Carol writes again', 'Bob writes after them']) expect(saved).not.toContain(text);
    expect(saved).not.toMatch(/[0-9a-fA-F]{64}|[-_A-Za-z0-9]{43}/);
    expect(pageErrors).toEqual([]);
  }, 60_000);
  it('shows no debug log export where the host keeps no log file', async () => {
    const other = await openUi(preloadScript, async (channel, request) => {
      if (channel === 'logs/export') throw new Error('the UI asked for a capability the host does not offer');
      const answer = await main.call(channel, request);
      if ((channel === 'app/info' || channel === 'app/unlock') && answer.ok) {
        return { ...answer, value: { ...answer.value, capabilities: { ...(answer.value!.capabilities as object), debugLog: false } } };
      }
      return answer;
    });
    await other.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: /^Settings/ }).click({ timeout: 30_000 });
    // The panel beside it comes from the same screen: once it shows, the debug log panel would have too.
    await other.getByRole('heading', { name: 'Drop server on this computer' }).waitFor({ timeout: 10_000 });
    expect(await other.getByRole('button', { name: 'Export debug log' }).count()).toBe(0);
    expect(await other.getByRole('heading', { name: 'Debug log' }).count()).toBe(0);
    await other.context().close();
  }, 60_000);
});
