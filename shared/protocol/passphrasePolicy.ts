/** What a passphrase that protects keys must be, the same in the app, the CLI and backups. */

/** Shorter passphrases are refused wherever a new one is chosen. */
export const MIN_PASSPHRASE_LENGTH = 8;
