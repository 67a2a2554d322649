/**
 * What `GET <servicepath>` answers: which service and protocol live here, so an operator or a
 * client pointed at the bare service path learns it is in the right place, and whether it stores
 * blobs. Never any drop ID.
 */
export function serviceDescription(blobs: { maxBytes: number } | null): string {
  return JSON.stringify({
    service: 'deaddrop-server',
    protocol: 'qabel-drop',
    // The drop message format version (PROTOCOL.md section 4); PDUs are version 0 boxes.
    protocolVersion: 1,
    push: 'websocket',
    // Clients look here for a server of theirs that takes files: `POST <servicepath>/blobs`.
    ...(blobs ? { blobs: { maxBytes: blobs.maxBytes } } : {}),
  });
}
