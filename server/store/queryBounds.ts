import type { DropQuery } from './dropStore.js';

/** Every read reduces to "position above X and arrived at or after T": one index-friendly query shape. */
export interface QueryBounds {
  afterPosition: number;
  minReceivedAtMs: number;
}

export function queryBounds(query: DropQuery): QueryBounds {
  const { since, notBeforeMs } = query;
  switch (since.kind) {
    case 'all':
      return { afterPosition: 0, minReceivedAtMs: notBeforeMs };
    case 'afterPosition':
      return { afterPosition: since.position, minReceivedAtMs: notBeforeMs };
    case 'receivedFrom':
      return { afterPosition: 0, minReceivedAtMs: Math.max(notBeforeMs, since.minReceivedAtMs) };
  }
}
