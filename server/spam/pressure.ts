/**
 * When an open drop asks for proof of work (PROTOCOL-V1 section 3c L2), measured on this instance:
 * - fill: the stored bytes are above `powAbovePercent` of the quota;
 * - load: the ticketless bytes this instance accepted in the last 10 minutes exceed `powLoadPercent`
 *   of the quota (at that rate the store fills within 100 minutes at the default 10 %).
 * Under either, ticketless POSTs to open drops need a stamp of `powBits` bits, 2 more when the store
 * is above three quarters full or the load is twice the threshold (adaptive, like Tor's suggested
 * effort); and each drop takes at most `dropTicketlessPerHour` of them (token bucket). Above
 * `ticketlessCeilingPercent` of the quota no ticketless message is taken at all: the rest is kept for
 * ticketed mail, so a flood is refused at the door instead of evicting what is stored.
 */
export interface PressureSettings {
  quotaBytes: number;
  powBits: number;
  powAbovePercent: number;
  powLoadPercent: number;
  ticketlessCeilingPercent: number;
  dropTicketlessPerHour: number;
}

const WINDOW_MS = 600_000;
const SLOT_MS = 60_000;
const SLOTS = WINDOW_MS / SLOT_MS;
/** Bits added under heavy pressure. */
const EXTRA_BITS = 2;
/** Buckets kept at most: a flood of random drop IDs cannot grow the map without bound. */
const MAX_BUCKETS = 100_000;

export interface PressureGauge {
  /** Bits a ticketless POST to an open drop needs now, or null when it needs no stamp. */
  requiredBits(storedBytes: number, nowMs: number): number | null;
  /** True when the store is too full for another ticketless message. */
  refusesTicketless(storedBytes: number): boolean;
  /** Records an accepted ticketless message. */
  accepted(bytes: number, nowMs: number): void;
  /** Takes one token of the drop's hourly share; false (nothing taken) when it has none left. */
  takeDropToken(dropId: string, nowMs: number): boolean;
  /** Ticketless bytes accepted in the last 10 minutes. */
  recentBytes(nowMs: number): number;
}

export function createPressureGauge(settings: PressureSettings): PressureGauge {
  const slots = new Float64Array(SLOTS);
  let slotIndex = 0;
  let slotStart = 0;
  const advance = (nowMs: number): void => {
    const start = nowMs - (nowMs % SLOT_MS);
    if (start === slotStart) return;
    const steps = Math.min(SLOTS, Math.max(0, (start - slotStart) / SLOT_MS));
    for (let i = 0; i < steps; i++) {
      slotIndex = (slotIndex + 1) % SLOTS;
      slots[slotIndex] = 0;
    }
    slotStart = start;
  };
  const recentBytes = (nowMs: number): number => {
    advance(nowMs);
    let sum = 0;
    for (const v of slots) sum += v;
    return sum;
  };
  const loadLimit = (settings.quotaBytes * settings.powLoadPercent) / 100;

  const buckets = new Map<string, { tokens: number; atMs: number }>();
  const capacity = settings.dropTicketlessPerHour;
  const perMs = capacity / 3_600_000;

  return {
    requiredBits(storedBytes, nowMs) {
      const fill = storedBytes / settings.quotaBytes;
      const load = recentBytes(nowMs);
      const filling = fill * 100 > settings.powAbovePercent;
      const loaded = load > loadLimit;
      if (!filling && !loaded) return null;
      const heavy = fill >= 0.75 || load > 2 * loadLimit;
      return settings.powBits + (heavy ? EXTRA_BITS : 0);
    },
    refusesTicketless: (storedBytes) => storedBytes * 100 >= settings.quotaBytes * settings.ticketlessCeilingPercent,
    accepted(bytes, nowMs) {
      advance(nowMs);
      slots[slotIndex]! += bytes;
    },
    takeDropToken(dropId, nowMs) {
      let bucket = buckets.get(dropId);
      if (!bucket) {
        if (buckets.size >= MAX_BUCKETS) {
          // Full buckets carry no information: drop them first, everything if that is not enough.
          for (const [id, b] of buckets) if (b.tokens + (nowMs - b.atMs) * perMs >= capacity) buckets.delete(id);
          if (buckets.size >= MAX_BUCKETS) buckets.clear();
        }
        bucket = { tokens: capacity, atMs: nowMs };
        buckets.set(dropId, bucket);
      }
      bucket.tokens = Math.min(capacity, bucket.tokens + (nowMs - bucket.atMs) * perMs);
      bucket.atMs = nowMs;
      if (bucket.tokens < 1) return false;
      bucket.tokens -= 1;
      return true;
    },
    recentBytes,
  };
}
