import type { MouseEvent } from 'react';
import { useSession } from '../stores/sessionStore.js';
import { splitLinks } from './splitLinks.js';

/**
 * Message text with http(s) links. A link is never followed by the page itself: a click asks the
 * engine (`links/open`) to open it in the system browser.
 */
export function LinkifiedText({ text }: { text: string }) {
  const bridge = useSession((s) => s.bridge);
  const open = (event: MouseEvent, url: string) => {
    event.preventDefault();
    void bridge?.invoke('links/open', { url });
  };
  return (
    <>
      {splitLinks(text).map((piece, i) =>
        piece.kind === 'link' ? (
          <a key={i} href={piece.url} onClick={(e) => open(e, piece.url)} rel="noreferrer noopener" title={`Open ${piece.url} in your browser`}>
            {piece.text}
          </a>
        ) : (
          <span key={i}>{piece.text}</span>
        ),
      )}
    </>
  );
}
