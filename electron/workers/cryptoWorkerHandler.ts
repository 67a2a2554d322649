/**
 * Answers crypto requests (the body of the worker thread, kept apart from the thread wiring so the
 * same code can be wrapped by other entries, e.g. for fault-injection tests).
 */
import { fail, ok } from '../../shared/ipc/result.js';
import { type CryptoEnvelope, type CryptoReply, unpackPdus } from './cryptoProtocol.js';
import { nativeBox, prepareIdentity, trialOpenPrepared } from './nativeBox.js';

/** Runs one request; never throws (failures become failed Results). */
export async function handleCryptoRequest({ seq, request }: CryptoEnvelope): Promise<CryptoReply> {
  try {
    switch (request.kind) {
      case 'init':
        return { seq, response: ok({ ready: true }) };
      case 'seal':
        return { seq, response: ok({ pdu: await nativeBox.sealPdu(request.sender, request.recipientPublicKey, request.payload) }) };
      case 'trialOpen':
        return { seq, response: ok({ hits: trialOpenPrepared(request.identities.map(prepareIdentity), unpackPdus(request.packed, request.lengths)) }) };
      case 'close':
        return { seq, response: ok({ closed: true }) };
    }
  } catch (err) {
    return { seq, response: fail('internal', err instanceof Error ? err.message : 'crypto worker failure') };
  }
}
