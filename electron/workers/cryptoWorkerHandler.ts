/**
 * Answers crypto requests (the body of the worker thread, kept apart from the thread wiring so the
 * same code can be wrapped by other entries, e.g. for fault-injection tests).
 */
import { fail, ok } from '../../shared/ipc/result.js';
import { type CryptoEnvelope, type CryptoReply, type RequestOfKind, unpackPdus } from './cryptoProtocol.js';
import { nativeBox, prepareIdentity, trialOpenWithInits } from './nativeBox.js';

/** Loaded at the first request that needs it: workers that only trial-open never start libsodium. */
async function deriveArgon2id({ passphrase, salt, limits, length }: RequestOfKind<'argon2id'>): Promise<Uint8Array> {
  const { argon2id } = await import('../../shared/protocol/argon2id.js');
  try {
    return await argon2id(passphrase, salt, limits, length);
  } finally {
    passphrase.fill(0);
  }
}

/** Runs one request; never throws (failures become failed Results). */
export async function handleCryptoRequest({ seq, request }: CryptoEnvelope): Promise<CryptoReply> {
  try {
    switch (request.kind) {
      case 'init':
        return { seq, response: ok({ ready: true }) };
      case 'seal':
        return { seq, response: ok({ pdu: await nativeBox.sealPdu(request.sender, request.recipientPublicKey, request.payload) }) };
      case 'trialOpen':
        return { seq, response: ok(trialOpenWithInits(request.identities.map(prepareIdentity), unpackPdus(request.packed, request.lengths), request.inits ?? true)) };
      case 'argon2id':
        return { seq, response: ok({ key: await deriveArgon2id(request) }) };
      case 'close':
        return { seq, response: ok({ closed: true }) };
    }
  } catch (err) {
    return { seq, response: fail('internal', err instanceof Error ? err.message : 'crypto worker failure') };
  }
}
