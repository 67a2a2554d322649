// The measurements of `npm run bench:protocol`, runtime-neutral so the same code runs under Node and,
// bundled, in a Chromium page. Each figure is a rate; ratios compare against a baseline measured in
// the same run (raw X25519 for trial decryption), never against fixed numbers.
import { cryptoReady, generateKeyPair, portableBox } from '../../shared/protocol/box.js';
import { PAYLOAD_LENGTH } from '../../shared/protocol/boxTypes.js';
import { randomBytes } from '../../shared/protocol/encoding.js';
import { buildMultipart, MultipartParser } from '../../shared/protocol/multipart.js';
import { buildTextMessages } from '../../shared/protocol/textMessages.js';
import { x25519 } from '../../shared/protocol/x25519.js';

export interface ProtocolBenchResult {
  rawX25519PerSecond: number;
  trialOpenPerSecond: number;
  trialToRawRatio: number;
  sealPerSecond: number;
  multipartMegabytesPerSecond: number;
  splitTextMilliseconds: number;
}

const TRIAL_PDUS = 2000;
const OURS_EVERY = 100;
const RAW_ROUNDS = 4000;
const SEALS = 300;
const MULTIPART_PARTS = 5000;
const MULTIPART_CHUNK = 64 * 1024;

async function runProtocolBench(): Promise<ProtocolBenchResult> {
  await cryptoReady();
  const [me, stranger, sender] = await Promise.all([generateKeyPair(), generateKeyPair(), generateKeyPair()]);
  const payload = new Uint8Array(PAYLOAD_LENGTH);

  let started = performance.now();
  for (let i = 0; i < SEALS; i++) await portableBox.sealPdu(sender, stranger.publicKey, payload);
  const sealPerSecond = SEALS / ((performance.now() - started) / 1000);

  const pdus: Uint8Array[] = [];
  for (let i = 0; i < TRIAL_PDUS; i++) pdus.push(await portableBox.sealPdu(sender, (i % OURS_EVERY === 0 ? me : stranger).publicKey, payload));
  started = performance.now();
  const hits = await portableBox.trialOpen([me], pdus);
  const trialOpenPerSecond = TRIAL_PDUS / ((performance.now() - started) / 1000);
  if (hits.filter(Boolean).length !== TRIAL_PDUS / OURS_EVERY) throw new Error('trialOpen found the wrong number of messages');

  started = performance.now();
  for (let i = 0; i < RAW_ROUNDS; i++) x25519(me.privateKey, stranger.publicKey);
  const rawX25519PerSecond = RAW_ROUNDS / ((performance.now() - started) / 1000);

  const body = buildMultipart(Array.from({ length: MULTIPART_PARTS }, () => ({ body: randomBytes(2149), date: new Date() })));
  started = performance.now();
  const parser = new MultipartParser(body.boundary, { maxParts: MULTIPART_PARTS, maxPartBytes: 4096, maxTotalBytes: body.body.length });
  let parts = 0;
  for (let offset = 0; offset < body.body.length; offset += MULTIPART_CHUNK) parts += parser.push(body.body.subarray(offset, offset + MULTIPART_CHUNK)).length;
  parser.finish();
  const multipartMegabytesPerSecond = body.body.length / 1e6 / ((performance.now() - started) / 1000);
  if (parts !== MULTIPART_PARTS) throw new Error('multipart parser lost parts');

  started = performance.now();
  buildTextMessages({ sender: 'ab'.repeat(32), text: 'ä'.repeat(100_000), wantReceipt: true, now: 0, newId: () => crypto.randomUUID() });
  const splitTextMilliseconds = performance.now() - started;

  return {
    rawX25519PerSecond, trialOpenPerSecond, trialToRawRatio: trialOpenPerSecond / rawX25519PerSecond,
    sealPerSecond, multipartMegabytesPerSecond, splitTextMilliseconds,
  };
}

(globalThis as { protocolBench?: () => Promise<ProtocolBenchResult> }).protocolBench = runProtocolBench;
