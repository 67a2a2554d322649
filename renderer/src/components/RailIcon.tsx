import type { ReactNode } from 'react';
import type { Place } from '../stores/uiStore.js';

/** Line drawings (24 × 24) for the navigation: what stays of an entry when the window is narrow. */
const drawings: Record<Place, ReactNode> = {
  chats: <path d="M4 5h16v11H10l-6 4z" />,
  // A page of short lines.
  posts: (
    <>
      <rect x="4" y="3.5" width="16" height="17" rx="2" />
      <path d="M8 8.5h8M8 12h8M8 15.5h5" />
    </>
  ),
  // A folder.
  shares: <path d="M3.5 7.5a2 2 0 0 1 2-2h4l2 2.5h7a2 2 0 0 1 2 2v7.5a2 2 0 0 1-2 2h-13a2 2 0 0 1-2-2z" />,
  contacts: (
    <>
      <circle cx="12" cy="8" r="3.8" />
      <path d="M4.5 20c.6-3.6 3.6-5.6 7.5-5.6s6.9 2 7.5 5.6" />
    </>
  ),
  identities: (
    <>
      <rect x="3" y="5" width="18" height="14" rx="2" />
      <circle cx="9" cy="11" r="2.3" />
      <path d="M5.6 16.6c.6-1.7 1.8-2.6 3.4-2.6s2.8.9 3.4 2.6M15 10h3.5M15 14h3.5" />
    </>
  ),
  settings: (
    <>
      <path d="M4 7h9M19 7h1M4 17h1M11 17h9" />
      <circle cx="16" cy="7" r="2.6" />
      <circle cx="8" cy="17" r="2.6" />
    </>
  ),
};

/** A navigation entry's icon; decorative, the entry's name is its label. */
export function RailIcon({ view }: { view: Place }) {
  return (
    <svg className="rail-icon" width="22" height="22" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true">
      {drawings[view]}
    </svg>
  );
}
