/**
 * Proof-of-work stamp search in a worker thread (shared/spam/stamp.ts), so that the seconds a stamp
 * takes never block the engine. Hashes `prefix || counter` for counters from `startCounter` on (each
 * worker of one search starts elsewhere), reports progress every `progressEvery` hashes, and yields
 * to its message queue between rounds so a `cancel` stops it within one round (about 30 ms).
 */
import { hash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { leadingZeroBits } from '../../shared/spam/stamp.js';
import type { StampSearchRequest, StampWorkerEnvelope, StampWorkerReply } from '../../shared/spam/stampProtocol.js';

const port = parentPort!;
/** The search that runs now; a cancel or a new search replaces it. */
let current = 0;

const reply = (message: StampWorkerReply): void => port.postMessage(message);
const yieldToMessages = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function search(seq: number, request: StampSearchRequest): Promise<void> {
  const input = Buffer.alloc(request.prefix.length + 8);
  input.set(request.prefix, 0);
  const at = request.prefix.length;
  // u64 counter as two u32 halves: the search never gets near 2^53, but the wire format is 64 bits.
  let low = request.startCounter >>> 0;
  let high = Math.floor(request.startCounter / 2 ** 32) >>> 0;
  let hashes = 0;
  for (;;) {
    for (let i = 0; i < request.progressEvery; i++) {
      input.writeUInt32BE(high, at);
      input.writeUInt32BE(low, at + 4);
      const digest = hash('sha256', input, 'buffer') as Buffer;
      hashes++;
      if (digest[0] === 0 || request.bits < 8) {
        if (leadingZeroBits(digest) >= request.bits) {
          return reply({ seq, kind: 'found', counter: new Uint8Array(input.subarray(at)), hashes });
        }
      }
      low = (low + 1) >>> 0;
      if (low === 0) high = (high + 1) >>> 0;
    }
    reply({ seq, kind: 'progress', hashes });
    await yieldToMessages();
    if (current !== seq) return reply({ seq, kind: 'cancelled', hashes });
  }
}

port.on('message', ({ seq, request }: StampWorkerEnvelope) => {
  if (request.kind === 'cancel') {
    if (current === seq) current = 0;
    return;
  }
  current = seq;
  search(seq, request).catch((error: Error) => reply({ seq, kind: 'error', message: error.message }));
});
