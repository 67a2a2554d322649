/**
 * End-to-end delivery latency: Alice's engine sends (`messages/send`: seal in a worker + POST), Bob's
 * engine receives (push hint or poll, GET, trial open) and the time is taken when Bob's consumer sees
 * the message in an `inbox/batch` event. Messages go out at a steady rate, not one at a time.
 */
import { startServerProcess } from '../engine/helpers/serverProcess.js';
import { removeDir, startTestEngine } from '../engine/helpers/testEngine.js';
import { waitFor } from '../engine/helpers/waitFor.js';

export interface LatencyResult {
  p50: number;
  p99: number;
  count: number;
}

const SEND_EVERY_MS = 20;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function measureLatency({ push, messages }: { push: boolean; messages: number }): Promise<LatencyResult> {
  const server = await startServerProcess();
  const alice = await startTestEngine();
  const bob = await startTestEngine();
  try {
    await bob.call('settings/set', push ? { push: true, pollIntervalMs: 3_600_000 } : { push: false, pollIntervalMs: 1000 });
    const aliceId = await alice.call('identities/create', { alias: 'alice', serverUrl: server.url });
    const bobId = await bob.call('identities/create', { alias: 'bob', serverUrl: server.url });
    if (push) await waitFor(async () => (await bob.call('servers/status', {}))[0]?.pushConnected, 'push socket');
    const sentAt = new Map<string, number>();
    const latencies: number[] = [];
    bob.engine.subscribe(({ event, payload: batch }) => {
      if (event !== 'inbox/batch') return;
      const now = performance.now();
      for (const message of batch.messages) {
        const started = sentAt.get(message.text ?? '');
        if (started === undefined) continue;
        sentAt.delete(message.text!);
        latencies.push(now - started);
      }
      void bob.call('inbox/ack', { batchId: batch.batchId });
    });
    for (let i = 0; i < messages; i++) {
      const text = `latency ${i}`;
      sentAt.set(text, performance.now());
      await alice.call('messages/send', {
        identityId: aliceId.id,
        localId: `latency-${i}`,
        recipient: { publicKey: bobId.publicKey, dropUrls: bobId.dropUrls },
        text,
        wantReceipt: false,
      });
      await new Promise((resolve) => setTimeout(resolve, SEND_EVERY_MS));
    }
    await waitFor(() => latencies.length >= messages, `all ${messages} messages at bob`, 60_000);
    latencies.sort((a, b) => a - b);
    return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), count: latencies.length };
  } finally {
    await alice.close();
    await bob.close();
    await server.stop();
    removeDir(alice.dataDir);
    removeDir(bob.dataDir);
  }
}
