import { useEffect, useState } from 'react';
import type { SendingReason } from '../../../shared/ipc/contract.js';
import type { MessageRecord } from '../db/records.js';
import { describeServerProblem } from '../settings/serverProblem.js';
import { database } from '../db/database.js';
import { useLiveQuery } from '../db/useLiveQuery.js';
import { useSession } from '../stores/sessionStore.js';
import { formatMessageTime } from './formatTime.js';
import { type BudgetShape, shapeOf } from '../../../shared/budget/model.js';
import { readSavedSettings, useSavedSettings } from '../settings/savedSettings.js';
import { followStampProgress, stampPercent, useStampProgress } from './stampProgress.js';

/** What each reason means for the person waiting, in words (`alias`: the recipient's name). */
const REASON_WORDS: Record<SendingReason['kind'], (detail: string, alias: string) => string> = {
  unreachable: (detail) => `The recipient’s drop server cannot be reached: ${describeServerProblem(detail)}.`,
  full: () => 'The recipient’s drop is full. It takes new messages once older ones expire on the server.',
  rateLimited: () => 'The recipient’s drop server asked to slow down.',
  serverError: () => 'The recipient’s drop server has trouble at the moment.',
  tooManyRetries: () => 'Sending to this drop server failed too often lately, so Deaddrop waits before trying again.',
  // A forward-secret session sends at most 128 messages before the contact answers (PROTOCOL-V1.md 1c).
  waitingForContact: (_detail, alias) => `Waiting for ${alias} to come online.`,
};

/** Below this, the next try is shown in seconds (and counted down); above, as a time of day. */
const COUNTDOWN_MS = 120_000;

/**
 * Why a message is still "Sending" (what the last attempt met, when the next one is due) and a
 * "Retry now". The engine reports the reason with each attempt; a window opened since asks for it.
 */
export function SendingStatus({ message }: { message: MessageRecord }) {
  const bridge = useSession((s) => s.bridge);
  const localId = message.localId;
  const [reason, setReason] = useState<SendingReason | null>(null);
  const [retrying, setRetrying] = useState(false);
  const contact = useLiveQuery(
    async () => {
      const found = await database().contacts.get([message.identityId, message.contactKey]);
      return { alias: found?.alias ?? 'the contact', server: serverOf(found?.dropUrls ?? []) };
    },
    [message.identityId, message.contactKey],
    { alias: 'the contact', server: 'the recipient’s drop server' },
  );
  const alias = contact.alias;
  const stamp = useStampProgress((s) => (localId ? s.byLocalId[localId] : undefined));

  useEffect(() => (bridge ? followStampProgress(bridge) : undefined), [bridge]);
  // With a traffic budget a message waits for a slot: without another reason, that is the wait.
  const budget = useSavedSettings((s) => s.settings?.trafficBudget);
  const budgetShape = budget ? shapeOf(budget) : null;
  useEffect(() => {
    if (bridge) readSavedSettings(bridge);
  }, [bridge]);

  useEffect(() => {
    if (!bridge || !localId) return;
    let live = true;
    const stop = bridge.on('outbox/status', (event) => {
      if (event.localId !== localId || event.status !== 'sending') return;
      setReason(event.reason ?? null);
      if (event.reason?.retryAt) setRetrying(false);
    });
    void bridge.invoke('messages/sendingReason', { localId }).then((result) => {
      if (live && result.ok) setReason((current) => current ?? result.value);
    });
    return () => {
      live = false;
      stop();
    };
  }, [bridge, localId]);

  if (!bridge || !localId) return null;

  // The engine is computing a proof of work for the message (the server asked for one): that is the
  // wait, so it is what the line says. Cancel stays on the bubble (MessageBubble's CancelAction).
  if (stamp) {
    const percent = stampPercent(stamp);
    return (
      <div className="bubble-actions" data-testid="sending-status">
        <p data-testid="stamp-progress">
          Proving work for {contact.server}… {percent} %
        </p>
        <progress max={100} value={percent} aria-label="Proof of work" />
      </div>
    );
  }

  if (!reason) return budgetShape ? <SlotWait message={message} shape={budgetShape} /> : null;

  const retryNow = async () => {
    setRetrying(true);
    const result = await bridge.invoke('messages/retryNow', { localId });
    if (!result.ok || !result.value.retrying) setRetrying(false);
  };

  // Nothing to retry: the message goes when the contact's next message opens the session's window.
  if (reason.kind === 'waitingForContact') {
    return (
      <div className="bubble-actions" data-testid="sending-status">
        <p>{REASON_WORDS.waitingForContact(reason.detail, alias)}</p>
      </div>
    );
  }

  return (
    <div className="bubble-actions" data-testid="sending-status">
      <p>
        {REASON_WORDS[reason.kind](reason.detail, alias)}{' '}
        {retrying || reason.retryAt === null ? 'Trying again now…' : <NextTry at={reason.retryAt} />}
      </p>
      <button type="button" className="small" onClick={() => void retryNow()} disabled={retrying || reason.retryAt === null}>
        Retry now
      </button>
    </div>
  );
}

/**
 * The server a stamp is computed for, as far as the UI can tell: the engine's progress event names
 * only the message, so this is the contact's drop host when all their drops are on one server.
 */
function serverOf(dropUrls: string[]): string {
  const hosts = new Set<string>();
  for (const url of dropUrls) {
    try {
      hosts.add(new URL(url).host);
    } catch {
      // A contact's malformed URL names no server.
    }
  }
  return hosts.size === 1 ? [...hosts][0]! : 'the recipient’s drop server';
}

/** The engine's slots are 0.75 to 1.25 slot lengths apart (electron/core/budget/scheduler.ts). */
const LONGEST_SLOT_GAP = 1.25;

/**
 * A message waiting for the traffic budget's next slot. The engine draws each slot's time at random,
 * so the wait shown is the longest it can be: the widest gap between slots less the time already
 * waited, in whole minutes (more when more messages wait than a slot takes).
 */
export function SlotWait({ message, shape }: { message: MessageRecord; shape: BudgetShape }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 15_000);
    return () => clearInterval(timer);
  }, []);
  const left = LONGEST_SLOT_GAP * shape.slotMs - (now - message.sortAt);
  return (
    <div className="bubble-actions" data-testid="sending-status">
      <p data-testid="slot-wait">
        {left > 60_000 ? `Waiting for the next send slot, within about ${Math.ceil(left / 60_000)} min.` : 'Waiting for the next send slot, within a minute.'}
      </p>
    </div>
  );
}

function NextTry({ at }: { at: number }) {
  const [now, setNow] = useState(() => Date.now());
  const left = at - now;
  useEffect(() => {
    if (left > COUNTDOWN_MS || left <= 0) return;
    const timer = setTimeout(() => setNow(Date.now()), 1000);
    return () => clearTimeout(timer);
  }, [left]);
  if (left <= 0) return <>Trying again now…</>;
  if (left <= COUNTDOWN_MS) return <>Next try in {Math.ceil(left / 1000)} s.</>;
  return <>Next try at {formatMessageTime(at)}.</>;
}
