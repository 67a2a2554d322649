/** Channels that tell the user what is happening: is this a drop server, why is a message still sending. */
import type { ApiHandlers } from '../../../shared/ipc/contract.js';
import type { EngineContext } from '../engine.js';
import { probeDropServer } from '../net/serverProbe.js';

type FeedbackChannels = 'servers/probe' | 'messages/retryNow' | 'messages/sendingReason';

export function feedbackHandlers(parts: EngineContext, requireUnlocked: () => void): Pick<ApiHandlers, FeedbackChannels> {
  const { sender, network } = parts;
  return {
    'servers/probe': async ({ serverUrl }) => {
      requireUnlocked();
      return probeDropServer(network, serverUrl);
    },
    'messages/retryNow': async ({ localId }) => {
      requireUnlocked();
      return sender.retryNow(localId);
    },
    'messages/sendingReason': async ({ localId }) => {
      requireUnlocked();
      return sender.sendingReason(localId);
    },
  };
}
