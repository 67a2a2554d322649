import type { EventMap } from '../../shared/ipc/contract.js';
import type { ConversationRef } from '../../shared/ipc/desktopContract.js';
import { announceKey } from './messageNotifications.js';
import { RecentKeys } from './recentKeys.js';

/**
 * The tray's unread count. The UI is the authority (it knows what was read) and reports its count
 * with `ui/unread`; between two reports, new messages that arrive outside the conversation on screen
 * are added here, so the count also moves while the UI is busy or has not reported yet.
 */
export class UnreadCounter {
  private reported = 0;
  private arrivedSinceReport = 0;
  private readonly counted = new RecentKeys(5_000);

  /** The UI's own count replaces everything counted here. */
  report(count: number): void {
    this.reported = Math.max(0, Math.floor(count));
    this.arrivedSinceReport = 0;
  }

  /** Counts new chat messages of a batch; redelivered messages and the conversation on screen do not count. */
  addBatch(batch: EventMap['inbox/batch'], onScreen: ConversationRef | null): void {
    for (const message of batch.messages) {
      if (message.type !== 'box_message' && message.type !== 'box_share_notification') continue;
      if (!this.counted.add(announceKey(message))) continue;
      if (onScreen && onScreen.identityId === message.identityId && onScreen.contactKey === message.senderKey) continue;
      this.arrivedSinceReport++;
    }
  }

  get count(): number {
    return this.reported + this.arrivedSinceReport;
  }
}
