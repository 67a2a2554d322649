/**
 * The engine's handler table: one async function per channel of `shared/ipc/contract.ts` that needs
 * no capability (the host serves the others). Requests arrive already validated (by `dispatch` or the
 * caller); failures are thrown as ApiFailure and turned into Results by the transport.
 */
import type { ApiHandlers, AppInfo, Capabilities, EngineSettings } from '../../../shared/ipc/contract.js';
import { ApiFailure } from '../../../shared/ipc/result.js';
import { newPassphraseProblem } from '../../../shared/protocol/passphrasePolicy.js';
import type { EngineContext } from '../engine.js';
import { PROTOCOL_V1_DEFAULT } from '../sessions/sessionSender.js';
import { confirmReset, sessionsStatus } from '../sessions/resets.js';
import { validateProxy } from '../net/proxyDispatcher.js';
import { identityHandlers } from './identityHandlers.js';
import { feedbackHandlers } from './feedbackHandlers.js';
import { backupHandlers } from './backupHandlers.js';
import { deviceHandlers } from './deviceHandlers.js';
import { fileHandlers } from './fileHandlers.js';
import { dropHandlers } from '../drops/moveDrop.js';
import { flushRevocations, markRevoked } from '../spam/revocation.js';

const DEFAULT_VERSION = '0.1.0';
const NO_CAPABILITIES: Capabilities = {
  localServer: false,
  notifications: false,
  cameraGate: false,
  desktopSettings: false,
  externalLinks: false,
  debugLog: false,
  fileDialogs: false,
};

export function buildHandlers(parts: EngineContext): ApiHandlers {
  const { stateStore, poller, sender, options, now } = parts;
  const info = (): AppInfo => ({
    version: options.version ?? DEFAULT_VERSION,
    host: options.host,
    paused: poller.isPaused,
    locked: stateStore.locked,
    keyProtection: options.secret !== null ? 'host' : stateStore.initialised ? 'passphrase' : 'new',
    capabilities: options.capabilities?.() ?? NO_CAPABILITIES,
  });
  const requireUnlocked = () => {
    if (stateStore.locked) throw new ApiFailure('locked', 'The engine is locked: unlock it with your passphrase first.');
  };

  return {
    'app/info': async () => info(),
    'app/unlock': async ({ passphrase }) => {
      if (stateStore.locked) {
        // The first unlock chooses the passphrase: the engine holds it to the policy, whatever the UI checked.
        const problem = stateStore.initialised ? null : newPassphraseProblem(passphrase);
        if (problem) throw new ApiFailure('bad_input', problem);
        await stateStore.unlock(passphrase);
        sender.resume();
        await parts.started();
        parts.emit('identities/changed', stateStore.identities());
      }
      return info();
    },
    'app/lock': async () => {
      if (options.secret !== null) {
        throw new ApiFailure('unavailable', 'This profile has no passphrase to lock with: the system keyring unlocks it when you log in.');
      }
      if (!stateStore.locked) {
        // Nothing polls or sends once the keys are gone; what was read and not acknowledged comes again.
        await poller.forget();
        await parts.files.close();
        await sender.close();
        await stateStore.lock();
        parts.emit('app/locked', info());
      }
      return info();
    },
    'app/changePassphrase': async ({ oldPassphrase, newPassphrase }) => {
      requireUnlocked();
      if (options.secret !== null) {
        throw new ApiFailure('unavailable', 'This profile has no passphrase to change: the system keyring protects its keys.');
      }
      const problem = newPassphraseProblem(newPassphrase);
      if (problem) throw new ApiFailure('bad_input', problem);
      await stateStore.changeSecret(oldPassphrase, newPassphrase);
      return null;
    },
    'app/databaseKey': async () => {
      requireUnlocked();
      return { key: Buffer.from(stateStore.databaseKey()).toString('base64') };
    },
    ...identityHandlers(parts, requireUnlocked),
    ...feedbackHandlers(parts, requireUnlocked),
    ...backupHandlers(parts, requireUnlocked),
    ...deviceHandlers(parts, requireUnlocked),
    ...fileHandlers(parts, requireUnlocked),
    ...dropHandlers(parts, requireUnlocked),
    'messages/send': async (request) => {
      requireUnlocked();
      // A file's notice is built when its upload is done: until then its local id is taken.
      if (parts.files.uploading(request.localId)) throw new ApiFailure('already_exists', 'This file is still being uploaded; its notice follows.');
      return sender.send(request);
    },
    'messages/cancel': async ({ localId }) => {
      requireUnlocked();
      // A file's notice is queued only once its upload is done: cancelling before that stops the upload.
      if (await parts.files.cancelUpload(localId)) return { cancelled: true };
      return sender.cancel(localId);
    },
    'inbox/ack': async ({ batchId, receipts }) => {
      requireUnlocked();
      await poller.acknowledge(batchId, receipts);
      return null;
    },
    'receipts/send': async ({ identityId, recipient, acknowledgeIds }) => {
      requireUnlocked();
      stateStore.identity(identityId);
      for (const acknowledgeId of acknowledgeIds) sender.sendReceipt(identityId, recipient.publicKey, recipient.dropUrls, acknowledgeId);
      return null;
    },
    'settings/get': async () => {
      requireUnlocked();
      return stateStore.settings();
    },
    'settings/set': async (change) => {
      requireUnlocked();
      const next: EngineSettings = { ...stateStore.settings(), ...change };
      validateProxy(next.proxy);
      const saved = await stateStore.setSettings(next);
      // Auto-lock is the UI's to apply: changing only that leaves drop traffic alone.
      // The outbox reads `copies` per message: no restart for that either.
      if (Object.keys(change).every((key) => key === 'autoLockMinutes' || key === 'copies')) return saved;
      parts.network.configure(saved.proxy);
      if (options.autoPoll !== false) await poller.restart();
      return saved;
    },
    'servers/status': async () => {
      requireUnlocked();
      return poller.serverStatus();
    },
    'sessions/status': async ({ identityId }) => {
      requireUnlocked();
      stateStore.identity(identityId);
      return sessionsStatus(parts.sessions, identityId, options.protocolV1 ?? PROTOCOL_V1_DEFAULT, now());
    },
    'sessions/confirmReset': async ({ identityId, contactPublicKey, accept }) => {
      requireUnlocked();
      stateStore.identity(identityId);
      if (await confirmReset(parts.sessions, identityId, contactPublicKey, accept, now())) {
        parts.receiver.invalidate();
        parts.emit('sessions/changed', { identityId });
      }
      return sessionsStatus(parts.sessions, identityId, options.protocolV1 ?? PROTOCOL_V1_DEFAULT, now());
    },
    'contacts/revokeTickets': async ({ identityId, contactPublicKey }) => {
      requireUnlocked();
      stateStore.identity(identityId);
      await markRevoked(stateStore, identityId, contactPublicKey);
      return flushRevocations(stateStore, (url, body) => parts.network.client.postJson(url, body), identityId, now());
    },
    'poller/setPaused': async ({ paused }) => {
      poller.setPaused(paused);
      return { paused: poller.isPaused };
    },
    'poller/pollNow': async () => {
      requireUnlocked();
      poller.pollNow();
      return null;
    },
  };
}
