/** Codes of every way hostile or broken input can be rejected by a shared/ codec. */
export type ProtocolErrorCode =
  | 'invalid_drop_id'
  | 'invalid_drop_url'
  | 'invalid_pdu'
  | 'invalid_message'
  | 'unsupported_version'
  | 'forged_sender'
  | 'message_too_long'
  | 'invalid_multipart'
  | 'multipart_limit'
  | 'invalid_contact'
  | 'invalid_backup'
  | 'bad_passphrase';

/** The one error type shared/ codecs throw; callers branch on `code`, users read `message`. */
export class ProtocolError extends Error {
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}
