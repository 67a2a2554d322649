/**
 * Outgoing chat texts (ours): a text whose message would not fit in 2048 bytes is split into
 * consecutive `box_message`s, each carrying `part: {group, index, count}`, never truncated.
 */
import { PAYLOAD_LENGTH } from './boxTypes.js';
import { ProtocolError } from './errors.js';
import {
  BOX_MESSAGE, DROP_MESSAGE_VERSION, MAX_TEXT_PARTS, NO_ACKNOWLEDGE_ID, metaToWire, serializeDropMessage,
  type DropMessage, type SenderIntroduction, type TextPart,
} from './message.js';

/** The longest text a user may send as one message (split into at most MAX_TEXT_PARTS drop messages). */
export const MAX_TEXT_LENGTH = 100_000;

export interface TextMessageInput {
  /** Our public key, 64 lowercase hex. */
  sender: string;
  text: string;
  /** Introduces us to a recipient who does not know us yet; sent with every piece. */
  meta?: SenderIntroduction;
  wantReceipt: boolean;
  now: number;
  /** A fresh UUID per call (group id and receipt ids). */
  newId: () => string;
}

/** The most digits a piece count can have. */
const MAX_COUNT_DIGITS = String(MAX_TEXT_PARTS).length;

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** Moves `end` back by one when it would cut a surrogate pair in two. */
function codePointBoundary(text: string, end: number): number {
  return end > 0 && end < text.length && isHighSurrogate(text.charCodeAt(end - 1)) && isLowSurrogate(text.charCodeAt(end)) ? end - 1 : end;
}

class TextMessageBuilder {
  private readonly meta;
  private readonly ackIds: string[] = [];

  constructor(private readonly input: TextMessageInput) {
    this.meta = input.meta ? metaToWire(input.meta) : undefined;
  }

  /** Receipt ids are drawn once per piece index, so re-splitting does not waste or change them. */
  private ackId(index: number): string {
    if (!this.input.wantReceipt) return NO_ACKNOWLEDGE_ID;
    while (this.ackIds.length <= index) this.ackIds.push(this.input.newId());
    return this.ackIds[index]!;
  }

  message(msg: string, part: TextPart | null, index: number): DropMessage {
    return {
      version: DROP_MESSAGE_VERSION,
      time_stamp: this.input.now,
      sender: this.input.sender,
      drop_payload: JSON.stringify(part ? { msg, part } : { msg }),
      drop_payload_type: BOX_MESSAGE,
      acknowledge_id: this.ackId(index),
      ...(this.meta ? { meta_data: this.meta } : {}),
    };
  }

  fits(msg: string, part: TextPart | null, index: number): boolean {
    return serializeDropMessage(this.message(msg, part, index)).length <= PAYLOAD_LENGTH;
  }

  /**
   * Splits assuming the final count has `digits` digits (the largest such number stands in for it,
   * which has exactly the final count's length when the guess is right). Null when the guess is too low.
   */
  split(group: string, digits: number): string[] | null {
    const { text } = this.input;
    const countStandIn = 10 ** digits - 1;
    const pieces: string[] = [];
    let start = 0;
    while (start < text.length) {
      if (pieces.length >= Math.min(countStandIn, MAX_TEXT_PARTS)) return null;
      const index = pieces.length;
      const part = { group, index, count: countStandIn };
      // Each UTF-16 unit takes at least one byte, so a piece never exceeds PAYLOAD_LENGTH units.
      // Candidates are snapped to code-point boundaries: a cut pair would be escaped as a longer
      // \uXXXX, which would break the monotonic size the binary search relies on.
      let low = start;
      let high = Math.min(text.length, start + PAYLOAD_LENGTH);
      while (low < high) {
        const mid = Math.ceil((low + high) / 2);
        if (this.fits(text.slice(start, codePointBoundary(text, mid)), part, index)) low = mid;
        else high = mid - 1;
      }
      const end = codePointBoundary(text, low);
      if (end <= start) throw new ProtocolError('message_too_long', 'Not even one character fits next to the message header.');
      pieces.push(text.slice(start, end));
      start = end;
    }
    return pieces;
  }
}

/**
 * The drop messages that carry `text`: one message when it fits, else the fewest consecutive
 * pieces of maximal size, split between code points (never inside a surrogate pair).
 * @throws ProtocolError 'message_too_long' when even the envelope does not fit or the text needs more than MAX_TEXT_PARTS pieces
 */
export function buildTextMessages(input: TextMessageInput): DropMessage[] {
  const builder = new TextMessageBuilder(input);
  if (builder.fits(input.text, null, 0)) return [builder.message(input.text, null, 0)];
  const group = input.newId();
  for (let digits = 1; digits <= MAX_COUNT_DIGITS; digits++) {
    const pieces = builder.split(group, digits);
    if (pieces && String(pieces.length).length === digits) {
      return pieces.map((piece, index) => builder.message(piece, { group, index, count: pieces.length }, index));
    }
    // A count with fewer digits than guessed cannot happen: the previous guess would have held.
  }
  throw new ProtocolError('message_too_long', `The text needs more than ${MAX_TEXT_PARTS} messages.`);
}
