/**
 * Layout and text: a narrow window (800 × 600) without horizontal scrolling, names of 10,000
 * characters on one line, grouped messages, emoji from the bundled font, search that marks its
 * matches and opens a conversation at the message found, and "Open conversation" after adding a contact.
 */
import { expect, test, type Locator, type Page } from '@playwright/test';
import {
  closeAll,
  createIdentity,
  expectAccessible,
  goTo,
  openConversationWith,
  openUser,
  screenshot,
  type User,
} from './support/appDriver.js';
import { type DropServer, startDropServer, startEngineHost } from './support/services.js';

interface SeedMessage {
  direction: 'in' | 'out';
  text: string;
  /** Seconds before the seed's "now" (see `seedSource`). */
  ago: number;
}
interface SeedContact {
  key: string;
  alias: string;
  status: 'accepted' | 'blocked';
  messages: SeedMessage[];
  /** Filler messages before `messages`, one a minute, with `marker` as the text of message `marker.index`. */
  filler?: { count: number; marker: { index: number; text: string } };
}

/** Writes contacts, conversations and messages straight into the app's IndexedDB (as `uiSeed.ts` does). */
const seedSource = `async ({ identityId, contacts }) => {
  const idb = await new Promise((resolve, reject) => {
    const request = indexedDB.open('deaddrop');
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  // "Now" for the seed: the real time, unless today began less than an hour ago; then a minute before
  // midnight. Grace's messages span 20 minutes and must fall on one calendar day (a day separator
  // would split her groups): a run just after midnight would otherwise put them on two.
  const real = Date.now();
  const midnight = new Date(real).setHours(0, 0, 0, 0);
  const now = real - midnight < 3_600_000 ? midnight - 60_000 : real;
  await new Promise((resolve, reject) => {
    const tx = idb.transaction(['contacts', 'conversations', 'messages'], 'readwrite');
    for (const c of contacts) {
      tx.objectStore('contacts').put({ identityId, publicKey: c.key, alias: c.alias, aliasLower: c.alias.toLowerCase(),
        dropUrls: ['http://127.0.0.1:9/drop/' + 'C'.repeat(43)], offeredDropUrls: [], status: c.status, createdAt: now - 86_400_000 });
      const all = [];
      if (c.filler) {
        const start = now - 3_600_000 - c.filler.count * 60_000;
        for (let i = 0; i < c.filler.count; i++) {
          const text = i === c.filler.marker.index ? c.filler.marker.text : 'filler message ' + i + ' about nothing in particular';
          all.push({ direction: i % 3 === 0 ? 'out' : 'in', text, sortAt: start + i * 60_000 });
        }
      }
      for (const m of c.messages) all.push({ direction: m.direction, text: m.text, sortAt: now - m.ago * 1000 });
      all.forEach((m, i) => {
        const id = (m.direction === 'out' ? 'out:' : 'in:') + c.key.slice(0, 8) + ':' + i;
        tx.objectStore('messages').put({ id, identityId, contactKey: c.key, direction: m.direction, kind: 'text', text: m.text,
          payloadType: 'box_message', payload: '', share: null, sortAt: m.sortAt, createdAt: m.sortAt,
          status: m.direction === 'out' ? 'delivered' : null, localId: m.direction === 'out' ? id.slice(4) : null, error: null,
          ackIds: [], ackedIds: [], parts: null, read: true });
      });
      const last = all[all.length - 1];
      tx.objectStore('conversations').put({ identityId, contactKey: c.key, lastMessageAt: last.sortAt,
        lastMessagePreview: last.text.slice(0, 140), lastMessageDirection: last.direction, unreadCount: 0, messageCount: all.length });
    }
    tx.oncomplete = () => resolve(undefined);
    tx.onerror = () => reject(tx.error);
  });
  idb.close();
}`;

/** Reads like a name, wraps at every space: 10,000 characters. */
const LONG_ALIAS = 'Maximilian Alexander von Hohenstein-Wittgenstein '.repeat(210).slice(0, 10_000);
const MARKER_INDEX = 100;
const contacts: SeedContact[] = [
  {
    key: 'a1'.repeat(32),
    alias: 'Grace',
    status: 'accepted',
    messages: [
      { direction: 'in', text: 'Hi! 👋 Are you around?', ago: 1_200 },
      { direction: 'in', text: 'I have news about the trip 🏔️', ago: 1_180 },
      { direction: 'in', text: 'Call me when you can ☎️', ago: 1_160 },
      { direction: 'out', text: 'Yes, here.', ago: 900 },
      { direction: 'out', text: 'What news? 😀', ago: 880 },
      { direction: 'in', text: 'Tickets booked ✈️ 🎉', ago: 300 },
    ],
  },
  { key: 'b2'.repeat(32), alias: LONG_ALIAS, status: 'accepted', messages: [{ direction: 'in', text: 'My name is long.', ago: 2_000 }] },
  {
    key: 'c3'.repeat(32),
    alias: 'Searchable',
    status: 'accepted',
    messages: [{ direction: 'in', text: 'The newest message says nothing.', ago: 3_000 }],
    filler: { count: 1_500, marker: { index: MARKER_INDEX, text: 'Plans for the Überraschungsparty on Friday 🎂' } },
  },
  { key: 'd4'.repeat(32), alias: 'Blocked Sender', status: 'blocked', messages: [{ direction: 'in', text: 'My Überraschungsparty is better', ago: 100 }] },
];

/** Elements (of the page and its main panes) that are wider than their box, i.e. scroll or spill sideways. */
const horizontalOverflowSource = `() => {
  const panes = ['.shell', '.rail', '.sidebar', '.content', '.list-pane', '.detail-pane', '.message-scroll', '.chat-head', '.composer', '.panel', '.page'];
  const wide = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth) wide.push('page ' + root.scrollWidth + ' > ' + root.clientWidth);
  for (const selector of panes) {
    document.querySelectorAll(selector).forEach((el) => {
      if (el.scrollWidth > el.clientWidth) wide.push(selector + ' ' + el.scrollWidth + ' > ' + el.clientWidth);
    });
  }
  return wide;
}`;
const horizontalOverflow = (page: Page) => page.evaluate(`(${horizontalOverflowSource})()`) as Promise<string[]>;
/**
 * Nothing spills sideways once the screen has settled: polled, because a screen just opened may still
 * be loading its rows (a reading taken before they are placed proves nothing, and one taken while
 * they are placed can see a pane that is about to be sized).
 */
const expectNoHorizontalOverflow = (page: Page) => expect.poll(() => horizontalOverflow(page)).toEqual([]);

/** How `target` is laid out: one line, cut with an ellipsis? */
const lineOf = (target: Locator) =>
  target.evaluate((el) => {
    const style = el.ownerDocument.defaultView!.getComputedStyle(el);
    return {
      whiteSpace: style.whiteSpace,
      textOverflow: style.textOverflow,
      oneLine: el.getBoundingClientRect().height < 2 * parseFloat(style.lineHeight),
      cut: el.scrollWidth > el.clientWidth,
    };
  });
const oneLineWithEllipsis = { whiteSpace: 'nowrap', textOverflow: 'ellipsis', oneLine: true, cut: true };
/** Polled: the element may be the one of the screen before until the new one has rendered. */
const expectOneLineWithEllipsis = (target: Locator) => expect.poll(() => lineOf(target)).toEqual(oneLineWithEllipsis);

/**
 * The bundled emoji font in the page: its faces, which of them loaded, the font files fetched and from
 * where, and how many clearly coloured pixels an emoji drawn with it has.
 */
const emojiFontSource = `async () => {
  await document.fonts.ready;
  const faces = [...document.fonts].filter((f) => f.family.replace(/"/g, '') === 'Deaddrop Emoji');
  const fontFiles = performance.getEntriesByType('resource').map((e) => e.name).filter((name) => name.endsWith('.woff2'));
  await document.fonts.load('48px "Deaddrop Emoji"', '😀');
  const canvas = document.createElement('canvas');
  canvas.width = 64;
  canvas.height = 64;
  const ctx = canvas.getContext('2d');
  ctx.font = '48px "Deaddrop Emoji"';
  ctx.textBaseline = 'top';
  ctx.fillStyle = '#000';
  ctx.fillText('😀', 4, 4);
  const data = ctx.getImageData(0, 0, 64, 64).data;
  let colouredPixels = 0;
  for (let i = 0; i < data.length; i += 4) {
    const spread = Math.max(data[i], data[i + 1], data[i + 2]) - Math.min(data[i], data[i + 1], data[i + 2]);
    if (data[i + 3] > 200 && spread > 80) colouredPixels++;
  }
  return { faces: faces.length, loadedFaces: faces.filter((f) => f.status === 'loaded').length, fontFiles, origin: location.origin, colouredPixels };
}`;

async function bothThemes(page: Page, name: string) {
  await page.emulateMedia({ colorScheme: 'light' });
  await screenshot(page, `${name}-light`);
  await page.emulateMedia({ colorScheme: 'dark' });
  await screenshot(page, `${name}-dark`);
  await page.emulateMedia({ colorScheme: 'light' });
}

test.describe.serial('layout and text', () => {
  let server: DropServer;
  let user: User;

  test.beforeAll(async ({ browser }) => {
    server = await startDropServer();
    user = await openUser(browser, 'layout', await startEngineHost('layout'));
    await createIdentity(user.page, 'Reader', server.url);
    const identityId = await user.page.evaluate(`localStorage.getItem('deaddrop.activeIdentity')`);
    await user.page.evaluate(`(${seedSource})(${JSON.stringify({ identityId, contacts })})`);
    await user.page.reload();
    await expect(user.page.getByRole('navigation', { name: 'Main' })).toBeVisible();
  });
  test.afterAll(() => closeAll([user], [server]));

  test('at 800 × 600 the rail shows icons, nothing scrolls sideways and long names stay on one line', async () => {
    const page = user.page;
    await page.setViewportSize({ width: 800, height: 600 });
    const rail = page.getByRole('navigation', { name: 'Main' });
    const widthOf = async (target: Locator) => (await target.boundingBox())?.width ?? Number.NaN;
    await expect.poll(() => widthOf(rail)).toBeLessThan(80);
    for (const place of ['Chats', 'Contacts', 'Identities', 'Settings']) {
      const entry = rail.getByRole('button', { name: place, exact: true });
      await expect(entry).toBeVisible();
      await expect(entry).toHaveAttribute('title', place);
      // A label that is not rendered at all has no box: width 0 as well.
      await expect.poll(async () => (await entry.locator('.rail-label').boundingBox())?.width ?? 0).toBeLessThanOrEqual(1);
    }
    await expect(page.getByLabel('Active identity')).toBeAttached();

    await openConversationWith(page, 'Grace');
    // Measured once her messages are on screen, not over the list still loading.
    await expect(page.getByTestId('message-text').filter({ hasText: 'Tickets booked' })).toBeVisible();
    await expectNoHorizontalOverflow(page);
    await bothThemes(page, '50-narrow-chat-grouped');

    const longRow = page.getByTestId('conversation-item').filter({ hasText: LONG_ALIAS.slice(0, 30) });
    await expect.poll(() => longRow.evaluate((el) => el.getBoundingClientRect().height)).toBeLessThan(90);
    await expectOneLineWithEllipsis(longRow.locator('.conversation-name'));
    await longRow.click();
    await expect(page.locator('.chat-title')).toContainText(LONG_ALIAS.slice(0, 30));
    await expectOneLineWithEllipsis(page.locator('.chat-title'));
    await expect(page.getByTestId('message-list')).toHaveAttribute('data-count', '1');
    await expectNoHorizontalOverflow(page);
    await bothThemes(page, '50-narrow-conversations-long-names');
    await expectAccessible(page, 'narrow chat with a long name');

    await goTo(page, 'Contacts');
    const longContact = page.getByTestId('contact-item').filter({ hasText: LONG_ALIAS.slice(0, 30) });
    await expect(longContact).toBeVisible();
    await expectNoHorizontalOverflow(page);
    await page.getByRole('button', { name: 'My contact card' }).click();
    const qr = page.getByTestId('my-qr');
    await expect(qr).toBeVisible();
    await expect.poll(async () => {
      const box = await qr.boundingBox();
      return box ? box.x + box.width : Number.NaN;
    }).toBeLessThanOrEqual(800);
    await expectNoHorizontalOverflow(page);
    await bothThemes(page, '50-narrow-contact-card');
    await expectAccessible(page, 'narrow contact card');

    await longContact.click();
    // The card shown before (My contact card) has a heading of its own: wait for this contact's.
    const detailTitle = page.locator('.detail-pane .panel > h2');
    await expect(detailTitle).toContainText(LONG_ALIAS.slice(0, 30));
    await expectOneLineWithEllipsis(detailTitle);
    await expectOneLineWithEllipsis(longContact.locator('.contact-name'));
    await expectNoHorizontalOverflow(page);
    await bothThemes(page, '50-narrow-contact-long-name');

    for (const place of ['Identities', 'Settings'] as const) {
      await goTo(page, place);
      await expect(page.getByRole('heading', { name: place, level: 1 })).toBeVisible();
      await expectNoHorizontalOverflow(page);
    }

    // Wide again: the names are back beside the icons.
    await page.setViewportSize({ width: 1280, height: 800 });
    await expect.poll(() => widthOf(rail.getByRole('button', { name: 'Chats', exact: true }).locator('.rail-label'))).toBeGreaterThan(20);
  });

  test('messages of one sender group together, a hovered selected row stays selected, emoji come from the bundled font', async () => {
    const page = user.page;
    await openConversationWith(page, 'Grace');
    // Rows are placed before their neighbours' pages have loaded (then every row is "single"): wait for the grouping.
    await expect
      .poll(() => page.locator('.message-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-group'))))
      .toEqual(['first', 'middle', 'last', 'first', 'last', 'single']);
    // One time line per group, tight inside a group, wider between groups. Polled: the virtual list
    // places rows by their measured heights, and rows that lost their time line when grouped are
    // measured again a frame later (until then the gaps are those of single rows).
    await expect(page.locator('.bubble-meta')).toHaveCount(3);
    const gaps = async () => {
      const boxes = await page.getByTestId('message').evaluateAll((els) => els.map((el) => [el.getBoundingClientRect().top, el.getBoundingClientRect().bottom]));
      const inside = boxes[1]![0]! - boxes[0]![1]!;
      const between = boxes[3]![0]! - boxes[2]![1]!;
      return { insideTight: inside < 4, betweenWider: between > inside + 4 };
    };
    await expect.poll(gaps).toEqual({ insideTight: true, betweenWider: true });
    await bothThemes(page, '50-chat-grouped');
    await expectAccessible(page, 'grouped chat');

    // The selected row looks selected under the pointer too; another row does change under it.
    const selected = page.getByTestId('conversation-item').filter({ hasText: 'Grace' });
    const other = page.getByTestId('conversation-item').filter({ hasText: 'Searchable' });
    const background = (row: typeof selected) => row.evaluate((el) => el.ownerDocument.defaultView!.getComputedStyle(el).backgroundColor);
    // Each look is read once the pointer is where it should be (`:hover` as the page sees it).
    const hovered = (row: typeof selected) => row.evaluate((el) => el.matches(':hover'));
    await expect(selected).toHaveAttribute('aria-current', 'true');
    await page.mouse.move(1200, 700);
    await expect.poll(async () => [await hovered(selected), await hovered(other)]).toEqual([false, false]);
    const selectedLook = await background(selected);
    const otherLook = await background(other);
    await selected.hover();
    await expect.poll(() => hovered(selected)).toBe(true);
    expect(await background(selected)).toBe(selectedLook);
    await other.hover();
    await expect.poll(() => hovered(other)).toBe(true);
    expect(await background(other)).not.toBe(otherLook);

    // Emoji: the bundled font's faces covering the emoji on screen were loaded from the app itself,
    // and an emoji drawn with it is in colour (without it, this machine draws an empty box or nothing).
    await expect(page.getByTestId('message-text').filter({ hasText: 'Hi! 👋' })).toBeVisible();
    const emoji = (await page.evaluate(`(${emojiFontSource})()`)) as {
      faces: number;
      loadedFaces: number;
      fontFiles: string[];
      origin: string;
      colouredPixels: number;
    };
    expect(emoji.faces).toBeGreaterThan(5);
    expect(emoji.loadedFaces).toBeGreaterThan(0);
    expect(emoji.fontFiles.length).toBeGreaterThan(0);
    for (const file of emoji.fontFiles) expect(file.startsWith(emoji.origin)).toBe(true);
    expect(emoji.colouredPixels).toBeGreaterThan(300);
  });

  test('search matches inside words, ignores case and accents, marks matches and opens the conversation at the message', async () => {
    const page = user.page;
    await goTo(page, 'Chats');
    const search = page.getByLabel('Search contacts and messages');
    await expect(page.locator('#conversation-search[data-index-ready="true"]')).toBeAttached();
    await search.fill('RASCHUNGSP');
    const rows = page.getByTestId('conversation-item');
    // The blocked sender's message matches too, but never shows.
    await expect(rows).toHaveCount(1);
    await expect(rows.first()).toContainText('Searchable');
    await expect(rows.first().locator('mark')).toHaveText('raschungsp');
    await search.fill('uberraschungsparty');
    await expect(rows).toHaveCount(1);
    await expect(rows.first().locator('mark')).toHaveText('Überraschungsparty');
    await bothThemes(page, '50-search-results');

    await rows.first().click();
    const target = page.locator('[data-search-target="true"]');
    await expect(target).toBeInViewport();
    await expect(target.locator('mark')).toHaveText('Überraschungsparty');
    await expect(page.locator('.message-row').filter({ has: target })).toHaveAttribute('data-index', String(MARKER_INDEX));
    await expect(page.getByRole('button', { name: 'Newest messages' })).toBeVisible();
    await bothThemes(page, '50-search-opened-message');
    await expectAccessible(page, 'search result opened');

    await page.setViewportSize({ width: 800, height: 600 });
    await expect(target).toBeAttached();
    await expectNoHorizontalOverflow(page);
    await bothThemes(page, '50-narrow-search-opened-message');
    await page.setViewportSize({ width: 1280, height: 800 });
    await search.fill('');
  });

  test('after adding a contact, Open conversation is the primary action and leaves the cursor in the composer', async () => {
    const page = user.page;
    await goTo(page, 'Contacts');
    await page.getByRole('button', { name: 'New contact' }).click();
    await page.getByTestId('contact-paste').fill(['QABELCONTACT', 'Heidi', `${server.url}/${'H'.repeat(43)}`, 'e5'.repeat(32)].join('\n'));
    await page.getByRole('button', { name: 'Add contact' }).click();
    const open = page.getByRole('button', { name: 'Open conversation' });
    await expect(open).toHaveClass(/\bprimary\b/);
    await expect(page.locator('.detail-pane button.primary')).toHaveCount(1);
    await bothThemes(page, '50-contact-added');
    await open.click();
    await expect(page.getByRole('heading', { name: 'Heidi', level: 1 })).toBeVisible();
    await expect(page.getByTestId('composer-input')).toBeFocused();
  });
});
