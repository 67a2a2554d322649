import type { IdentitySummary } from '../../../shared/ipc/contract.js';
import type { EngineBridge } from '../bridge/transport.js';
import { useSession } from '../stores/sessionStore.js';

/** After an identity was created or imported: refresh the list from the engine and switch to it. */
export async function adoptIdentity(bridge: EngineBridge, identity: IdentitySummary): Promise<void> {
  const list = await bridge.invoke('identities/list', {});
  if (list.ok) useSession.getState().setIdentities(list.value);
  useSession.getState().setActiveIdentity(identity.id);
}
