/** The default KeyWrap: the data key sealed with the passphrase seal of shared/protocol. */
import { type PassphraseLimits, passphraseOpen, passphraseSeal } from '../../../shared/protocol/identityBackup.js';
import { toApiFailure } from '../api/protocolFailure.js';
import type { KeyWrap } from './keystore.js';

export const passphraseKeyWrap = (limits?: PassphraseLimits): KeyWrap => ({
  async seal(dataKey, secret) {
    return passphraseSeal(dataKey, secret, limits);
  },
  async open(wrapped, secret) {
    try {
      return await passphraseOpen(wrapped, secret);
    } catch (err) {
      throw toApiFailure(err);
    }
  },
});
