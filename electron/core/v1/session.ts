/**
 * Protocol v1 sessions (PROTOCOL-V1.md 1c): a Double Ratchet with header encryption, 16-byte tags, a
 * per-message DH mix and flow-controlled epochs, as pure functions over a plain JSON state (base64url
 * strings and numbers only). Nothing here reads the clock or mutates its input: every call takes `now`
 * and returns a new state, so the engine can persist states atomically and replay PDUs after a crash.
 *
 * Choices where the design is not precise (also in electron/core/v1/README.md):
 * - KDF labels (ASCII, HKDF-SHA256 unless said otherwise):
 *     KDF_RK(rk, dh) = HKDF(salt = rk, ikm = dh, info "DD1 rk", 96) = RK' (32) · CK (32) · NHK (32)
 *     chain: mk_seed = HMAC(CK, 0x01), CK' = HMAC(CK, 0x02) (the DR spec's)
 *     message key: mk (32) · nonce_mk (12) = HKDF(salt = mk_seed, ikm = x, info "DD1 msg" || T, 44)
 *     tag: T = HMAC(HK, "DD1 tag" || u16 n || u8 copy)[0..16]; header nonce = SHA-256("DD1 hn" || E)[0..12]
 *     Init: T_init = HMAC(key = dh1, "DD1 init tag" || E || IK_B)[0..16] (one HMAC: what every foreign PDU
 *           pays); K_i = HKDF(ikm = dh1, salt = E || IK_B, info "DD1 init", 32), only after T_init matched;
 *           k_s (32) · n_s (12) = HKDF(ikm = K_i, salt = empty, info "DD1 init s", 44)
 *     session id = SHA-256("DD1 sid" || SK)[0..16]; ackv epoch hash = SHA-256("DD1 ack" || ratchet public)[0..4]
 * - SK: the design writes SK = HKDF(dh1 || dh2 || dh3) with dh1, dh3 taken from the Init PDU's `E`, but `E`
 *   is fresh for every Init PDU (camouflage), which would give every Init PDU its own session. Alice's first
 *   ratchet key RK_A (sent in `S`, the same in all her Init PDUs) plays the X3DH ephemeral instead:
 *     SK = HKDF(salt = 32 zero bytes, ikm = X25519(RK_A, IK_B) || X25519(IK_A, IK_B) [|| X25519(RK_A, QPK_B)], info "DD1 SK", 32)
 *   The per-PDU `dh1 = X25519(E, IK_B)` still opens `T_init` and `S` (one X25519 shared with the v0 trial).
 *   Forward secrecy of the first messages is unchanged: Alice deletes RK_A at her first ratchet step and Bob
 *   deletes the QPK when it expires.
 * - First chains (DR-HE, section 4 of the DR spec): HKDF(ikm = SK, salt = zero, info "DD1 hk", 64) =
 *   shared_hka · shared_nhkb. Alice: RK, CKs, NHKs = KDF_RK(SK, X25519(RK_A, B0)), HKs = shared_hka (unused:
 *   Init PDUs have no header), NHKr = shared_nhkb. Bob on the first Init: the same RK, CKr, NHKr, HKr =
 *   shared_hka; then his fresh ratchet key B1, RK, CKs, NHKs = KDF_RK(RK, X25519(B1, RK_A)), HKs = shared_nhkb.
 *   So Alice precomputes the tags of Bob's first reply from SK alone (her "next" receiving epoch).
 * - Per-message DH mix in Init PDUs: x = X25519(E, B0) (= dh1 when there is no QPK).
 * - Next-epoch tag window: the tags of the peer's next sending chain use NHKr, which DR-HE knows in advance,
 *   so `tagsOf` lists all n < W × copies for both HKr and NHKr; the receiving side needs no header trials.
 * - Retained receiving epochs: the current one and the two before it whole; an older epoch only while it
 *   holds skipped seeds, and only those (a re-post of a lost message comes days later, after any number
 *   of round trips: see `prune`). Skipped seeds ≤ 3W, oldest first out, and the epochs before the current
 *   one hold at most 2W consumed or skipped (epoch, n). Consumed (epoch, n) of the two epochs before the
 *   current one stay in the tag table so later copies are duplicates found without crypto (a copy of a
 *   consumed message of an older epoch finds no tag: it is skipped, never shown twice); skipped seeds die
 *   14 days after storing.
 * - Copies: one `seal` derives mk_seed once and seals `copies` PDUs (copy index in T and the header), each
 *   with its own E. No key of a sent message is kept, so a failed drop is served by re-posting the bytes of
 *   another copy or by sending anew, not by re-encrypting the same (epoch, n, copy).
 * - Body: Session PDUs carry a 2020-byte common body; Init PDUs a 27-byte prefix (flags · qpk_id 8 ·
 *   device_id 8 · N u16 · 2 zero bytes · sender_drops_epoch u16 · devlist_hash 4) then a 1977-byte common body.
 *   `sender_drops_epoch` (Session header bytes 38..40, Init prefix 21..23) is the caller's `dropsEpoch`;
 *   `devlist_hash` (Session header bytes 40..44, Init prefix 23..27) the caller's `devlistHash`: the
 *   recipient's device list hash as the sender knows it (PROTOCOL-V1.md 5c), zero when it knows none.
 * - ackv acknowledges the peer's epoch we receive in now; every sealed body carries one automatically once
 *   we received anything.
 */
import { type KeyObject } from 'node:crypto';
import { type Ackv, type Body, ACKV_BITMAP_LENGTH, ACKV_NONE, MessageType, decodeBody, encodeBody } from './body.js';
import {
  type RandomSource,
  type RawKeyPair,
  b64,
  systemRandom,
  gcmOpen,
  gcmSeal,
  generateKeyPair,
  hkdf,
  hmac,
  importPublic,
  importPublicOnce,
  label,
  sha256,
  unb64,
  generateEphemeral,
  x25519,
  x25519Key,
  x25519Objects,
} from './primitives.js';

export const PDU_LENGTH = 2149;
/** Messages per sending epoch (flow control). */
export const W = 128;
export const MAX_COPIES = 4;
export const DEFAULT_COPIES = 2;
/** Skipped seeds live this long after they are stored: max server TTL + 7 days. */
export const SKIPPED_LIFETIME_MS = 14 * 24 * 3600 * 1000;
export const QPK_LIFETIME_MS = 30 * 24 * 3600 * 1000;
export const MAX_SKIPPED = 3 * W;
/** Receiving epochs kept whole: the current and two previous (older ones only for their skipped seeds). */
export const RETAINED_RECV_EPOCHS = 3;
/** Consumed and skipped (epoch, n) kept of the epochs before the current one: two epochs' worth. */
const MAX_OLD_ENTRIES = 2 * W;

export const SESSION_BODY_LENGTH = 2020;
export const INIT_PREFIX_LENGTH = 27;
export const INIT_BODY_LENGTH = 2004 - INIT_PREFIX_LENGTH;

/** Wire offsets (PROTOCOL-V1.md tables). */
export const OFF_E = 1;
export const OFF_T = 33;
export const OFF_H = 49;
export const OFF_B = 113;
export const OFF_S = 49;
export const OFF_INIT_B = 129;
const HEADER_LENGTH = 48;

export const INIT_FLAG_HAS_QPK = 0x01;
export const INIT_FLAG_RESET = 0x02;
export const INIT_FLAG_DEVICE_INIT = 0x04;
export const INIT_FLAG_QPK_STALE = 0x08;

const L_RK = label('DD1 rk');
const L_MSG = label('DD1 msg');
const L_TAG = label('DD1 tag');
const L_HN = label('DD1 hn');
const L_INIT = label('DD1 init');
const L_INIT_S = label('DD1 init s');
const L_INIT_TAG = label('DD1 init tag');
const L_SK = label('DD1 SK');
const L_HK = label('DD1 hk');
const L_SID = label('DD1 sid');
const L_ACK = label('DD1 ack');
const ZERO32 = Buffer.alloc(32);
const CHAIN_SEED = Buffer.from([1]);
const CHAIN_NEXT = Buffer.from([2]);
const V0 = Buffer.from([0]);

/** A receiving chain kept for skipped seeds and duplicates. `hk` is empty for the Init chain (no tags). */
export interface RecvEpochState {
  e: number;
  hk: string;
  /** The peer's ratchet public key of this chain (acks name it). */
  dh: string;
  /** Our key pair the chain was derived against (x = X25519(target, E)); empty for the Init chain. */
  tgtPub: string;
  tgtPriv: string;
  /** 16-byte bitmap of consumed n. */
  consumed: string;
  skipped: { n: number; seed: string; at: number }[];
}

export interface SentEpochState {
  e: number;
  hash: string;
  count: number;
  acked: string;
}

export interface SessionState {
  v: 1;
  id: string;
  role: 'initiator' | 'responder';
  confirmed: boolean;
  /** Monotonic write counter (rollback detection). */
  counter: number;
  copies: number;
  ourId: string;
  theirId: string;
  /** SHA-256(IK_A || RK_A) of the initiator: orders simultaneous Inits. */
  initKey: string;
  /** Initiator only, until confirmed: what Init PDUs need. */
  init?: { b0: string; qpkId: string; flags: number } | undefined;
  /** Our device id (8 bytes): what our Init PDUs carry, and which of our devices this session is on. */
  deviceId: string;
  /**
   * The peer's device this session is with (16 hex, PROTOCOL-V1.md 5c per-device sessions): the device
   * our Init addressed (its device prekey as the QPK), or the `device_id` of the peer's Init. Absent:
   * a session from before device ids, or with a peer that sent none (one device, no list).
   */
  theirDevice?: string | undefined;
  rk: string;
  dhsPub: string;
  dhsPriv: string;
  dhr: string;
  cks: string;
  ckr: string;
  hks: string;
  hkr: string;
  nhks: string;
  nhkr: string;
  ns: number;
  nr: number;
  pn: number;
  sendEpoch: number;
  recvEpoch: number;
  recv: RecvEpochState[];
  sent: SentEpochState[];
  pingOwed: boolean;
}

export interface QrPrekey {
  public: string;
  private: string;
  id: string;
  expiresAt: number;
}

export interface IdentityKeys {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

export type SealResult =
  | { pdu: Uint8Array; pdus: Uint8Array[]; state: SessionState; ref: { epoch: number; n: number } }
  | { error: 'window_full' };

export type OpenSessionResult =
  /** `dropsEpoch`: the sender's `sender_drops_epoch` (PROTOCOL-V1.md 2c), authenticated with the header. */
  | { state: SessionState; body: Body; epoch: number; n: number; copy: number; acked: { epoch: number; n: number }[]; dropsEpoch: number; devlistHash: string | null }
  | { duplicate: true }
  | null;

export type OpenInitResult =
  | {
      state: SessionState;
      body: Body;
      theirIdentityPublic: Uint8Array;
      qpkId: string | null;
      n: number;
      created: boolean;
      flags: number;
      dropsEpoch: number;
      devlistHash: string | null;
      /** The sender's `device_id` (16 hex), null when zero. */
      theirDevice: string | null;
    }
  | { duplicate: true; sessionId: string }
  /**
   * An Init sealed to our identity key whose body opened under none of our QR prekeys nor without one:
   * it names a prekey we no longer (or never) had (PROTOCOL-V1.md 1c "Stale QPK"). The sender's identity
   * key is only claimed (nothing authenticates it without the prekey); the engine may answer it with a
   * plain Init carrying `INIT_FLAG_QPK_STALE`.
   */
  | { staleQpk: true; theirIdentityPublic: Uint8Array }
  | null;

// ---------------------------------------------------------------------------------------------- helpers

const u16 = (n: number): Buffer => {
  const out = Buffer.alloc(2);
  out.writeUInt16BE(n);
  return out;
};

function kdfRk(rk: Uint8Array, dh: Uint8Array): { rk: Buffer; ck: Buffer; nhk: Buffer } {
  const out = hkdf(dh, rk, L_RK, 96);
  return { rk: out.subarray(0, 32), ck: out.subarray(32, 64), nhk: out.subarray(64, 96) };
}

function chainStep(ck: Uint8Array): { seed: Buffer; next: Buffer } {
  return { seed: hmac(ck, CHAIN_SEED), next: hmac(ck, CHAIN_NEXT) };
}

function messageKey(seed: Uint8Array, x: Uint8Array, tag: Uint8Array): { key: Buffer; nonce: Buffer } {
  const out = hkdf(x, seed, Buffer.concat([L_MSG, tag]), 44);
  return { key: out.subarray(0, 32), nonce: out.subarray(32, 44) };
}

export function computeTag(hk: Uint8Array, n: number, copy: number): Buffer {
  return hmac(hk, L_TAG, u16(n), Buffer.from([copy])).subarray(0, 16);
}

const headerNonce = (e: Uint8Array): Buffer => sha256(L_HN, e).subarray(0, 12);
export const ackEpochHash = (ratchetPublic: Uint8Array): Buffer => sha256(L_ACK, ratchetPublic).subarray(0, 4);

/**
 * Tags of one header key, memoised: the table is rebuilt after every message, and 2 × W × k HMACs per
 * rebuild would dominate the open cost. One block of W × k tags (16 bytes each, n-major) per key, no
 * object per tag; a tag's (n, copy) is its position (`Buffer.indexOf`, native). Bounded, least recently
 * used first out: 256 keys at k = 2 hold 1 MB (the sessions being written to stay in; a table rebuilt
 * over many more sessions recomputes the rest).
 */
const tagMemo = new Map<string, Buffer>();
const TAG_MEMO_LIMIT = 256;
const TAG_LENGTH = 16;

function tagsOfKey(hk: string, copies: number): Buffer {
  const id = `${hk}/${copies}`;
  let block = tagMemo.get(id);
  if (block) {
    tagMemo.delete(id);
  } else {
    const key = unb64(hk);
    block = Buffer.alloc(W * copies * TAG_LENGTH);
    for (let n = 0; n < W; n++) for (let c = 0; c < copies; c++) computeTag(key, n, c).copy(block, (n * copies + c) * TAG_LENGTH);
    if (tagMemo.size >= TAG_MEMO_LIMIT) tagMemo.delete(tagMemo.keys().next().value as string);
  }
  tagMemo.set(id, block);
  return block;
}

const tagAt = (block: Buffer, index: number): Buffer => block.subarray(index * TAG_LENGTH, (index + 1) * TAG_LENGTH);

/** (n, copy) of a tag among one key's tags, or undefined. */
function positionOf(block: Buffer, tag: Buffer, copies: number): { n: number; copy: number } | undefined {
  for (let at = block.indexOf(tag); at >= 0; at = block.indexOf(tag, at + 1)) {
    if (at % TAG_LENGTH !== 0) continue; // straddles two tags: not one of them
    const index = at / TAG_LENGTH;
    return { n: Math.floor(index / copies), copy: index % copies };
  }
  return undefined;
}

const bitGet = (bitmap: Uint8Array, n: number): boolean => ((bitmap[n >> 3] ?? 0) & (1 << (n & 7))) !== 0;
function bitSet(bitmapB64: string, n: number): string {
  const bitmap = unb64(bitmapB64);
  bitmap[n >> 3]! |= 1 << (n & 7);
  return b64(bitmap);
}
const emptyBitmap = (): string => b64(new Uint8Array(ACKV_BITMAP_LENGTH));

const pairOf = (pub: string, priv: string): RawKeyPair => ({ publicKey: unb64(pub), privateKey: unb64(priv) });
/**
 * A deep copy of a state (inputs are never mutated). Written out: `structuredClone` cost ~15 µs per call,
 * about 0.4 X25519, on every open and seal. Every field is a string, number or boolean except `init`,
 * `recv` (with `skipped`) and `sent`; a new nested field must be copied here too (`session.test.ts` "never
 * mutates its input" compares the input before and after).
 */
const clone = (state: SessionState): SessionState => ({
  ...state,
  ...(state.init ? { init: { ...state.init } } : {}),
  recv: state.recv.map((epoch) => ({ ...epoch, skipped: epoch.skipped.map((seed) => ({ ...seed })) })),
  sent: state.sent.map((epoch) => ({ ...epoch })),
});

function freshPair(random?: RandomSource): RawKeyPair {
  return generateKeyPair(random);
}

/**
 * Drops expired skipped seeds and enforces the 3W bound (oldest epochs, then lowest n, go first).
 *
 * An epoch older than the current and the two before it stays while it holds skipped seeds (its
 * consumed marks go: only the seeds are kept). Its missing messages are what re-posting brings, and a
 * re-post comes 3.5 days after the first post, by when an ongoing conversation has ratcheted through
 * many more than two epochs: dropping the epoch with the third round trip lost such a message for
 * good (both copies lost at first, e.g. one server said 200 and forgot it, the other was down; every
 * re-post then carried bytes no key was left for). Bounds as before: skipped seeds ≤ 3W and 14 days,
 * and the epochs before the current one hold at most 2W consumed or skipped (epoch, n) (consumed marks
 * go first, oldest epoch first, then skipped seeds), so the tag table stays within 4·W·k per session.
 */
function prune(state: SessionState, now: number): void {
  for (const epoch of state.recv) epoch.skipped = epoch.skipped.filter((s) => now - s.at < SKIPPED_LIFETIME_MS);
  let total = state.recv.reduce((sum, e) => sum + e.skipped.length, 0);
  for (const epoch of state.recv) {
    while (total > MAX_SKIPPED && epoch.skipped.length > 0) {
      epoch.skipped.shift();
      total--;
    }
  }
  const current = currentRecv(state);
  const older = state.recv.filter((epoch) => epoch !== current);
  let entries = older.reduce((sum, epoch) => sum + consumedCount(epoch.consumed) + epoch.skipped.length, 0);
  for (const epoch of older) {
    if (entries <= MAX_OLD_ENTRIES) break;
    entries -= consumedCount(epoch.consumed);
    epoch.consumed = emptyBitmap();
  }
  for (const epoch of older) {
    while (entries > MAX_OLD_ENTRIES && epoch.skipped.length > 0) {
      epoch.skipped.shift();
      entries--;
    }
  }
  const whole = state.recv.length - RETAINED_RECV_EPOCHS;
  state.recv = state.recv.filter((epoch, i) => i >= whole || epoch.skipped.length > 0);
  for (let i = 0; i < state.recv.length - RETAINED_RECV_EPOCHS; i++) {
    const epoch = state.recv[i]!;
    if (consumedCount(epoch.consumed) > 0) epoch.consumed = emptyBitmap();
  }
  while (state.sent.length > RETAINED_RECV_EPOCHS) state.sent.shift();
}

/** How many n a consumed bitmap marks. */
function consumedCount(bitmapB64: string): number {
  let count = 0;
  for (const byte of unb64(bitmapB64)) for (let bits = byte; bits !== 0; bits &= bits - 1) count++;
  return count;
}

/** True for an epoch kept only for its skipped seeds (older than the current and the two before it). */
const seedsOnly = (state: SessionState, index: number): boolean => index < state.recv.length - RETAINED_RECV_EPOCHS;

function currentRecv(state: SessionState): RecvEpochState | undefined {
  const last = state.recv[state.recv.length - 1];
  return last && last.e === state.recvEpoch ? last : undefined;
}

// ---------------------------------------------------------------------------------------------- QR prekeys

/** A fresh QR prekey for a v1 QR code; its private half is kept until `expiresAt`. */
export function newQrPrekey(now: number, random?: RandomSource): QrPrekey {
  const pair = freshPair(random);
  return { public: b64(pair.publicKey), private: b64(pair.privateKey), id: qpkIdOf(pair.publicKey), expiresAt: now + QPK_LIFETIME_MS };
}

export const qpkIdOf = (publicKey: Uint8Array): string => b64(sha256(publicKey).subarray(0, 8));

// ---------------------------------------------------------------------------------------------- Init

function deriveSk(dhRi: Buffer, dhIi: Buffer, dhRq: Buffer | null): Buffer {
  return hkdf(Buffer.concat(dhRq ? [dhRi, dhIi, dhRq] : [dhRi, dhIi]), ZERO32, L_SK, 32);
}

function sharedHeaderKeys(sk: Uint8Array): { hka: Buffer; nhkb: Buffer } {
  const out = hkdf(sk, ZERO32, L_HK, 64);
  return { hka: out.subarray(0, 32), nhkb: out.subarray(32, 64) };
}

const sessionIdOf = (sk: Uint8Array): string => b64(sha256(L_SID, sk).subarray(0, 16));

export interface InitiateParams {
  ourIdentity: IdentityKeys;
  theirIdentityPublic: Uint8Array;
  /** From the peer's v1 QR: its public key and id. */
  theirQrPrekey?: { public: Uint8Array } | undefined;
  /** Init flags besides has_qpk: `INIT_FLAG_RESET`, `INIT_FLAG_QPK_STALE`. */
  flags?: number | undefined;
  copies?: number | undefined;
  deviceId?: Uint8Array | undefined;
  /** The peer's device addressed (16 hex; its device prekey is `theirQrPrekey`), recorded in the state. */
  theirDevice?: string | undefined;
  random?: RandomSource | undefined;
}

/** The initiator's state: it seals Init PDUs until the first Session PDU from the peer arrives. */
export function initiate(params: InitiateParams, now: number): SessionState {
  void now; // no time-dependent field yet; kept for the uniform signature
  const ra = freshPair(params.random);
  const ikB = params.theirIdentityPublic;
  const qpk = params.theirQrPrekey?.public;
  const dhRi = x25519(ra, ikB);
  const dhIi = x25519(params.ourIdentity, ikB);
  const dhRq = qpk ? x25519(ra, qpk) : null;
  if (!dhRi || !dhIi || (qpk && !dhRq)) throw new RangeError('The peer keys are not usable X25519 keys.');
  const sk = deriveSk(dhRi, dhIi, dhRq);
  const { hka, nhkb } = sharedHeaderKeys(sk);
  const b0 = qpk ?? ikB;
  const first = kdfRk(sk, (dhRq ?? dhRi)); // X25519(RK_A, B0)
  const copies = params.copies ?? DEFAULT_COPIES;
  if (!Number.isInteger(copies) || copies < 1 || copies > MAX_COPIES) throw new RangeError('copies must be 1..4');
  return {
    v: 1,
    id: sessionIdOf(sk),
    role: 'initiator',
    confirmed: false,
    counter: 1,
    copies,
    ourId: b64(params.ourIdentity.publicKey),
    theirId: b64(ikB),
    initKey: b64(sha256(params.ourIdentity.publicKey, ra.publicKey)),
    init: { b0: b64(b0), qpkId: qpk ? qpkIdOf(qpk) : '', flags: (qpk ? INIT_FLAG_HAS_QPK : 0) | ((params.flags ?? 0) & ~INIT_FLAG_HAS_QPK) },
    deviceId: b64(params.deviceId ?? new Uint8Array(8)),
    ...(params.theirDevice ? { theirDevice: params.theirDevice } : {}),
    rk: b64(first.rk),
    dhsPub: b64(ra.publicKey),
    dhsPriv: b64(ra.privateKey),
    dhr: b64(b0),
    cks: b64(first.ck),
    ckr: '',
    hks: b64(hka),
    hkr: '',
    nhks: b64(first.nhk),
    nhkr: b64(nhkb),
    ns: 0,
    nr: 0,
    pn: 0,
    sendEpoch: 0,
    recvEpoch: -1,
    recv: [],
    sent: [{ e: 0, hash: b64(ackEpochHash(ra.publicKey)), count: 0, acked: emptyBitmap() }],
    pingOwed: false,
  };
}

/**
 * T_init: all a foreign PDU costs on the v1 Init path, one HMAC keyed directly with dh1 (the design's
 * HMAC(K_i, ...) with K_i from HKDF cost three, which kept foreign-PDU throughput at 0.87 of v0).
 * dh1 is a uniformly random X25519 output, a fine HMAC key; E and IK_B bind the tag to this PDU and us.
 */
function initTag(dh1: Uint8Array, e: Uint8Array, ikB: Uint8Array): Buffer {
  return hmac(dh1, L_INIT_TAG, e, ikB).subarray(0, 16);
}

function initKeys(dh1: Uint8Array, e: Uint8Array, ikB: Uint8Array): { tag: Buffer; ks: Buffer; ns: Buffer } {
  const ki = hkdf(dh1, Buffer.concat([e, ikB]), L_INIT, 32);
  const s = hkdf(ki, Buffer.alloc(0), L_INIT_S, 44);
  return { tag: initTag(dh1, e, ikB), ks: s.subarray(0, 32), ns: s.subarray(32, 44) };
}

function sealInit(state: SessionState, body: Uint8Array, seed: Buffer, n: number, dropsEpoch: number, devlist: Buffer, random?: RandomSource): Uint8Array {
  const init = state.init!;
  const ikB = unb64(state.theirId);
  const b0 = unb64(init.b0);
  const e = generateEphemeral(random);
  const dh1 = x25519Objects(e.key, importPublic(ikB));
  const x = init.b0 === state.theirId ? dh1 : x25519Objects(e.key, importPublic(b0));
  if (!dh1 || !x) throw new RangeError('The peer keys are not usable X25519 keys.');
  const keys = initKeys(dh1, e.publicKey, ikB);
  const pdu = Buffer.alloc(PDU_LENGTH);
  pdu.set(e.publicKey, OFF_E);
  pdu.set(keys.tag, OFF_T);
  const s = gcmSeal(keys.ks, keys.ns, Buffer.concat([unb64(state.ourId), unb64(state.dhsPub)]), Buffer.concat([V0, e.publicKey, keys.tag, ikB]));
  pdu.set(s, OFF_S);
  const plain = Buffer.alloc(INIT_PREFIX_LENGTH + INIT_BODY_LENGTH);
  plain[0] = init.flags;
  if (init.qpkId) plain.set(unb64(init.qpkId), 1);
  plain.set(unb64(state.deviceId), 9);
  plain.writeUInt16BE(n, 17);
  // 19..21 pad, 21..23 sender_drops_epoch, 23..27 devlist_hash
  plain.writeUInt16BE(dropsEpoch, 21);
  plain.set(devlist, 23);
  plain.set(body, INIT_PREFIX_LENGTH);
  const mk = messageKey(seed, x, keys.tag);
  pdu.set(gcmSeal(mk.key, mk.nonce, plain, pdu.subarray(0, OFF_INIT_B)), OFF_INIT_B);
  return new Uint8Array(pdu);
}

export interface OpenInitContext {
  ourIdentity: IdentityKeys;
  qrPrekeys: { public: string; private: string; id: string }[];
  /** The engine's existing session with this id, if any (later Init PDUs of the same initiation). */
  existing?: ((sessionId: string) => SessionState | undefined) | undefined;
  copies?: number | undefined;
  random?: RandomSource | undefined;
  /** Our device id (8 bytes), recorded in a session this Init creates. */
  deviceId?: Uint8Array | undefined;
}

/** Responder side: opens an Init PDU (paying dh1 = X25519(IK_B, E) itself). */
export function openInit(ctx: OpenInitContext, pdu: Uint8Array, now: number): OpenInitResult {
  if (pdu.length !== PDU_LENGTH || pdu[0] !== 0) return null;
  let e: KeyObject;
  try {
    e = importPublicOnce(pdu.subarray(OFF_E, OFF_T));
  } catch {
    return null;
  }
  const dh1 = x25519Key(ctx.ourIdentity, e);
  return dh1 ? openInitWithDh(dh1, ctx, pdu, now) : null;
}

/**
 * `openInit` with dh1 = X25519(IK_B, E) computed by the caller (the engine's v0 trial already paid it).
 * Foreign PDUs cost one HKDF + one HMAC here.
 */
export function openInitWithDh(dh1: Uint8Array, ctx: OpenInitContext, pdu: Uint8Array, now: number): OpenInitResult {
  if (pdu.length !== PDU_LENGTH || pdu[0] !== 0) return null;
  const bytes = Buffer.from(pdu.buffer, pdu.byteOffset, pdu.byteLength);
  const eRaw = bytes.subarray(OFF_E, OFF_T);
  const ikB = ctx.ourIdentity.publicKey;
  if (!initTag(dh1, eRaw, ikB).equals(bytes.subarray(OFF_T, OFF_S))) return null;
  const keys = initKeys(dh1, eRaw, ikB);
  const s = gcmOpen(keys.ks, keys.ns, bytes.subarray(OFF_S, OFF_INIT_B), Buffer.concat([V0, eRaw, keys.tag, ikB]));
  if (!s) return null;
  const ikA = s.subarray(0, 32);
  const ra = s.subarray(32, 64);
  // The body names the QPK, but sits under a key that needs it: try each prekey (few; usually one).
  const dhRi = x25519(ctx.ourIdentity, ra);
  const dhIi = x25519(ctx.ourIdentity, ikA);
  if (!dhRi || !dhIi) return null;
  const candidates: ({ public: string; private: string; id: string } | null)[] = [...ctx.qrPrekeys, null];
  for (const qpk of candidates) {
    const qpkPair = qpk ? pairOf(qpk.public, qpk.private) : null;
    const dhRq = qpkPair ? x25519(qpkPair, ra) : null;
    if (qpkPair && !dhRq) continue;
    const x = qpkPair ? x25519Key(qpkPair, importPublic(eRaw)) : dh1;
    if (!x) continue;
    const sk = deriveSk(dhRi, dhIi, dhRq);
    const sessionId = sessionIdOf(sk);
    const existing = ctx.existing?.(sessionId);
    const opened = existing
      ? openInitExisting(existing, bytes, x, keys.tag, now)
      : openInitNew(ctx, sk, sessionId, ikA, ra, qpkPair, bytes, x, keys.tag, now);
    if (opened === 'duplicate') return { duplicate: true, sessionId };
    if (opened) return { ...opened, theirIdentityPublic: new Uint8Array(ikA), qpkId: qpk?.id ?? null };
  }
  // S opened (sealed to our identity key), the body under no key we hold: a prekey we do not know.
  return { staleQpk: true, theirIdentityPublic: new Uint8Array(ikA) };
}

interface DecodedInit {
  n: number;
  body: Body;
  flags: number;
  dropsEpoch: number;
  devlistHash: string | null;
  theirDevice: string | null;
}

function decodeInitPlain(plain: Buffer): DecodedInit | null {
  const n = plain.readUInt16BE(17);
  if (n >= W) return null;
  const body = decodeBody(plain.subarray(INIT_PREFIX_LENGTH));
  const device = plain.subarray(9, 17);
  const theirDevice = device.every((byte) => byte === 0) ? null : device.toString('hex');
  return body ? { n, body, flags: plain[0]!, dropsEpoch: plain.readUInt16BE(21), devlistHash: devlistOf(plain.subarray(23, 27)), theirDevice } : null;
}

function openInitNew(
  ctx: OpenInitContext,
  sk: Buffer,
  sessionId: string,
  ikA: Buffer,
  ra: Buffer,
  qpkPair: RawKeyPair | null,
  bytes: Buffer,
  x: Uint8Array,
  tag: Buffer,
  now: number,
): { state: SessionState; body: Body; n: number; created: boolean } & Omit<DecodedInit, 'n' | 'body'> | null {
  const b0Pair = qpkPair ?? ctx.ourIdentity;
  const dhB0 = x25519(b0Pair, ra);
  if (!dhB0) return null;
  const first = kdfRk(sk, dhB0);
  // Walk Alice's Init chain to n; the body says which n, so try the decryption at each candidate:
  // n is inside the sealed body, so derive seeds in order until one opens (n < W, usually 0).
  let ck = first.ck;
  const seeds: Buffer[] = [];
  for (let n = 0; n < W; n++) {
    const step = chainStep(ck);
    seeds.push(step.seed);
    ck = step.next;
    const mk = messageKey(step.seed, x, tag);
    const plain = gcmOpen(mk.key, mk.nonce, bytes.subarray(OFF_INIT_B), bytes.subarray(0, OFF_INIT_B));
    if (!plain) continue;
    const decoded = decodeInitPlain(plain);
    if (!decoded || decoded.n !== n) return null;
    const { hka, nhkb } = sharedHeaderKeys(sk);
    const b1 = freshPair(ctx.random);
    const dhB1 = x25519(b1, ra);
    if (!dhB1) return null;
    const second = kdfRk(first.rk, dhB1);
    const copies = ctx.copies ?? DEFAULT_COPIES;
    const initEpoch: RecvEpochState = {
      e: 0,
      hk: '',
      dh: b64(ra),
      tgtPub: '',
      tgtPriv: '',
      consumed: bitSet(emptyBitmap(), n),
      skipped: seeds.slice(0, n).map((seed, i) => ({ n: i, seed: b64(seed), at: now })),
    };
    const state: SessionState = {
      v: 1,
      id: sessionId,
      role: 'responder',
      confirmed: true,
      counter: 1,
      copies,
      ourId: b64(ctx.ourIdentity.publicKey),
      theirId: b64(ikA),
      initKey: b64(sha256(ikA, ra)),
      deviceId: b64(ctx.deviceId ?? new Uint8Array(8)),
      ...(decoded.theirDevice ? { theirDevice: decoded.theirDevice } : {}),
      rk: b64(second.rk),
      dhsPub: b64(b1.publicKey),
      dhsPriv: b64(b1.privateKey),
      dhr: b64(ra),
      cks: b64(second.ck),
      ckr: b64(ck),
      hks: b64(nhkb),
      hkr: b64(hka),
      nhks: b64(second.nhk),
      nhkr: b64(first.nhk),
      ns: 0,
      nr: n + 1,
      pn: 0,
      sendEpoch: 0,
      recvEpoch: 0,
      recv: [initEpoch],
      sent: [{ e: 0, hash: b64(ackEpochHash(b1.publicKey)), count: 0, acked: emptyBitmap() }],
      pingOwed: decoded.body.type !== MessageType.PING,
    };
    prune(state, now);
    return { ...decoded, state, created: true };
  }
  return null;
}

function openInitExisting(
  existing: SessionState,
  bytes: Buffer,
  x: Uint8Array,
  tag: Buffer,
  now: number,
): { state: SessionState; body: Body; n: number; created: boolean } & Omit<DecodedInit, 'n' | 'body'> | 'duplicate' | null {
  const state = clone(existing);
  const epoch = state.recv.find((r) => r.e === 0 && r.hk === '');
  if (!epoch) return null; // the Init chain was forgotten: nothing of it can be opened any more
  const tryOpen = (seed: Buffer) => {
    const mk = messageKey(seed, x, tag);
    const plain = gcmOpen(mk.key, mk.nonce, bytes.subarray(OFF_INIT_B), bytes.subarray(0, OFF_INIT_B));
    return plain ? decodeInitPlain(plain) : null;
  };
  // Skipped seeds first (an earlier Init that arrived late), then forward in the chain while it is current.
  for (const s of epoch.skipped) {
    const decoded = tryOpen(unb64(s.seed));
    if (decoded && decoded.n === s.n) {
      epoch.skipped = epoch.skipped.filter((k) => k !== s);
      return finishInit(state, epoch, decoded, now);
    }
  }
  const consumed = unb64(epoch.consumed);
  if (state.recvEpoch === 0 && state.ckr) {
    let ck = unb64(state.ckr);
    const seeds: Buffer[] = [];
    for (let n = state.nr; n < W; n++) {
      const step = chainStep(ck);
      seeds.push(step.seed);
      ck = step.next;
      const decoded = tryOpen(step.seed);
      if (!decoded) continue;
      if (decoded.n !== n) return null;
      epoch.skipped.push(...seeds.slice(0, -1).map((seed, i) => ({ n: state.nr + i, seed: b64(seed), at: now })));
      state.ckr = b64(ck);
      state.nr = n + 1;
      return finishInit(state, epoch, decoded, now);
    }
  }
  // Not openable any more: a copy of a consumed Init (its key is gone) is a duplicate.
  for (let n = 0; n < W; n++) if (bitGet(consumed, n)) return 'duplicate';
  return null;
}

function finishInit(state: SessionState, epoch: RecvEpochState, decoded: DecodedInit, now: number) {
  epoch.consumed = bitSet(epoch.consumed, decoded.n);
  if (decoded.body.type !== MessageType.PING) state.pingOwed = true;
  state.counter++;
  prune(state, now);
  return { ...decoded, state, created: false };
}

// ---------------------------------------------------------------------------------------------- seal

export interface SealOptions {
  /** How many copies to seal (k of n posting); default 1. */
  copies?: number | undefined;
  /**
   * Seal only this copy index. Sealing the same input state again with another `copy` (and the same
   * `msgId`) gives another copy of the same (epoch, n) and the same next state, as the function is pure.
   */
  copy?: number | undefined;
  /**
   * The sender identity's drops epoch (PROTOCOL-V1.md 2c `sender_drops_epoch`, u16, default 0): it goes
   * into the encrypted header (Init prefix), so only the session's peer reads it and nobody can alter it.
   */
  dropsEpoch?: number | undefined;
  /**
   * The recipient's device list hash as we know it (PROTOCOL-V1.md 5c `devlist_hash`, 8 hex; absent:
   * zero, none known), in the encrypted header too: their devices tell from it a device they never added.
   */
  devlistHash?: string | undefined;
  random?: RandomSource | undefined;
}

/** A body for `seal`: msg_id, ts and flags default; the ackv is added automatically. */
export type BodyInput = Partial<Omit<Body, 'content' | 'type'>> & { type: number; content?: Uint8Array };

/**
 * Seals the next message: Init PDUs until the peer answered, Session PDUs afterwards. Refuses the
 * (W+1)th message of a sending epoch with `window_full` (the outbox keeps it queued until the peer's
 * next ratchet key arrives).
 */
export function seal(state: SessionState, body: BodyInput, options: SealOptions, now: number): SealResult {
  if (state.ns >= W) return { error: 'window_full' };
  const copies = options.copies ?? 1;
  if (!Number.isInteger(copies) || copies < 1 || copies > state.copies) throw new RangeError(`copies must be 1..${state.copies}`);
  if (options.copy !== undefined && (!Number.isInteger(options.copy) || options.copy < 0 || options.copy >= state.copies)) {
    throw new RangeError(`copy must be 0..${state.copies - 1}`);
  }
  const dropsEpoch = (options.dropsEpoch ?? 0) & 0xffff;
  const devlist = options.devlistHash && /^[0-9a-f]{8}$/.test(options.devlistHash) ? Buffer.from(options.devlistHash, 'hex') : Buffer.alloc(4);
  const indexes = options.copy !== undefined ? [options.copy] : Array.from({ length: copies }, (_, c) => c);
  const next = clone(state);
  prune(next, now);
  const full: Body = {
    type: body.type,
    msgId: body.msgId ?? (options.random ?? systemRandom)(16),
    tsMs: body.tsMs ?? now,
    wantReceipt: body.wantReceipt ?? false,
    finalPart: body.finalPart ?? false,
    ackv: body.ackv ?? ackvFor(next),
    content: body.content ?? new Uint8Array(0),
  };
  const n = next.ns;
  const step = chainStep(unb64(next.cks));
  next.cks = b64(step.next);
  next.ns = n + 1;
  next.pingOwed = false;
  next.counter++;
  const sent = next.sent.find((s) => s.e === next.sendEpoch);
  if (sent) sent.count = next.ns;
  const pdus: Uint8Array[] = [];
  if (next.role === 'initiator' && !next.confirmed) {
    const plain = encodeBody(full, INIT_BODY_LENGTH);
    for (let i = 0; i < indexes.length; i++) pdus.push(sealInit(next, plain, step.seed, n, dropsEpoch, devlist, options.random));
  } else {
    const plain = encodeBody(full, SESSION_BODY_LENGTH);
    for (const c of indexes) pdus.push(sealSession(next, plain, step.seed, n, c, dropsEpoch, devlist, options.random));
  }
  return { pdu: pdus[0]!, pdus, state: next, ref: { epoch: next.sendEpoch, n } };
}

function sealSession(state: SessionState, body: Uint8Array, seed: Buffer, n: number, copy: number, dropsEpoch: number, devlist: Buffer, random?: RandomSource): Uint8Array {
  const hk = unb64(state.hks);
  const e = generateEphemeral(random);
  let x: Buffer | null;
  try {
    x = x25519Objects(e.key, importPublic(unb64(state.dhr)));
  } catch {
    x = null;
  }
  if (!x) throw new RangeError('The peer ratchet key is not usable.');
  const tag = computeTag(hk, n, copy);
  const header = Buffer.alloc(HEADER_LENGTH);
  header.set(unb64(state.dhsPub), 0);
  header.writeUInt16BE(state.pn, 32);
  header.writeUInt16BE(n, 34);
  header[37] = copy;
  header.writeUInt16BE(dropsEpoch, 38);
  header.set(devlist, 40);
  const pdu = Buffer.alloc(PDU_LENGTH);
  pdu.set(e.publicKey, OFF_E);
  pdu.set(tag, OFF_T);
  pdu.set(gcmSeal(hk, headerNonce(e.publicKey), header, Buffer.concat([V0, e.publicKey, tag])), OFF_H);
  const mk = messageKey(seed, x, tag);
  pdu.set(gcmSeal(mk.key, mk.nonce, body, pdu.subarray(0, OFF_B)), OFF_B);
  return new Uint8Array(pdu);
}

// ---------------------------------------------------------------------------------------------- open

interface Located {
  kind: 'current' | 'next' | 'old';
  epoch?: RecvEpochState | undefined;
  n: number;
  copy: number;
}

/** Finds which of our epochs a tag belongs to (no crypto beyond the memoised tag blocks). */
function locate(state: SessionState, tag: Buffer): Located | null {
  for (const [index, epoch] of state.recv.entries()) {
    if (!epoch.hk || seedsOnly(state, index)) continue;
    const hit = positionOf(tagsOfKey(epoch.hk, state.copies), tag, state.copies);
    if (hit !== undefined) {
      const kind = epoch.e === state.recvEpoch && epoch.hk === state.hkr ? 'current' : 'old';
      return { kind, epoch, ...hit };
    }
  }
  if (state.nhkr) {
    const hit = positionOf(tagsOfKey(state.nhkr, state.copies), tag, state.copies);
    if (hit !== undefined) return { kind: 'next', ...hit };
  }
  // Epochs kept for a few skipped seeds (prune): their tags one by one, not a memoised block of W × k each.
  for (const [index, epoch] of state.recv.entries()) {
    if (!epoch.hk || !seedsOnly(state, index)) continue;
    const key = unb64(epoch.hk);
    for (const s of epoch.skipped) for (let copy = 0; copy < state.copies; copy++) if (computeTag(key, s.n, copy).equals(tag)) return { kind: 'old', epoch, n: s.n, copy };
  }
  return null;
}

function openHeader(hk: Uint8Array, bytes: Buffer): { dhs: Buffer; pn: number; n: number; copy: number; dropsEpoch: number; devlistHash: string | null } | null {
  const e = bytes.subarray(OFF_E, OFF_T);
  const plain = gcmOpen(hk, headerNonce(e), bytes.subarray(OFF_H, OFF_B), bytes.subarray(0, OFF_H));
  if (!plain || plain.length !== HEADER_LENGTH) return null;
  return {
    dhs: plain.subarray(0, 32),
    pn: plain.readUInt16BE(32),
    n: plain.readUInt16BE(34),
    copy: plain[37]!,
    dropsEpoch: plain.readUInt16BE(38),
    devlistHash: devlistOf(plain.subarray(40, 44)),
  };
}

/** A `devlist_hash` field: 8 hex, or null when zero (the sender knows no list of ours). */
function devlistOf(bytes: Buffer): string | null {
  return bytes.every((b) => b === 0) ? null : bytes.toString('hex');
}

/** Opens a Session PDU of this session: the new state and body, a duplicate, or null (not ours / broken). */
export function openSession(state: SessionState, pdu: Uint8Array, now: number, random?: RandomSource): OpenSessionResult {
  if (pdu.length !== PDU_LENGTH || pdu[0] !== 0) return null;
  const bytes = Buffer.from(pdu.buffer, pdu.byteOffset, pdu.byteLength);
  const found = locate(state, bytes.subarray(OFF_T, OFF_H));
  if (!found) return null;
  if (found.epoch && bitGet(unb64(found.epoch.consumed), found.n)) return { duplicate: true };
  const next = clone(state);
  prune(next, now);
  const hk = found.kind === 'next' ? unb64(next.nhkr) : unb64(found.epoch!.hk);
  const header = openHeader(hk, bytes);
  if (!header || header.n !== found.n || header.copy !== found.copy || header.pn > W) return null;
  let seed: Buffer | null = null;
  let epoch: RecvEpochState;
  if (found.kind === 'next') {
    const ratcheted = ratchet(next, header.dhs, header.pn, now, random);
    if (!ratcheted) return null;
    epoch = ratcheted;
    seed = advance(next, epoch, found.n, now);
  } else {
    epoch = next.recv.find((r) => r.e === found.epoch!.e)!;
    if (b64(header.dhs) !== epoch.dh) return null;
    const skipped = epoch.skipped.find((s) => s.n === found.n);
    if (skipped) {
      seed = unb64(skipped.seed);
      epoch.skipped = epoch.skipped.filter((s) => s !== skipped);
    } else if (found.kind === 'current' && found.n >= next.nr) {
      seed = advance(next, epoch, found.n, now);
    }
  }
  if (!seed) return null; // an old n whose seed expired or was evicted
  let x: Buffer | null;
  try {
    x = x25519Key(pairOf(epoch.tgtPub, epoch.tgtPriv), importPublicOnce(bytes.subarray(OFF_E, OFF_T))); // E is fresh: never cached
  } catch {
    return null;
  }
  if (!x) return null;
  const mk = messageKey(seed, x, bytes.subarray(OFF_T, OFF_H));
  const plain = gcmOpen(mk.key, mk.nonce, bytes.subarray(OFF_B), bytes.subarray(0, OFF_B));
  const body = plain ? decodeBody(plain) : null;
  if (!body) return null;
  epoch.consumed = bitSet(epoch.consumed, found.n);
  if (body.type !== MessageType.PING) next.pingOwed = true;
  if (next.role === 'initiator') {
    next.confirmed = true;
    next.init = undefined;
  }
  const acked = body.ackv ? applyAckv(next, body.ackv) : [];
  next.counter++;
  prune(next, now);
  return { state: next, body, epoch: epoch.e, n: found.n, copy: found.copy, acked, dropsEpoch: header.dropsEpoch, devlistHash: header.devlistHash };
}

/** Advances the current receiving chain to `n`, storing the seeds it passes; returns seed n. */
function advance(state: SessionState, epoch: RecvEpochState, n: number, now: number): Buffer {
  let ck = unb64(state.ckr);
  let seed: Buffer = Buffer.alloc(0);
  for (let i = state.nr; i <= n; i++) {
    const step = chainStep(ck);
    if (i < n) epoch.skipped.push({ n: i, seed: b64(step.seed), at: now });
    seed = step.seed;
    ck = step.next;
  }
  state.ckr = b64(ck);
  state.nr = n + 1;
  return seed;
}

/** The DH ratchet step of DR-HE on a header that opened under NHKr; returns the new receiving epoch. */
function ratchet(state: SessionState, dhs: Buffer, pn: number, now: number, random?: RandomSource): RecvEpochState | null {
  const current = currentRecv(state);
  if (current && state.ckr && pn > state.nr) {
    // The rest of the chain we leave behind: n < PN that have not arrived yet.
    let ck = unb64(state.ckr);
    for (let i = state.nr; i < pn; i++) {
      const step = chainStep(ck);
      current.skipped.push({ n: i, seed: b64(step.seed), at: now });
      ck = step.next;
    }
  }
  const ours = pairOf(state.dhsPub, state.dhsPriv);
  const dhRecv = x25519(ours, dhs);
  if (!dhRecv) return null;
  const recvKeys = kdfRk(unb64(state.rk), dhRecv);
  const fresh = freshPair(random);
  const dhSend = x25519(fresh, dhs);
  if (!dhSend) return null;
  const sendKeys = kdfRk(recvKeys.rk, dhSend);
  const epoch: RecvEpochState = {
    e: state.recvEpoch + 1,
    hk: state.nhkr,
    dh: b64(dhs),
    tgtPub: state.dhsPub,
    tgtPriv: state.dhsPriv,
    consumed: emptyBitmap(),
    skipped: [],
  };
  state.recv.push(epoch);
  state.recvEpoch = epoch.e;
  state.hkr = state.nhkr;
  state.nhkr = b64(recvKeys.nhk);
  state.ckr = b64(recvKeys.ck);
  state.nr = 0;
  state.dhr = b64(dhs);
  state.pn = state.ns;
  state.ns = 0;
  state.hks = state.nhks;
  state.nhks = b64(sendKeys.nhk);
  state.cks = b64(sendKeys.ck);
  state.rk = b64(sendKeys.rk);
  state.dhsPub = b64(fresh.publicKey);
  state.dhsPriv = b64(fresh.privateKey);
  state.sendEpoch++;
  state.sent.push({ e: state.sendEpoch, hash: b64(ackEpochHash(fresh.publicKey)), count: 0, acked: emptyBitmap() });
  return epoch;
}

// ---------------------------------------------------------------------------------------------- acks, pings

/** The ack vector of the peer's epoch we receive in now (undefined before anything arrived). */
export function ackvFor(state: SessionState): Ackv | undefined {
  const epoch = currentRecv(state);
  if (!epoch) return undefined;
  const consumed = unb64(epoch.consumed);
  let highest = -1;
  while (highest + 1 < W && bitGet(consumed, highest + 1)) highest++;
  const bitmap = new Uint8Array(ACKV_BITMAP_LENGTH);
  for (let i = 0; highest + 1 + i < W; i++) if (bitGet(consumed, highest + 1 + i)) bitmap[i >> 3]! |= 1 << (i & 7);
  return { epochHash: ackEpochHash(unb64(epoch.dh)), highest: highest < 0 ? ACKV_NONE : highest, bitmap };
}

/** Marks what an ackv acknowledges; returns the newly acknowledged (epoch, n) so the outbox can drop them. */
function applyAckv(state: SessionState, ackv: Ackv): { epoch: number; n: number }[] {
  const hash = b64(ackv.epochHash);
  const sent = state.sent.find((s) => s.hash === hash);
  if (!sent) return [];
  const out: { epoch: number; n: number }[] = [];
  const start = ackv.highest === ACKV_NONE ? 0 : ackv.highest + 1;
  const acked = unb64(sent.acked); // decoded once, written back once: every PDU carries an ackv
  const mark = (n: number) => {
    if (n >= sent.count || bitGet(acked, n)) return;
    acked[n >> 3]! |= 1 << (n & 7);
    out.push({ epoch: sent.e, n });
  };
  if (ackv.highest !== ACKV_NONE) for (let n = 0; n <= Math.min(ackv.highest, W - 1); n++) mark(n);
  for (let i = 0; i < 128 && start + i < W; i++) if (bitGet(ackv.bitmap, i)) mark(start + i);
  if (out.length > 0) sent.acked = b64(acked);
  return out;
}

/**
 * True when a PING is owed: a non-PING message arrived and nothing has been sent since. The engine sends
 * it in the next free slot (or after its random delay). PINGs never make a PING due, so there is no ping-pong.
 */
export const pingDue = (state: SessionState): boolean => state.pingOwed;

/** What every body needs for a PING: type PING, no content (the ackv is added by `seal`). */
export const pingBody = (): BodyInput => ({ type: MessageType.PING });

// ---------------------------------------------------------------------------------------------- tags

export interface TagEntry {
  tag: Uint8Array;
  epoch: number;
  n: number;
  copy: number;
  /** A consumed (epoch, n): any copy of it is a duplicate. */
  consumed: boolean;
}

/**
 * Every tag this session recognises now: all n < W × copies of the current and the next receiving epoch,
 * and of older retained epochs the skipped (still openable) and consumed (duplicate) ones.
 * The next epoch's number is recvEpoch + 1.
 */
export function tagEntries(state: SessionState): TagEntry[] {
  const out: TagEntry[] = [];
  forEachTag(state, (tags, index, epoch, n, copy, consumed) => out.push({ tag: tagAt(tags, index), epoch, n, copy, consumed }));
  return out;
}

/**
 * `tagEntries` without an object per tag (the tag table's update after every commit): each tag is
 * bytes `index × 16 .. + 16` of `tags`, a memoised block.
 */
export function forEachTag(state: SessionState, visit: (tags: Buffer, index: number, epoch: number, n: number, copy: number, consumed: boolean) => void): void {
  const k = state.copies;
  for (const [index, epoch] of state.recv.entries()) {
    if (!epoch.hk) continue;
    if (seedsOnly(state, index)) {
      const key = unb64(epoch.hk);
      for (const s of epoch.skipped) for (let c = 0; c < k; c++) visit(computeTag(key, s.n, c), 0, epoch.e, s.n, c, false);
      continue;
    }
    const block = tagsOfKey(epoch.hk, k);
    const consumed = unb64(epoch.consumed);
    const isCurrent = epoch.e === state.recvEpoch;
    const skipped = isCurrent ? null : new Set(epoch.skipped.map((s) => s.n));
    for (let n = 0; n < W; n++) {
      const used = bitGet(consumed, n);
      if (!isCurrent && !used && !skipped!.has(n)) continue;
      for (let c = 0; c < k; c++) visit(block, n * k + c, epoch.e, n, c, used);
    }
  }
  if (state.nhkr) {
    const block = tagsOfKey(state.nhkr, k);
    for (let n = 0; n < W; n++) for (let c = 0; c < k; c++) visit(block, n * k + c, state.recvEpoch + 1, n, c, false);
  }
}

export const tagsOf = (state: SessionState): Uint8Array[] => tagEntries(state).map((entry) => entry.tag);

/** Total skipped seeds held (≤ 3W). */
export const skippedCount = (state: SessionState): number => state.recv.reduce((sum, e) => sum + e.skipped.length, 0);

// ---------------------------------------------------------------------------------------------- sessions per peer

/**
 * Simultaneous Init: both sessions exist; the one whose initiator's SHA-256(IK || RK) is lower sends from
 * now on, the other stays receivable (the engine keeps it for 14 days).
 */
export function chooseActive(states: readonly SessionState[]): SessionState | undefined {
  let best: SessionState | undefined;
  for (const state of states) if (!best || Buffer.compare(unb64(state.initKey), unb64(best.initKey)) < 0) best = state;
  return best;
}

/** Rollback: the keystore mirrors each session's write counter; an older state was restored from a backup. */
export const isStale = (state: SessionState, counterFromKeystore: number): boolean => state.counter < counterFromKeystore;
