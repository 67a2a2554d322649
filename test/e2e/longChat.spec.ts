import { expect, test } from '@playwright/test';
import { seedConversationSource } from '../bench/uiSeed.js';
import {
  closeAll,
  createIdentity,
  expectAccessible,
  openConversationWith,
  openUser,
  screenshot,
  sendText,
  type User,
} from './support/appDriver.js';
import { type DropServer, startDropServer, startEngineHost } from './support/services.js';

const COUNT = 3_000;

/**
 * Scrolls the open chat up by `stepPx` per frame for `frames` frames. Returns how far the content
 * moved on screen (followed through a row visible in consecutive frames), how far was asked for,
 * and, once the list settled (two frames later, after its rows were measured), whether the rows
 * are stacked without overlap or gaps (each row starts where the one above ends).
 */
const scrollUpSource = `({ stepPx, frames }) => new Promise((resolve) => {
  const list = document.querySelector('[data-testid="message-list"]');
  const rowAt = (index) => list.querySelector('.message-row[data-index="' + index + '"]');
  const topRow = () => [...list.querySelectorAll('.message-row')].find((r) => r.getBoundingClientRect().bottom > list.getBoundingClientRect().top);
  const stackedWell = () => {
    const rows = [...list.querySelectorAll('.message-row')].sort((a, b) => Number(a.dataset.index) - Number(b.dataset.index));
    for (let i = 1; i < rows.length; i++) {
      const above = rows[i - 1].getBoundingClientRect();
      const below = rows[i].getBoundingClientRect();
      if (Number(rows[i].dataset.index) === Number(rows[i - 1].dataset.index) + 1 && Math.abs(below.top - above.bottom) > 1) return false;
    }
    return true;
  };
  let requested = 0;
  let moved = 0;
  let lostAnchors = 0;
  let anchor = null;
  let left = frames;
  const settled = () => resolve({ moved, requested, lostAnchors, stacked: stackedWell() });
  const step = () => {
    if (anchor) {
      const row = rowAt(anchor.index);
      if (row) moved += row.getBoundingClientRect().top - anchor.top; else lostAnchors++;
    }
    if (left-- === 0) return requestAnimationFrame(() => requestAnimationFrame(settled));
    const row = topRow();
    anchor = row ? { index: row.dataset.index, top: row.getBoundingClientRect().top } : null;
    const before = list.scrollTop;
    list.scrollTop = Math.max(0, before - stepPx);
    requested += before - list.scrollTop;
    requestAnimationFrame(step);
  };
  requestAnimationFrame(step);
})`;

/** A long conversation stays usable: it opens at the newest message and scrolls back steadily. */
test.describe.serial('a long conversation', () => {
  let server: DropServer;
  let user: User;

  test.beforeAll(async ({ browser }) => {
    server = await startDropServer();
    user = await openUser(browser, 'long', await startEngineHost('long'));
  });
  test.afterAll(() => closeAll([user], [server]));

  test('opens at the newest message and scrolls back without jumping or overlapping rows', async () => {
    const page = user.page;
    await createIdentity(page, 'Reader', server.url);
    const identityId = await page.evaluate(`localStorage.getItem('deaddrop.activeIdentity')`);
    await page.evaluate(`(${seedConversationSource})(${JSON.stringify({ identityId, contactKey: 'd'.repeat(64), alias: 'Chatty', count: COUNT })})`);
    await page.reload();
    await openConversationWith(page, 'Chatty');

    const list = page.getByTestId('message-list');
    await expect(list).toHaveAttribute('data-count', String(COUNT));
    const newest = page.getByTestId('message-text').filter({ hasText: `message ${COUNT - 1}:` });
    await expect(newest).toBeInViewport();

    // Rows above the viewport get measured while scrolling up, and older messages get placed in
    // front in blocks (the first 1,000 rows are passed here); neither may undo the reader's
    // scrolling or leave rows on top of each other.
    const result = await page.evaluate(`(${scrollUpSource})({ stepPx: 400, frames: 300 })`) as {
      moved: number;
      requested: number;
      lostAnchors: number;
      stacked: boolean;
    };
    expect(result.requested).toBeGreaterThan(110_000);
    // Only messages before the first 1,000 placed prove that older ones were placed in front.
    await expect.poll(async () => Number(await list.locator('.message-row').first().getAttribute('data-index'))).toBeLessThan(COUNT - 1_000);
    expect(result.lostAnchors).toBe(0);
    expect(result.moved).toBeGreaterThan(result.requested * 0.9);
    expect(result.stacked).toBe(true);
    await expect(newest).not.toBeInViewport();
    // Every row on screen shows its message once loaded: no placeholders stay behind.
    await expect(list.locator('.skeleton')).toHaveCount(0);
    await screenshot(page, '19-long-chat-scrolled-back');
    await expectAccessible(page, 'long chat scrolled back');

    // Away from the newest messages, one click (or Enter) brings them back.
    const jump = page.getByRole('button', { name: 'Newest messages' });
    await jump.focus();
    await page.keyboard.press('Enter');
    await expect(newest).toBeInViewport();
    await expect(jump).toHaveCount(0);

    // Sending while reading history shows the sent message.
    await page.getByRole('region', { name: 'Messages' }).evaluate((el) => (el.scrollTop = 0));
    await expect(jump).toBeVisible();
    await sendText(page, 'Back to the present.');
    await expect(page.getByTestId('message-text').filter({ hasText: 'Back to the present.' })).toBeInViewport();
    await expect(jump).toHaveCount(0);
  });
});
