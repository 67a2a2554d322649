import { type Browser, type Page, type WebSocketRoute, expect, test } from '@playwright/test';
import type { SendingReason, SessionContactStatus, SessionsStatus } from '../../shared/ipc/contract.js';
import {
  closeAll,
  createIdentity,
  expectAccessible,
  goTo,
  messages,
  openConversationWith,
  openUser,
  screenshot,
  sendText,
  setFastPolling,
  type User,
} from './support/appDriver.js';
import { type DropServer, type EngineHost, startDropServer, startEngineHost } from './support/services.js';

/**
 * Forward secrecy and session resets as a conversation shows them. Mia and Noe are real users with
 * real engines and a real drop server: Mia writes from Noe's DEADDROP1 card, her messages start a
 * version-1 session, and her header says so. A reset that needs the user's answer takes a restored
 * backup or a stolen key on Noe's side, so from there on the test stands in for the engine's part of
 * the contract on Mia's WebSocket link to her engine: it adds Noe's session facts to
 * `sessions/status`, answers `sessions/confirmReset` as the engine does (the reset is no longer
 * pending), sends `sessions/changed`, and holds one message back as a full session window would
 * (`outbox/status` and `messages/sendingReason` of `waitingForContact`). Everything else passes
 * through to Mia's engine unchanged.
 */
test.describe.serial('forward secrecy in the conversation', () => {
  let server: DropServer;
  let mia: User;
  let noe: User;
  let link: SessionsStandIn;
  let noeKey = '';

  test.beforeAll(async ({ browser }) => {
    test.setTimeout(120_000);
    server = await startDropServer();
    const [miaHost, noeHost] = await Promise.all([startEngineHost('fs-mia'), startEngineHost('fs-noe')]);
    link = new SessionsStandIn();
    mia = await openLinkedUser(browser, 'fs-mia', miaHost, link);
    noe = await openUser(browser, 'fs-noe', noeHost);
  });

  test.afterAll(() => closeAll([mia, noe], [server]));

  const label = (page: Page) => page.getByTestId('chat-forward-secrecy').locator('[tabindex="0"]');

  test('Mia writes from Noe’s DEADDROP1 card: Noe sees her by name, and her header says the conversation is forward secret, with its reason for keyboard and screen reader', async () => {
    await createIdentity(mia.page, 'Mia', server.url);
    await createIdentity(noe.page, 'Noe', server.url);
    await setFastPolling(mia.page);
    await setFastPolling(noe.page);
    await goTo(noe.page, 'Contacts');
    await noe.page.getByRole('button', { name: 'My contact card' }).click();
    await expect(noe.page.getByTestId('my-contact-text')).toHaveText(/^DEADDROP1\n/);
    const card = (await noe.page.getByTestId('my-contact-text').textContent()) ?? '';
    noeKey = card.split('\n')[3] ?? '';
    expect(noeKey).toMatch(/^[0-9a-f]{64}$/);
    await goTo(mia.page, 'Contacts');
    await mia.page.getByTestId('contact-paste').fill(card);
    await mia.page.getByRole('button', { name: 'Add contact', exact: true }).click();
    await mia.page.getByRole('button', { name: 'Open conversation' }).click();
    // The card's prekey starts a session with the first message: its Init PDUs introduce Mia (her name
    // and drop), so it is forward secret from the first message on, before Noe's app answers.
    await sendText(mia.page, 'Hello Noe.');
    await expect(messages(mia.page).filter({ hasText: 'Hello Noe.' })).toHaveAttribute('data-status', /posted|delivered/, { timeout: 30_000 });
    await expect(label(mia.page)).toHaveText(/^Forward secret since /, { timeout: 15_000 });
    await sendText(mia.page, 'In a session now.');
    await openConversationWith(noe.page, 'Mia');
    await expect(messages(noe.page).filter({ hasText: 'Hello Noe.' })).toHaveCount(1, { timeout: 30_000 });
    await expect(messages(noe.page).filter({ hasText: 'In a session now.' })).toHaveCount(1, { timeout: 30_000 });

    const page = mia.page;
    await expect(label(page)).toHaveText(/^Forward secret since /, { timeout: 15_000 });
    // The reason is the label's description whether or not it is on screen; focus shows it.
    await expect(label(page)).toHaveAccessibleDescription(/Each message has its own key, deleted once used/);
    await expect(page.getByTestId('chat-forward-secrecy-why')).toHaveClass(/visually-hidden/);
    await label(page).focus();
    await expect(page.getByTestId('chat-forward-secrecy-why')).not.toHaveClass(/visually-hidden/);
    await expect(page.getByTestId('chat-forward-secrecy-why')).toBeVisible();
    await screenshot(page, '44-forward-secret-header');
    await label(page).blur();
    await expect(page.getByTestId('chat-forward-secrecy-why')).toHaveClass(/visually-hidden/);
  });

  test('what the engine says changes shows at once on sessions/changed, without waiting for the next poll', async () => {
    const page = mia.page;
    // A status the real engine would not give now (a session since another day) tells the two apart.
    const since = Date.UTC(2026, 9, 1, 8, 0);
    link.set(noeKey, { protocol: 1, since });
    link.announce();
    // The header also asks every 10 s; the event makes it ask now.
    await expect(label(page)).toHaveText(`Forward secret since ${await page.evaluate((t) => new Date(t).toLocaleDateString(), since)}`, { timeout: 3000 });
    link.set(noeKey, { protocol: 0, since: null });
    link.announce();
    await expect(label(page)).toHaveText('Not forward secret yet', { timeout: 3000 });
    await expect(label(page)).toHaveAccessibleDescription("Noe's app supports it: it starts with the next message between you.");
  });

  test('a reset that proves only Noe’s identity key asks first; Not now hides it until the conversation opens again; Accept writes the line', async () => {
    const page = mia.page;
    const resetAt = Date.now();
    link.set(noeKey, { protocol: 1, since: resetAt - 60_000, reset: { pending: true, at: resetAt } });
    link.announce();
    const banner = page.getByRole('region', { name: 'New secure session' });
    await expect(banner).toBeVisible({ timeout: 3000 });
    await expect(banner).toContainText(
      "Noe’s app started a new secure session. This proves only their identity key: if you did not expect it (for example they did not restore a backup), ask them in person.",
    );
    await screenshot(page, '42-session-reset-question');
    await expectAccessible(page, 'session reset question');

    await banner.getByRole('button', { name: 'Not now' }).click();
    await expect(banner).toHaveCount(0);
    expect(link.answers).toEqual([]);
    await goTo(page, 'Contacts');
    await openConversationWith(page, 'Noe');
    await expect(banner).toBeVisible();

    await banner.getByRole('button', { name: 'Accept' }).click();
    await expect(banner).toHaveCount(0);
    // The answer crosses the page's WebSocket to the stand-in: polled, whether or not the banner waits for it.
    await expect.poll(() => link.answers).toEqual([{ identityId: expect.any(String), contactPublicKey: noeKey, accept: true }]);
    const line = page.getByTestId('event-line').filter({ hasText: 'Secure session reset by Noe' });
    await expect(line).toHaveCount(1);
    // Asking again (the poll, a reload) adds no second line.
    link.announce();
    await page.reload();
    await openConversationWith(page, 'Noe');
    await expect(page.getByTestId('event-line').filter({ hasText: /Secure session/ })).toHaveCount(1);
    await screenshot(page, '43-session-reset-accepted');
  });

  test('a message held back by a full session window says it waits for Noe', async () => {
    const page = mia.page;
    link.holdSends = true;
    await sendText(page, 'The 129th message.');
    const waiting = messages(page).filter({ hasText: 'The 129th message.' });
    const localId = await link.heldLocalId();
    link.wait(localId, { kind: 'waitingForContact', detail: 'session window full', retryAt: null });
    await expect(waiting).toHaveAttribute('data-status', 'sending');
    await expect(waiting.getByTestId('sending-status')).toHaveText('Waiting for Noe to come online.');
    // Nothing to retry by hand: it goes once Noe's next message arrives.
    await expect(waiting.getByRole('button', { name: 'Retry now' })).toHaveCount(0);
    await expect(waiting.getByRole('button', { name: 'Cancel sending' })).toBeVisible();
    await expectAccessible(page, 'waiting for the contact');
  });
});

/**
 * The engine's side of the sessions contract on one page's link: `sessions/status` answers gain the
 * contacts set here, `sessions/confirmReset` is answered here (recorded in `answers`), events can be
 * sent. With `holdSends`, `messages/send` is accepted here and never reaches the engine.
 */
class SessionsStandIn {
  readonly answers: unknown[] = [];
  holdSends = false;
  /** What `sending` says (the engine's own value while null). */
  sending: boolean | null = null;
  private contacts: Record<string, SessionContactStatus> = {};
  private identityId: string | null = null;
  private route: WebSocketRoute | null = null;
  private readonly statusCalls = new Set<number>();
  private readonly held: string[] = [];
  private readonly reasons = new Map<string, SendingReason>();

  set(contactKey: string, status: SessionContactStatus): void {
    this.contacts[contactKey] = status;
  }

  announce(): void {
    if (this.identityId) this.emit('sessions/changed', { identityId: this.identityId });
  }

  emit(event: string, payload: unknown): void {
    this.route?.send(JSON.stringify({ event, payload }));
  }

  /** A held message waits for a reason: as the engine, says so by event and when asked. */
  wait(localId: string, reason: SendingReason): void {
    this.reasons.set(localId, reason);
    this.emit('outbox/status', { localId, status: 'sending', reason });
  }

  async heldLocalId(): Promise<string> {
    await expect.poll(() => this.held.length).toBeGreaterThan(0);
    return this.held[this.held.length - 1]!;
  }

  attach(route: WebSocketRoute): void {
    this.route = route;
    const engine = route.connectToServer();
    route.onMessage((message) => {
      const frame = parse(message);
      if (frame?.channel === 'sessions/status') {
        this.identityId = (frame.request as { identityId: string }).identityId;
        this.statusCalls.add(frame.id);
      }
      if (frame?.channel === 'sessions/confirmReset') {
        const answer = frame.request as { identityId: string; contactPublicKey: string; accept: boolean };
        this.answers.push(answer);
        const current = this.contacts[answer.contactPublicKey];
        if (current) this.contacts[answer.contactPublicKey] = { ...current, reset: { pending: false, at: Date.now() } };
        route.send(JSON.stringify({ id: frame.id, result: { ok: true, value: this.status() } }));
        return;
      }
      const asked = frame?.channel === 'messages/sendingReason' ? (frame.request as { localId: string }).localId : null;
      if (frame && asked !== null && this.reasons.has(asked)) {
        route.send(JSON.stringify({ id: frame.id, result: { ok: true, value: this.reasons.get(asked) } }));
        return;
      }
      if (frame?.channel === 'messages/send' && this.holdSends) {
        const localId = (frame.request as { localId: string }).localId;
        this.held.push(localId);
        route.send(JSON.stringify({ id: frame.id, result: { ok: true, value: { localId, acknowledgeIds: [`held-${localId}`], parts: 1 } } }));
        return;
      }
      engine.send(message);
    });
    engine.onMessage((message) => {
      const frame = parse(message);
      if (frame && this.statusCalls.delete(frame.id) && frame.result?.ok) {
        const value = frame.result.value as SessionsStatus;
        const sending = this.sending ?? value.sending;
        route.send(JSON.stringify({ id: frame.id, result: { ok: true, value: { sending, contacts: { ...value.contacts, ...this.contacts } } } }));
        return;
      }
      route.send(message);
    });
  }

  private status(): SessionsStatus {
    return { sending: this.sending ?? false, contacts: { ...this.contacts } };
  }
}

interface Frame {
  id: number;
  channel?: string;
  request?: unknown;
  result?: { ok: boolean; value?: unknown };
}

function parse(message: string | Buffer): Frame | null {
  try {
    const frame = JSON.parse(typeof message === 'string' ? message : message.toString('utf8')) as Frame;
    return typeof frame.id === 'number' ? frame : null;
  } catch {
    return null;
  }
}

/** `openUser`, with the page's link to its engine going through `standIn`. */
async function openLinkedUser(browser: Browser, name: string, host: EngineHost, standIn: SessionsStandIn): Promise<User> {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  await page.routeWebSocket(/\/ws$/, (route) => standIn.attach(route));
  await page.goto(host.appUrl);
  return { name, host, context, page };
}
