/**
 * Why an outgoing message is still waiting, from what its last attempt met: the UI says it in words
 * ("the recipient's drop is full") instead of leaving a message in "Sending" without a word.
 */
import type { SendingReason } from '../../../shared/ipc/contract.js';
import { DropRequestError } from '../net/dropClient.js';

/** Raised by a round that passed over every URL because the server's retry budget is used up. */
export class RetryBudgetSpent extends Error {
  constructor() {
    super('The drop server had too many failed attempts lately; it is tried again later.');
    this.name = 'RetryBudgetSpent';
  }
}

export function sendingReasonOf(failure: unknown, retryAt: number | null): SendingReason {
  const detail = failure instanceof Error ? failure.message : 'unknown error';
  return { kind: kindOf(failure), detail, retryAt };
}

function kindOf(failure: unknown): SendingReason['kind'] {
  if (failure instanceof RetryBudgetSpent) return 'tooManyRetries';
  if (!(failure instanceof DropRequestError) || failure.kind !== 'http') return 'unreachable';
  if (failure.status === 507) return 'full';
  if (failure.status === 429) return 'rateLimited';
  return 'serverError';
}
