import type { Channel, EventMap, EventName, PreloadApi, RequestOf, ResponseOf } from '../../../shared/ipc/contract.js';
import { type Result, fail } from '../../../shared/ipc/result.js';
import type { EngineBridge } from './transport.js';

/** Every call gets an answer in bounded time, even if the main process never replies. */
const CALL_TIMEOUT_MS = 30_000;

/** Adapts the preload's named functions (`window.deaddrop`) to the bridge interface. */
export function createElectronBridge(api: PreloadApi): EngineBridge {
  return {
    kind: 'electron',
    async invoke<C extends Channel>(channel: C, request: RequestOf<C>): Promise<Result<ResponseOf<C>>> {
      const call = api[channel] as unknown as (req: RequestOf<C>) => Promise<Result<ResponseOf<C>>>;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<Result<ResponseOf<C>>>((resolve) => {
        timer = setTimeout(() => resolve(fail('timeout', 'The app engine did not answer in time.')), CALL_TIMEOUT_MS);
      });
      try {
        return await Promise.race([call(request), timeout]);
      } catch {
        return fail('unavailable', 'The app engine could not be reached.');
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
