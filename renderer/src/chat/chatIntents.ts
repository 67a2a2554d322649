/** What opening a conversation should do once it shows: scroll to a search hit, or wait for typing. */
import { create } from 'zustand';

/** A message a search result asked to be shown: the conversation's list scrolls to it and marks it. */
export interface SearchJump {
  contactKey: string;
  messageId: string;
}

/** Set by the search result, taken by the message list of that conversation once it is open. */
export const useSearchJump = create<{ target: SearchJump | null }>(() => ({ target: null }));

/** Opening a conversation to write in it (after adding a contact): the composer takes the focus once. */
export const useComposerFocus = create<{ contactKey: string | null }>(() => ({ contactKey: null }));
