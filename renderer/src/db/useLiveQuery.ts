import { liveQuery } from 'dexie';
import { type DependencyList, useEffect, useState } from 'react';

/**
 * Subscribes a component to a Dexie query: it re-renders whenever a write touches what the query
 * read. Returns `initial` until the first answer arrives.
 */
export function useLiveQuery<T>(query: () => Promise<T>, deps: DependencyList, initial: T): T {
  const [value, setValue] = useState<T>(initial);
  useEffect(() => {
    const subscription = liveQuery(query).subscribe({
      next: (next) => setValue(next),
      error: () => setValue(initial),
    });
    return () => subscription.unsubscribe();
    // The caller's deps decide when the query itself changes.
  }, deps);
  return value;
}
