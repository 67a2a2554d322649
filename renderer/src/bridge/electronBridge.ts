import { type Channel, callTimeoutMs } from '../../../shared/ipc/channels.js';
import type { EventMap, EventName, PreloadApi, RequestOf, ResponseOf } from '../../../shared/ipc/contract.js';
import { type Result, fail } from '../../../shared/ipc/result.js';
import type { EngineBridge } from './transport.js';

/** Adapts the preload's named functions (`window.deaddrop`) to the bridge interface. */
export function createElectronBridge(api: PreloadApi): EngineBridge {
  return {
    kind: 'electron',
    async invoke<C extends Channel>(channel: C, request: RequestOf<C>): Promise<Result<ResponseOf<C>>> {
      const call = api[channel] as unknown as (req: RequestOf<C>) => Promise<Result<ResponseOf<C>>>;
      // Main answers `timeout` at the channel's bound; this one, a little later, is for a main that never answers.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<Result<ResponseOf<C>>>((resolve) => {
        timer = setTimeout(() => resolve(fail('timeout', 'The app did not answer in time.')), callTimeoutMs(channel));
      });
      try {
        return await Promise.race([call(request), timeout]);
      } catch {
        return fail('unavailable', 'The app could not be reached.');
      } finally {
        clearTimeout(timer);
      }
    },
    on<E extends EventName>(event: E, listener: (payload: EventMap[E]) => void): () => void {
      return api.on(event, listener);
    },
    connectionState: () => 'open',
    onConnectionChange: () => () => undefined,
  };
}
