/**
 * Since-headers of GET and HEAD (PROTOCOL.md section 2). Hostile or unparseable values, and both
 * headers at once, are ignored (the whole drop is returned), as the reference server does.
 */
import { parseHttpDate } from '../../shared/protocol/httpDate.js';
import type { SinceFilter } from '../store/dropStore.js';

const ALL: SinceFilter = { kind: 'all' };
/** Our `X-Qabel-Latest`: a position as a decimal string. */
const POSITION_TOKEN = /^\d{1,20}$/;
/** The original server's `X-Qabel-Latest`: UTC epoch seconds with a fraction, e.g. `1451606400.123456`. */
const EPOCH_TOKEN = /^(\d{1,12})\.(\d{1,9})$/;

function fromLatestToken(token: string): SinceFilter {
  const text = token.trim();
  if (POSITION_TOKEN.test(text)) {
    // A position beyond any we can have issued still means "nothing newer than that".
    const position = Math.min(Number(text), Number.MAX_SAFE_INTEGER);
    return { kind: 'afterPosition', position };
  }
  const epoch = EPOCH_TOKEN.exec(text);
  if (epoch) {
    const micros = Number(epoch[1]) * 1_000_000 + Number(epoch[2]!.slice(0, 6).padEnd(6, '0'));
    // Strictly newer at microsecond resolution, expressed on our millisecond clock.
    return { kind: 'receivedFrom', minReceivedAtMs: Math.floor(micros / 1000) + 1 };
  }
  return ALL;
}

function fromHttpDate(text: string): SinceFilter {
  const date = parseHttpDate(text);
  // HTTP dates have 1-second resolution, and the client saw only some of that second's messages
  // when another arrived later in it: return the whole second again (the reference server compares
  // `created_at > since`). A client may see a message twice, never miss one.
  return date ? { kind: 'receivedFrom', minReceivedAtMs: date.getTime() } : ALL;
}

/** The filter a GET or HEAD asks for; `{kind:'all'}` when no usable since-header was sent. */
export function parseSince(newSince: string | string[] | undefined, ifModifiedSince: string | undefined): SinceFilter {
  if (Array.isArray(newSince)) return ALL;
  if (newSince !== undefined && ifModifiedSince !== undefined) return ALL;
  if (newSince !== undefined) return fromLatestToken(newSince);
  if (ifModifiedSince !== undefined) return fromHttpDate(ifModifiedSince);
  return ALL;
}
