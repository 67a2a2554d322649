/** Entry of a crypto worker thread: wires `handleCryptoRequest` to the parent port. */
import { parentPort } from 'node:worker_threads';
import type { CryptoEnvelope } from './cryptoProtocol.js';
import { handleCryptoRequest } from './cryptoWorkerHandler.js';

const port = parentPort;
if (!port) throw new Error('cryptoWorker must run in a worker thread');

port.on('message', (envelope: CryptoEnvelope) => {
  void handleCryptoRequest(envelope).then((reply) => {
    port.postMessage(reply);
    if (envelope.request.kind === 'close') port.close();
  });
});
