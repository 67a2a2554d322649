import type { MouseEvent } from 'react';
import { useCapability, useSession } from '../stores/sessionStore.js';
import { splitLinks } from './splitLinks.js';
import { HighlightedText } from '../components/HighlightedText.js';

/**
 * Message text with http(s) links. A link is never followed by the page itself: a click asks the
 * desktop app (`links/open`) to open it in the system browser; other hosts cannot. Every piece is its own bidirectional
 * isolate, so right-to-left overrides in a stranger's text cannot rearrange a link or what follows;
 * a link whose text does not plainly begin with its real host shows that host beside it. Matches of
 * `highlight` (the search) are marked.
 */
export function LinkifiedText({ text, highlight }: { text: string; highlight?: string }) {
  const bridge = useSession((s) => s.bridge);
  const externalLinks = useCapability('externalLinks');
  const open = (event: MouseEvent, url: string) => {
    event.preventDefault();
    if (externalLinks) void bridge?.invoke('links/open', { url });
  };
  return (
    <>
      {splitLinks(text).map((piece, i) =>
        piece.kind === 'link' ? (
          <bdi key={i} dir="ltr">
            <a href={piece.url} onClick={(e) => open(e, piece.url)} rel="noreferrer noopener" title={`Open ${piece.url} in your browser`}>
              <HighlightedText text={piece.text} query={highlight} />
            </a>
            {piece.hostHidden && (
              <span className="link-host" data-testid="link-host">
                {' '}
                (goes to {piece.host})
              </span>
            )}
          </bdi>
        ) : (
          <bdi key={i}>
            <HighlightedText text={piece.text} query={highlight} />
          </bdi>
        ),
      )}
    </>
  );
}
