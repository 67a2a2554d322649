/**
 * Browser-side code of the UI benchmark, passed to `page.evaluate` as strings so it runs in the
 * page's realm (this file is type-checked for Node, which has no DOM types).
 */

/** Writes a contact, its conversation and `count` messages straight into the app's IndexedDB. */
export const seedConversationSource = `async ({ identityId, contactKey, alias, count }) => {
  const idb = await new Promise((resolve, reject) => {
    const request = indexedDB.open('deaddrop');
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const start = Date.now() - count * 60_000;
  const words = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor'.split(' ');
  await new Promise((resolve, reject) => {
    const tx = idb.transaction(['contacts', 'conversations', 'messages'], 'readwrite');
    tx.objectStore('contacts').put({ identityId, publicKey: contactKey, alias, aliasLower: alias.toLowerCase(),
      dropUrls: ['http://127.0.0.1:9/drop/' + 'C'.repeat(43)], status: 'accepted', createdAt: start });
    const messages = tx.objectStore('messages');
    let last = '';
    for (let i = 0; i < count; i++) {
      const out = i % 3 === 0;
      const length = 3 + ((i * 7919) % 40);
      const text = 'message ' + i + ': ' + Array.from({ length }, (_, k) => words[(i + k) % words.length]).join(' ');
      last = text;
      const id = (out ? 'out:' : 'in:') + contactKey.slice(0, 8) + ':' + i;
      messages.put({ id, identityId, contactKey, direction: out ? 'out' : 'in', kind: 'text', text,
        payloadType: 'box_message', payload: '', share: null, sortAt: start + i * 60_000, createdAt: start + i * 60_000,
        status: out ? 'delivered' : null, localId: out ? id.slice(4) : null, error: null, ackIds: [], ackedIds: [],
        parts: null, read: true });
    }
    tx.objectStore('conversations').put({ identityId, contactKey, lastMessageAt: start + (count - 1) * 60_000,
      lastMessagePreview: last.slice(0, 140), lastMessageDirection: 'in', unreadCount: 0, messageCount: count });
    tx.oncomplete = () => resolve(undefined);
    tx.onerror = () => reject(tx.error);
  });
  idb.close();
}`;

/**
 * Clicks a conversation and resolves with the milliseconds until its newest message is painted
 * with the viewport filled by loaded messages (no placeholders), after two animation frames.
 */
export const timeOpenConversationSource = `({ alias, count, newestText }) => new Promise((resolve, reject) => {
  const item = [...document.querySelectorAll('[data-testid="conversation-item"]')].find((el) => el.textContent.includes(alias));
  if (!item) return reject(new Error('conversation not listed'));
  const deadline = performance.now() + 30_000;
  const ready = () => {
    const list = document.querySelector('[data-testid="message-list"]');
    if (!list || list.dataset.count !== String(count)) return false;
    if (list.querySelector('.skeleton')) return false;
    const texts = [...list.querySelectorAll('[data-testid="message-text"]')].map((el) => el.textContent);
    return texts.some((t) => t.startsWith(newestText));
  };
  const t0 = performance.now();
  item.click();
  const check = () => {
    if (ready()) {
      requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - t0)));
    } else if (performance.now() > deadline) {
      reject(new Error('conversation did not open'));
    } else {
      requestAnimationFrame(check);
    }
  };
  check();
})`;

/**
 * Scrolls the open conversation back by \`messages\` messages, a fixed distance per frame, and
 * returns every frame's duration (ms) plus how many frames it took.
 */
export const scrollBackSource = `({ messages, stepPx }) => new Promise((resolve, reject) => {
  const list = document.querySelector('[data-testid="message-list"]');
  if (!list) return reject(new Error('no message list'));
  const count = Number(list.dataset.count);
  const target = count - 1 - messages;
  const frames = [];
  let previous = performance.now();
  const deadline = previous + 120_000;
  const firstVisibleIndex = () => {
    const top = list.getBoundingClientRect().top;
    const rows = [...list.querySelectorAll('.message-row')];
    const row = rows.find((r) => r.getBoundingClientRect().bottom > top);
    return row ? Number(row.dataset.index) : count;
  };
  const step = (now) => {
    frames.push(now - previous);
    previous = now;
    if (firstVisibleIndex() <= target) return resolve({ frames, reached: firstVisibleIndex() });
    if (now > deadline) return reject(new Error('scrolling did not reach the target'));
    list.scrollTop = Math.max(0, list.scrollTop - stepPx);
    requestAnimationFrame(step);
  };
  requestAnimationFrame((now) => { previous = now; requestAnimationFrame(step); });
})`;

/** Frame durations of an idle page over \`frames\` frames: the baseline for the scroll figures. */
export const idleFramesSource = `({ frames }) => new Promise((resolve) => {
  const out = [];
  let previous;
  const step = (now) => {
    if (previous !== undefined) out.push(now - previous);
    previous = now;
    if (out.length >= frames) resolve(out); else requestAnimationFrame(step);
  };
  requestAnimationFrame(step);
})`;

/**
 * Types a query into the search field and resolves with the milliseconds until a result showing it
 * is listed (a MutationObserver sees it as it is rendered; no round trip to Node is timed).
 */
export const timeSearchSource = `(query) => {
  const input = document.getElementById('conversation-search');
  const listed = () => [...document.querySelectorAll('[data-testid="search-result-text"]')].some((el) => el.textContent.includes(query));
  return new Promise((resolve) => {
    const start = performance.now();
    const observer = new MutationObserver(() => {
      if (!listed()) return;
      observer.disconnect();
      resolve(performance.now() - start);
    });
    observer.observe(document.body, { subtree: true, childList: true, characterData: true });
    // React listens for the input event and reads the value through the element's own setter.
    Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(input, query);
    input.dispatchEvent(new Event('input', { bubbles: true }));
  });
}`;
