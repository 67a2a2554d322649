import { NOTICE_LIFETIME_MS, useUi } from '../stores/uiStore.js';

/**
 * Short confirmations and errors, announced to screen readers. In the messenger they sit at the top
 * of the content pane, in its flow (`inline`): a notice floating over the page covered what lay
 * under it, such as the Save button just pressed. Screens without the pane (first run, unlock) show
 * them floating at the bottom. A confirmation fades and goes by itself; an error stays until dismissed.
 */
export function NoticeArea({ placement }: { placement: 'inline' | 'floating' }) {
  const notices = useUi((s) => s.notices);
  const dismiss = useUi((s) => s.dismiss);
  return (
    <div className={`notices notices-${placement}`} role="status" aria-live="polite" data-testid="notices">
      {notices.map((n) => (
        <div
          key={n.id}
          className={`notice notice-${n.tone}`}
          data-testid={`notice-${n.tone}`}
          // The fade ends as the store removes the notice.
          style={n.tone === 'info' ? { animationDuration: `${NOTICE_LIFETIME_MS}ms` } : undefined}
        >
          <span>{n.text}</span>
          <button type="button" className="ghost" onClick={() => dismiss(n.id)} aria-label="Dismiss notice">
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
