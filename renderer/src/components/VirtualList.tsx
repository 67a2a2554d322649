import { useVirtualizer } from '@tanstack/react-virtual';
import { type ReactNode, useLayoutEffect, useRef, useState } from 'react';

interface VirtualListProps<T> {
  items: readonly T[];
  itemKey: (item: T) => string;
  /** A row's height before it is measured. */
  estimatePx: number;
  /** The element that scrolls the list (it may hold other content above the list). */
  scrollElement: () => HTMLElement | null;
  className?: string;
  renderItem: (item: T) => ReactNode;
}

/**
 * A list (`ul`) that renders only the rows near the viewport of its scroll container, so a list of
 * thousands of contacts or conversations costs what a screenful does. Rows are measured once shown.
 */
export function VirtualList<T>({ items, itemKey, estimatePx, scrollElement, className, renderItem }: VirtualListProps<T>) {
  const listRef = useRef<HTMLUListElement>(null);
  // Where the list starts inside its scroll container: content above it scrolls along.
  const [margin, setMargin] = useState(0);
  useLayoutEffect(() => {
    const list = listRef.current;
    const scroller = scrollElement();
    if (!list || !scroller) return;
    const offset = Math.round(list.getBoundingClientRect().top - scroller.getBoundingClientRect().top + scroller.scrollTop);
    if (offset !== margin) setMargin(offset);
  });
  const virtualizer = useVirtualizer({
    count: items.length,
    getScrollElement: scrollElement,
    estimateSize: () => estimatePx,
    getItemKey: (index) => itemKey(items[index]!),
    overscan: 8,
    scrollMargin: margin,
  });
  return (
    <ul ref={listRef} className={className} style={{ position: 'relative', height: virtualizer.getTotalSize() }}>
      {virtualizer.getVirtualItems().map((row) => (
        <li
          key={row.key}
          ref={virtualizer.measureElement}
          data-index={row.index}
          style={{ position: 'absolute', top: 0, left: 0, width: '100%', transform: `translateY(${row.start - margin}px)` }}
        >
          {renderItem(items[row.index]!)}
        </li>
      ))}
    </ul>
  );
}
