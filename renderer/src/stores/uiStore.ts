import { create } from 'zustand';

/** The places the rail draws an icon for (components/RailIcon.tsx). */
export type View = 'chats' | 'contacts' | 'identities' | 'settings';
/** Every place of the rail (each with its drawing in components/RailIcon.tsx). */
export type Place = View | 'posts' | 'shares';

export interface Notice {
  id: number;
  tone: 'info' | 'error';
  text: string;
}

/** Navigation and transient UI state (not persisted). */
export interface UiState {
  view: Place;
  /** Open conversation / contact (public key of the contact). */
  selectedContactKey: string | null;
  search: string;
  notices: Notice[];
  /** Counts messages the user sent; the open chat moves to the newest message on each. */
  sentCount: number;
  setView(view: Place): void;
  openConversation(contactKey: string | null): void;
  setSearch(search: string): void;
  notify(tone: Notice['tone'], text: string): void;
  dismiss(id: number): void;
  noteSent(): void;
}

let nextNoticeId = 1;
/** How long a confirmation shows (it fades over its last second, app.css `notice-fade`). */
export const NOTICE_LIFETIME_MS = 5000;

export const useUi = create<UiState>()((set, get) => ({
  view: 'chats',
  selectedContactKey: null,
  search: '',
  notices: [],
  sentCount: 0,
  setView: (view) => set({ view }),
  openConversation: (selectedContactKey) => set({ selectedContactKey, view: 'chats' }),
  setSearch: (search) => set({ search }),
  notify(tone, text) {
    const id = nextNoticeId++;
    set((s) => ({ notices: [...s.notices.slice(-3), { id, tone, text }] }));
    // Confirmations go away on their own; errors stay until dismissed.
    if (tone === 'info') setTimeout(() => get().dismiss(id), NOTICE_LIFETIME_MS);
  },
  dismiss: (id) => set((s) => ({ notices: s.notices.filter((n) => n.id !== id) })),
  noteSent: () => set((s) => ({ sentCount: s.sentCount + 1 })),
}));
