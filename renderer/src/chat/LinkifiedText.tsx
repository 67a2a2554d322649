import type { MouseEvent } from 'react';
import { useCapability, useSession } from '../stores/sessionStore.js';
import { splitLinks } from './splitLinks.js';
import { HighlightedText } from '../components/HighlightedText.js';
import { withoutBidiFormatting } from './bidiText.js';

/**
 * Message text with http(s) links. A link is never followed by the page itself: a click asks the
 * desktop app (`links/open`) to open it in the system browser; other hosts cannot. A link ends at
 * any bidirectional control, embeddings and overrides are dropped from the text between links
 * (bidiText.ts), and every piece is its own bidirectional isolate, so a stranger's text cannot
 * rearrange a link or what follows it; a link whose text does not plainly
 * begin with its real host shows that host beside it, and every link shows where it goes while it is
 * pointed at or focused. Matches of `highlight` (the search) are marked.
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
          <bdi key={i} dir="ltr" className="link-piece">
            <a href={piece.url} onClick={(e) => open(e, piece.url)} rel="noreferrer noopener" title={`Open ${piece.url} in your browser`}>
              <HighlightedText text={piece.text} query={highlight} />
            </a>
            {/* Shown on hover and keyboard focus (app.css): the address the browser would open. */}
            <span className="link-target" role="tooltip" data-testid="link-target">
              {piece.url}
            </span>
            {piece.hostHidden && (
              <span className="link-host" data-testid="link-host">
                {' '}
                (goes to {piece.host})
              </span>
            )}
          </bdi>
        ) : (
          // An isolate without its own direction: unlike <bdi>, the paragraph's dir="auto" still reads it,
          // so a message that starts in Arabic or Hebrew is laid out from the right.
          <span key={i} style={{ unicodeBidi: 'isolate' }}>
            <HighlightedText text={withoutBidiFormatting(piece.text)} query={highlight} />
          </span>
        ),
      )}
    </>
  );
}
