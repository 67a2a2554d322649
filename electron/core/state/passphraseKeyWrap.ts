/** The default KeyWrap: the data key sealed with the passphrase seal of shared/protocol, Argon2id by `kdf` (the engine's worker pool). */
import { type PassphraseKdf, type PassphraseLimits, passphraseOpen, passphraseSeal } from '../../../shared/protocol/identityBackup.js';
import { toApiFailure } from '../api/protocolFailure.js';
import type { KeyWrap } from './stateStore.js';

export const passphraseKeyWrap = (limits: PassphraseLimits | undefined, kdf: PassphraseKdf): KeyWrap => ({
  async seal(dataKey, secret) {
    return passphraseSeal(dataKey, secret, limits, kdf);
  },
  async open(wrapped, secret) {
    try {
      return await passphraseOpen(wrapped, secret, kdf);
    } catch (err) {
      throw toApiFailure(err);
    }
  },
});
