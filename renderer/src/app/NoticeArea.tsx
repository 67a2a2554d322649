import { useUi } from '../stores/uiStore.js';

/** Short confirmations and errors, announced to screen readers. */
export function NoticeArea() {
  const notices = useUi((s) => s.notices);
  const dismiss = useUi((s) => s.dismiss);
  return (
    <div className="notices" role="status" aria-live="polite">
      {notices.map((n) => (
        <div key={n.id} className={`notice notice-${n.tone}`} data-testid={`notice-${n.tone}`}>
          <span>{n.text}</span>
          <button type="button" className="ghost" onClick={() => dismiss(n.id)} aria-label="Dismiss notice">
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
