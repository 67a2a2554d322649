import { useEffect } from 'react';
import { useUi } from '../stores/uiStore.js';

const NOTICE_LIFETIME_MS = 5000;

/** Short confirmations and errors, announced to screen readers. */
export function NoticeArea() {
  const notices = useUi((s) => s.notices);
  const dismiss = useUi((s) => s.dismiss);
  useEffect(() => {
    const oldest = notices[0];
    if (!oldest || oldest.tone === 'error') return;
    const timer = setTimeout(() => dismiss(oldest.id), NOTICE_LIFETIME_MS);
    return () => clearTimeout(timer);
  }, [notices, dismiss]);
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
