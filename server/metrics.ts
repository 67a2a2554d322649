/**
 * Prometheus counters of the drop server. Only totals: nothing here is ever keyed by drop ID or
 * client address (PROTOCOL.md, privacy duties).
 */
export interface ServerMetrics {
  messagesReceived: number;
  /** Messages sent to clients in GET bodies and WebSocket frames. */
  messagesDelivered: number;
  /** POSTs with `X-Qabel-Cover: 1`, answered and discarded. */
  coverDiscarded: number;
  /** Blobs stored (`--blobs`), and uploads refused by reason. */
  blobsStored: number;
  blobsRejected: { tooLarge: number; full: number; badRequest: number };
  /** Refused POSTs by reason. */
  rejected: { tooLarge: number; badRequest: number; unauthorized: number; dropFull: number };
  /** Connections and push subscriptions refused or closed by the per-client limits. */
  connectionsRefused: number;
  websocketConnections: number;
  /** Anti-spam (server/spam): POSTs stored by how they were admitted, and refused by reason. */
  spam: {
    accepted: { plain: number; ticket: number; stamp: number; intro: number };
    refused: { ticketRequired: number; ticketSpent: number; powRequired: number; introQuota: number; dropRate: number; serverFull: number };
  };
}

export function createMetrics(): ServerMetrics {
  return {
    messagesReceived: 0,
    messagesDelivered: 0,
    coverDiscarded: 0,
    blobsStored: 0,
    blobsRejected: { tooLarge: 0, full: 0, badRequest: 0 },
    rejected: { tooLarge: 0, badRequest: 0, unauthorized: 0, dropFull: 0 },
    connectionsRefused: 0,
    websocketConnections: 0,
    spam: {
      accepted: { plain: 0, ticket: 0, stamp: 0, intro: 0 },
      refused: { ticketRequired: 0, ticketSpent: 0, powRequired: 0, introQuota: 0, dropRate: 0, serverFull: 0 },
    },
  };
}

function metric(name: string, type: 'counter' | 'gauge', help: string, samples: [string, number][]): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
  return lines.join('\n');
}

/**
 * The Prometheus text exposition (version 0.0.4) of `m` plus the store's current size, and the open
 * connections where this instance owns them (null when mounted in another application's server).
 */
export function renderMetrics(m: ServerMetrics, storedBytes: number, openConnections: number | null, blobBytes: number | null = null): string {
  return (
    [
      metric('deaddrop_messages_received_total', 'counter', 'Messages stored after a POST.', [['', m.messagesReceived]]),
      metric('deaddrop_messages_delivered_total', 'counter', 'Messages sent to clients (GET bodies and WebSocket frames).', [
        ['', m.messagesDelivered],
      ]),
      metric('deaddrop_cover_posts_total', 'counter', 'POSTs marked as cover traffic, answered and discarded.', [['', m.coverDiscarded]]),
      metric('deaddrop_posts_rejected_total', 'counter', 'POSTs refused, by reason.', [
        ['{reason="too_large"}', m.rejected.tooLarge],
        ['{reason="bad_request"}', m.rejected.badRequest],
        ['{reason="unauthorized"}', m.rejected.unauthorized],
        ['{reason="drop_full"}', m.rejected.dropFull],
      ]),
      metric('deaddrop_posts_admitted_total', 'counter', 'POSTs stored, by how they were admitted (anti-spam).', [
        ['{via="plain"}', m.spam.accepted.plain],
        ['{via="ticket"}', m.spam.accepted.ticket],
        ['{via="stamp"}', m.spam.accepted.stamp],
        ['{via="intro"}', m.spam.accepted.intro],
      ]),
      metric('deaddrop_posts_refused_spam_total', 'counter', 'POSTs refused by the anti-spam rules, by reason.', [
        ['{reason="ticket_required"}', m.spam.refused.ticketRequired],
        ['{reason="ticket_spent"}', m.spam.refused.ticketSpent],
        ['{reason="pow_required"}', m.spam.refused.powRequired],
        ['{reason="intro_quota"}', m.spam.refused.introQuota],
        ['{reason="drop_rate"}', m.spam.refused.dropRate],
        ['{reason="server_full"}', m.spam.refused.serverFull],
      ]),
      metric('deaddrop_connections_refused_total', 'counter', 'Connections and push subscriptions refused or closed by the per-client limits.', [
        ['', m.connectionsRefused],
      ]),
      metric('deaddrop_stored_bytes', 'gauge', 'Total size of stored messages.', [['', storedBytes]]),
      ...(blobBytes === null
        ? []
        : [
            metric('deaddrop_blob_bytes', 'gauge', 'Total size of stored blobs.', [['', blobBytes]]),
            metric('deaddrop_blobs_stored_total', 'counter', 'Blob uploads stored.', [['', m.blobsStored]]),
            metric('deaddrop_blob_uploads_rejected_total', 'counter', 'Blob uploads refused, by reason.', [
              ['{reason="too_large"}', m.blobsRejected.tooLarge],
              ['{reason="storage_full"}', m.blobsRejected.full],
              ['{reason="bad_request"}', m.blobsRejected.badRequest],
            ]),
          ]),
      metric('deaddrop_websocket_connections', 'gauge', 'Open WebSocket push connections.', [['', m.websocketConnections]]),
      ...(openConnections === null ? [] : [metric('deaddrop_http_connections', 'gauge', 'Open TCP connections.', [['', openConnections]])]),
    ].join('\n') + '\n'
  );
}
