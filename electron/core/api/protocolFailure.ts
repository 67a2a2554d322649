/** Maps the ProtocolErrors of shared/ codecs to the API's failure codes. */
import { ApiFailure } from '../../../shared/ipc/result.js';
import { ProtocolError } from '../../../shared/protocol/errors.js';

export function toApiFailure(err: unknown): unknown {
  if (!(err instanceof ProtocolError)) return err;
  return new ApiFailure(err.code === 'bad_passphrase' ? 'bad_passphrase' : 'bad_input', err.message);
}

/** Runs `work`, rethrowing a ProtocolError as ApiFailure. */
export function asApiFailure<T>(work: () => T): T {
  try {
    return work();
  } catch (err) {
    throw toApiFailure(err);
  }
}
