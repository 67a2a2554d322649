/**
 * One drop service: store, push hub, sweeper, metrics and the request handlers, without a server of
 * its own. `startDropServer` puts it behind its own HTTP listener; `createDropHandler` mounts it in
 * another application's server.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { DropServerOptions } from './config/options.js';
import { createTokenCheck } from './http/accessTokens.js';
import { createBlobRequestHandler } from './http/blobHandler.js';
import { createDropRequestHandler } from './http/dropHandler.js';
import { createPolicyHandler } from './http/policyHandler.js';
import { createAdmission } from './spam/admission.js';
import { createPolicyBook } from './spam/policyBook.js';
import { createPressureGauge } from './spam/pressure.js';
import { createRequestHandler, createUpgradeHandler, type ListenerDeps } from './http/requestListener.js';
import { discoveryDocument } from './http/paddedPage.js';
import { createRouter } from './http/routes.js';
import { serviceDescription } from './http/serviceDescription.js';
import { createMetrics, renderMetrics, type ServerMetrics } from './metrics.js';
import { createPushHub } from './push/pushHub.js';
import { setServerLogLevel } from './serverLog.js';
import type { BlobStore } from './store/blobStore.js';
import { openBlobStore, openStore } from './store/openStore.js';
import { createSweeper, type SweepResult } from './sweeper.js';

export interface DropService {
  /** Serves a request on one of our paths (`url`: its full path, default `req.url`); calls `pass()` for any other path. */
  handle(req: IncomingMessage, res: ServerResponse, pass: () => void, url?: string): void;
  /** Takes over a WebSocket upgrade on a push path and returns true; false (socket untouched) otherwise. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  metrics: ServerMetrics;
  /** The Prometheus text of this instance. */
  metricsText(): Promise<string>;
  sweepNow(): Promise<SweepResult>;
  /** Closes the push sockets (first, so that the HTTP side can stop: they hold connections). */
  closePush(): void;
  /** Closes push sockets, stops the sweeper and closes the store (after the HTTP side has stopped). */
  close(): Promise<void>;
}

export interface ServiceContext {
  /** True for a server of its own: `/health` and `/metrics` also answer at the root. */
  operationalAtRoot: boolean;
  /** Open TCP connections, for the metrics (null where the host application owns them). */
  openConnections(): number | null;
}

/** Opens the store and assembles the service. @throws as `openStore` does */
export async function createDropService(options: DropServerOptions, context: ServiceContext): Promise<DropService> {
  setServerLogLevel(options.logLevel);
  const store = await openStore(options.db, {
    dropCaps: { maxMessages: options.dropMaxMessages, maxBytes: options.dropMaxBytes },
  });
  let blobs: BlobStore | null = null;
  if (options.blobs) {
    try {
      blobs = await openBlobStore(options.db);
    } catch (error) {
      await store.close();
      throw error;
    }
  }
  const metrics = createMetrics();
  const ttlMs = options.ttlSeconds * 1000;
  const sweeper = createSweeper({
    store,
    blobs,
    clock: options.clock,
    ttlMs,
    quotaBytes: options.quotaBytes,
    intervalMs: options.sweepIntervalMs,
  });
  const tokenOk = createTokenCheck(options.tokens);
  const metricsTokenOk = options.metricsToken === null ? null : createTokenCheck([options.metricsToken]);
  const hub = createPushHub({
    store,
    metrics,
    maxSubscribers: options.maxSubscribers,
    maxSubscribersPerClient: options.maxSubscribersPerClient,
    authorized: tokenOk,
  });
  const metricsText = async (): Promise<string> =>
    renderMetrics(metrics, await store.storedBytes(), context.openConnections(), blobs ? await blobs.storedBytes() : null);
  const policies = createPolicyBook(store, options.introPerDay);
  const pressure = createPressureGauge(options);
  const decide = createAdmission({ policies, pressure, introBits: options.powBits, storedBytes: () => store.knownBytes() });
  const deps: ListenerDeps = {
    route: createRouter(options.basePath, { operationalAtRoot: context.operationalAtRoot }),
    handleDrop: createDropRequestHandler({
      store,
      clock: options.clock,
      metrics,
      maxMessageBytes: options.maxMessageBytes,
      pageSize: options.pageSize,
      ttlMs,
      tokensRequired: options.tokens.length > 0,
      afterAppend: () => sweeper.checkQuotaSoon(),
      spam: { decide, policies, pressure },
    }),
    handlePolicy: createPolicyHandler({
      store,
      policies,
      clock: options.clock,
      tokensRequired: options.tokens.length > 0,
      introPerDay: options.introPerDay,
    }),
    handleBlob: createBlobRequestHandler({
      blobs,
      clock: options.clock,
      basePath: options.basePath,
      maxBlobBytes: options.maxBlobBytes,
      ttlMs,
      quotaBytes: options.quotaBytes,
      messageBytes: () => store.storedBytes(),
      metrics,
      tokensRequired: options.tokens.length > 0,
    }),
    serviceDescription: serviceDescription(blobs ? { maxBytes: options.maxBlobBytes } : null),
    discoveryDocument: discoveryDocument({ ttlSeconds: options.ttlSeconds, blobs: blobs !== null, powBits: options.powBits, introPerDay: options.introPerDay }),
    hub,
    store,
    tokenOk,
    metricsAccess: (authorization) => (metricsTokenOk === null ? 'hidden' : metricsTokenOk(authorization) ? 'allowed' : 'unauthorized'),
    metricsText,
    countUnauthorized: () => void metrics.rejected.unauthorized++,
    trustedProxies: new Set(options.trustedProxies),
  };
  return {
    handle: createRequestHandler(deps),
    upgrade: createUpgradeHandler(deps),
    metrics,
    metricsText,
    sweepNow: () => sweeper.sweepNow(),
    closePush: () => hub.close(),
    async close() {
      hub.close();
      await sweeper.stop();
      await store.close();
      await blobs?.close();
    },
  };
}
