/**
 * `npm run bench:flood`: one stranger floods our drop while a contact writes to us. The whole path runs:
 * a real drop server, the engine host (push, trial-open, batches) and the messenger UI in Chromium
 * with the contact's conversation open. The flood PDUs are made here, as a hostile client would.
 *  - delay: from the contact's POST to its message painted in the open chat; baseline: the same
 *    message with no flood, measured in the same run (median of 5).
 *  - floods of 4,096 messages, the contact writing after the first half: one long text claiming 4,096
 *    parts (beyond the part limit); 16 long texts of 256 parts that never finish (the pending bound);
 *    4,096 short messages (the request bound).
 *  - heap: the page's used JS heap after a forced GC, before the floods and after they settled.
 *  - 3,000 strangers writing once each: time until the Contacts screen lists its requests.
 * Targets: delay under 1 s, heap flat. Prints figures; asserts nothing.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { type Page, chromium } from 'playwright';
import { PAYLOAD_LENGTH, type KeyPair } from '../../shared/protocol/boxTypes.js';
import { formatContactString, parseQco } from '../../shared/protocol/contacts.js';
import { formatDropUrl, generateDropId } from '../../shared/protocol/dropId.js';
import { generateKeyPair } from '../../shared/protocol/box.js';
import { metaToWire, serializeDropMessage, type TextPart } from '../../shared/protocol/message.js';
import { nativeBox } from '../../electron/workers/nativeBox.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../playwright.config.js';
import { createIdentity, goTo, openUser } from '../e2e/support/appDriver.js';
import { startDropServer, startEngineHost } from '../e2e/support/services.js';
import { median } from './stats.js';

const FLOOD = 4_096;
const BASELINE_RUNS = 5;
const STRANGERS = 3_000;
const POSTS_IN_FLIGHT = 16;
/** About what one part of a long text carries. */
const PART_TEXT = 'flood '.repeat(265);

if (!existsSync(CHROMIUM_PATH)) {
  console.warn(`bench:flood skipped: no Chromium at ${CHROMIUM_PATH}`);
  process.exit(0);
}
if (spawnSync('npm', ['run', '--silent', 'build:renderer'], { stdio: 'ignore' }).status !== 0) {
  console.error('bench:flood: the renderer build failed');
  process.exit(1);
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

interface Pdu {
  from: KeyPair;
  text: string;
  part?: TextPart;
  alias?: string;
}

async function seal(to: Uint8Array, { from, text, part, alias }: Pdu): Promise<Uint8Array> {
  const json = serializeDropMessage({
    version: 1,
    time_stamp: Date.now(),
    sender: hex(from.publicKey),
    drop_payload: JSON.stringify(part ? { msg: text, part } : { msg: text }),
    drop_payload_type: 'box_message',
    acknowledge_id: randomUUID(),
    ...(alias ? { meta_data: metaToWire({ alias }) } : {}),
  });
  const payload = new Uint8Array(PAYLOAD_LENGTH);
  payload.set(json);
  return nativeBox.sealPdu(from, to, payload);
}

async function post(dropUrl: string, pdu: Uint8Array): Promise<void> {
  const response = await fetch(dropUrl, { method: 'POST', headers: { Authorization: 'Client Qabel', 'Content-Type': 'application/octet-stream' }, body: pdu });
  if (response.status !== 200) throw new Error(`POST answered ${response.status}`);
}

/** Posts in order, a few at a time (a drop keeps the order in which POSTs completed). */
async function postAll(dropUrl: string, pdus: Uint8Array[]): Promise<void> {
  for (let i = 0; i < pdus.length; i += POSTS_IN_FLIGHT) await Promise.all(pdus.slice(i, i + POSTS_IN_FLIGHT).map((pdu) => post(dropUrl, pdu)));
}

/**
 * Resolves with the page's Date.now() when a message containing `marker` is painted in the open
 * chat. Page code as a string: this file is type-checked for Node, which has no DOM types.
 */
function watchFor(page: Page, marker: string): Promise<number> {
  return page.evaluate(`new Promise((resolve) => {
    const marker = ${JSON.stringify(marker)};
    const seen = () => [...document.querySelectorAll('[data-testid="message-text"]')].some((el) => el.textContent.includes(marker));
    if (seen()) return resolve(Date.now());
    const observer = new MutationObserver(() => {
      if (!seen()) return;
      observer.disconnect();
      resolve(Date.now());
    });
    observer.observe(document.body, { childList: true, subtree: true, characterData: true });
  })`) as Promise<number>;
}

// The floods together hold more than a drop takes by default (10,000 messages, 32 MB).
const server = await startDropServer(['--drop-max-messages', '100000', '--drop-max-bytes', '1GB']);
const host = await startEngineHost('flood');
const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
try {
  const user = await openUser(browser, 'flood', host);
  const page = user.page;
  await page.setViewportSize({ width: 1280, height: 900 });
  await createIdentity(page, 'Receiver', server.url);

  // Our card, as a contact would get it.
  await goTo(page, 'Contacts');
  await page.getByRole('button', { name: 'My contact card' }).click();
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export .qco file' }).click();
  const [me] = parseQco(await readFile((await (await download).path())!, 'utf8'));
  const myKey = Buffer.from(me!.publicKey, 'hex');
  const myDrop = me!.dropUrls[0]!;

  // Bob is a contact (his card pasted); the strangers are not.
  const bob = await generateKeyPair();
  const bobCard = formatContactString({ alias: 'Bob', publicKey: hex(bob.publicKey), dropUrls: [formatDropUrl(server.url, generateDropId())] });
  await page.getByRole('button', { name: 'New contact' }).click();
  await page.getByTestId('contact-paste').fill(bobCard);
  await page.getByRole('button', { name: 'Add contact', exact: true }).click();
  await page.getByRole('button', { name: 'Open conversation' }).click();

  let sent = 0;
  /** Bob writes; resolves with the ms from his POST to his message on screen. */
  const bobWrites = async (postFirst: Uint8Array[] = [], postAfter: Uint8Array[] = []) => {
    const marker = `bob says ${++sent}`;
    const pdu = await seal(myKey, { from: bob, text: marker });
    const painted = watchFor(page, marker);
    // Should posting fail, the page closes: that rejection is not the error to report.
    painted.catch(() => undefined);
    await postAll(myDrop, postFirst);
    const postedAt = Date.now();
    await post(myDrop, pdu);
    await postAll(myDrop, postAfter);
    return (await painted) - postedAt;
  };

  const cdp = await page.context().newCDPSession(page);
  const heapAfterGc = async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    return (await cdp.send('Runtime.getHeapUsage')).usedSize;
  };

  await bobWrites(); // warms the path (first batch, first render of the chat)
  const baseline: number[] = [];
  for (let i = 0; i < BASELINE_RUNS; i++) baseline.push(await bobWrites());
  const heapBefore = await heapAfterGc();

  const floods: Array<{ name: string; make: (stranger: KeyPair) => Pdu[] }> = [
    { name: `one long text claiming ${FLOOD.toLocaleString('en')} parts`, make: (s) => Array.from({ length: FLOOD }, (_, index) => ({ from: s, text: PART_TEXT, part: { group: 'g', index, count: FLOOD }, alias: 'Flood A' })) },
    { name: '16 long texts of 256 parts, never finished', make: (s) => Array.from({ length: FLOOD }, (_, i) => ({ from: s, text: PART_TEXT, part: { group: `g${i >> 8}`, index: Math.min(i & 255, 254), count: 256 }, alias: 'Flood B' })) },
    { name: `${FLOOD.toLocaleString('en')} short messages`, make: (s) => Array.from({ length: FLOOD }, (_, i) => ({ from: s, text: `spam ${i}`, alias: 'Flood C' })) },
  ];
  const results: Array<{ name: string; delay: number; settled: number; peak: number; heap: number }> = [];
  for (const flood of floods) {
    const stranger = await generateKeyPair();
    const pdus = await Promise.all(flood.make(stranger).map((p) => seal(myKey, p)));
    let peak = 0;
    const sampler = setInterval(() => void cdp.send('Runtime.getHeapUsage').then((u) => (peak = Math.max(peak, u.usedSize)), () => undefined), 250);
    const start = Date.now();
    const delay = await bobWrites(pdus.slice(0, FLOOD / 2), pdus.slice(FLOOD / 2));
    // Batches are stored in drop order: Bob's next message on screen means the flood is through.
    await bobWrites();
    const settled = Date.now() - start;
    clearInterval(sampler);
    results.push({ name: flood.name, delay, settled, peak, heap: await heapAfterGc() });
  }
  const heapAfter = results[results.length - 1]!.heap;

  // What the request of the short-message flood shows.
  await goTo(page, 'Chats');
  await page.getByTestId('conversation-item').filter({ hasText: 'Flood C' }).click();
  const collapsed = (await page.getByTestId('request-unstored').textContent()) ?? '';

  // 3,000 strangers, one message each: listing the Contacts screen.
  const strangers = await Promise.all(Array.from({ length: STRANGERS }, async (_, i) => seal(myKey, { from: await generateKeyPair(), text: `hello ${i}`, alias: `Stranger ${i}` })));
  await goTo(page, 'Chats');
  await page.getByTestId('conversation-item').filter({ hasText: 'Bob' }).click();
  const strangersDelay = await bobWrites(strangers.slice(0, STRANGERS / 2), strangers.slice(STRANGERS / 2));
  await bobWrites();
  const listStart = Date.now();
  await goTo(page, 'Contacts');
  await page.getByTestId('request-item').first().waitFor();
  const listMs = Date.now() - listStart;
  const requestRows = await page.getByTestId('request-item').count();
  const requestsNote = (await page.getByTestId('requests-unstored').textContent()) ?? '';

  console.log('');
  console.log(`machine: ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' / ')} (1 / 5 / 15 min)`);
  console.log(`contact's message alone (baseline), POST → painted in the open chat: median ${median(baseline)} ms (runs: ${baseline.join(', ')} ms)`);
  for (const r of results) {
    console.log(`flood of ${FLOOD.toLocaleString('en')} from a stranger, ${r.name}:`);
    console.log(`  contact's message in the middle of it: ${r.delay} ms (${(r.delay - median(baseline)).toFixed(0)} ms over the baseline; target < 1,000 ms); posted and through in ${(r.settled / 1000).toFixed(1)} s; heap peak ${mb(r.peak)}, after GC ${mb(r.heap)}`);
  }
  console.log(`renderer heap after GC: ${mb(heapBefore)} before the floods, ${mb(heapAfter)} after (${heapAfter >= heapBefore ? '+' : ''}${mb(heapAfter - heapBefore)})`);
  console.log(`the short-message flood's request: "${collapsed.replace(/\s+/g, ' ').trim()}"`);
  console.log(`${STRANGERS.toLocaleString('en')} strangers writing once each: contact's message in the middle ${strangersDelay} ms; Contacts screen listed in ${listMs} ms, ${requestRows} request rows in the page; "${requestsNote.replace(/\s+/g, ' ').trim()}"`);
  await user.context.close();
} finally {
  await browser.close();
  await host.stop();
  await server.stop();
}
