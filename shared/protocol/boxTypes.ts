/**
 * Types shared by the two implementations of the version-0 box (PROTOCOL.md section 3):
 * the portable one in shared/protocol (libsodium-wrappers + WebCrypto, runs everywhere) and the
 * native Node one used by the crypto worker. Both must pass the same known answers.
 */

/** Every PDU on the wire: 1 version byte + 2148-byte box. */
export const PDU_LENGTH = 2149;
export const BOX_LENGTH = 2148;
/** The drop message JSON is zero-padded to exactly this many bytes before sealing. */
export const PAYLOAD_LENGTH = 2048;
export const PDU_VERSION_0 = 0;

/** The box's constants (PROTOCOL.md section 3), one definition for both implementations. */
export const BOX_KEY_LENGTH = 32;
export const BOX_GCM_TAG_LENGTH = 16;
/** Ephemeral key, then the sealed sender key with its tag. */
export const BOX_HEADER_LENGTH = BOX_KEY_LENGTH + BOX_KEY_LENGTH + BOX_GCM_TAG_LENGTH;
/** Output of one KDF step: chain value (48), key (32), nonce (12). */
export const BOX_KDF_LENGTH = 92;
export const BOX_CHAIN_LENGTH = 48;
/** `Noise255/AES256-GCM` followed by 5 zero bytes. */
export const BOX_SUITE: Uint8Array = Uint8Array.from([...'Noise255/AES256-GCM'].map((c) => c.charCodeAt(0)).concat([0, 0, 0, 0, 0]));

export interface KeyPair {
  /** X25519 public key, 32 bytes. */
  publicKey: Uint8Array;
  /** X25519 private key, 32 bytes. */
  privateKey: Uint8Array;
}

export interface OpenedBox {
  /** The sender's static public key recovered from the header (authenticated by the body step). */
  senderPublicKey: Uint8Array;
  /** The body plaintext with the random padding and its length removed. */
  payload: Uint8Array;
}

/** One trial-open hit: which of the given identities opened the PDU, and what it held. */
export interface TrialHit {
  identityIndex: number;
  opened: OpenedBox;
}

/** A complete box implementation: seal for one recipient, open as one identity, trial-open batches. */
export interface BoxBackend {
  /** Seals a 2048-byte payload from `sender` to `recipientPublicKey`; returns a 2149-byte PDU. */
  sealPdu(sender: KeyPair, recipientPublicKey: Uint8Array, payload: Uint8Array): Promise<Uint8Array>;
  /** Opens a PDU as `recipient`; null when it is not a version-0 PDU of 2149 bytes or not for us. */
  openPdu(recipient: KeyPair, pdu: Uint8Array): Promise<OpenedBox | null>;
  /** For each PDU, the first identity that opens it, or null (PDUs for others are silently skipped). */
  trialOpen(identities: readonly KeyPair[], pdus: readonly Uint8Array[]): Promise<(TrialHit | null)[]>;
}
