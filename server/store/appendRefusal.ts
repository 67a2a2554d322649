/**
 * What a back end's append answers per item instead of a position when it refused the item (nothing
 * stored), shared by the SQLite writer thread and the PostgreSQL append function; positions are > 0.
 */
import { DropFullError, IntroQuotaError, NonceSpentError, PolicyChangedError } from './dropStore.js';

/** The drop is at its message or byte cap. */
export const DROP_FULL = -1;
/** The admission's nonce is in the drop's spent set. */
export const NONCE_SPENT = -2;
/** The drop took its introductions for the day. */
export const INTRO_QUOTA = -3;
/** The drop's policy is not the one the admission was decided under. */
export const POLICY_CHANGED = -4;

/** The error for a refused item's code, or null for a position. */
export function refusal(position: number, dropId: string): Error | null {
  if (position > 0) return null;
  if (position === DROP_FULL) return new DropFullError(dropId);
  if (position === NONCE_SPENT) return new NonceSpentError();
  if (position === INTRO_QUOTA) return new IntroQuotaError();
  if (position === POLICY_CHANGED) return new PolicyChangedError();
  return new Error(`unexpected append result ${position}`);
}
