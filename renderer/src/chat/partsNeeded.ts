import { buildTextMessages } from '../../../shared/protocol/message.js';

/** How many drop messages a text will go out as (long texts are split, never truncated). */
export function partsNeeded(text: string): number {
  return buildTextMessages(text).length;
}
