/**
 * What `GET <servicepath>` answers: which service and protocol live here, so an operator or a
 * client pointed at the bare service path learns it is in the right place. Never any drop ID.
 */
export const SERVICE_DESCRIPTION = JSON.stringify({
  service: 'deaddrop-server',
  protocol: 'qabel-drop',
  // The drop message format version (PROTOCOL.md section 4); PDUs are version 0 boxes.
  protocolVersion: 1,
  push: 'websocket',
});
