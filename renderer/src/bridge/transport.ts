import type { DeaddropBridge } from '../../../shared/ipc/contract.js';

/** Whether the renderer can currently reach the engine. */
export type ConnectionState = 'connecting' | 'open' | 'closed';

/**
 * A bridge plus its connection state. The Electron bridge is always `open`; the WebSocket bridge
 * reconnects on its own and reports every change so the UI can resume the outbox after a restart.
 */
export interface EngineBridge extends DeaddropBridge {
  readonly kind: 'electron' | 'websocket';
  connectionState(): ConnectionState;
  onConnectionChange(listener: (state: ConnectionState) => void): () => void;
}
