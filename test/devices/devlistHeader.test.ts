/**
 * `devlist_hash` in version-1 PDUs (PROTOCOL-V1.md 5c; electron/core/v1/session.ts): the recipient's
 * device list hash as the sender knows it, in the Init prefix (bytes 23..27) and the encrypted Session
 * header (bytes 40..44), read back by the recipient only; zero (none known) reads as null; it does not
 * disturb the drops epoch beside it.
 */
import { describe, expect, it } from 'vitest';
import { openInit, openSession, seal } from '../../electron/core/v1/session.js';
import { establish, sealed, text } from '../v1/helpers.js';

const NOW = 1_000_000;

describe('devlist_hash in v1 PDUs', () => {
  it('an Init PDU carries it beside the drops epoch; absent, it reads as null', () => {
    const { alice, bobIdentity, qpk } = establish(NOW);
    const withHash = sealed(seal(alice, text('with'), { devlistHash: '0a1b2c3d', dropsEpoch: 7 }, NOW));
    const opened = openInit({ ourIdentity: bobIdentity, qrPrekeys: [qpk], copies: 2 }, withHash.pdu, NOW);
    expect(opened && 'state' in opened ? { hash: opened.devlistHash, epoch: opened.dropsEpoch } : null).toEqual({ hash: '0a1b2c3d', epoch: 7 });
    const without = sealed(seal(withHash.state, text('without'), {}, NOW));
    const plain = openInit({ ourIdentity: bobIdentity, qrPrekeys: [qpk], copies: 2 }, without.pdu, NOW);
    expect(plain && 'state' in plain ? plain.devlistHash : 'unopened').toBeNull();
  });

  it('a Session PDU carries it in the encrypted header, each copy alike; a malformed value is sent as none', () => {
    const { bob, alice } = establish(NOW);
    const reply = sealed(seal(bob, text('reply'), { devlistHash: 'ffffffff', dropsEpoch: 3, copies: 2 }, NOW));
    for (const pdu of reply.pdus) {
      const got = openSession(alice, pdu, NOW);
      expect(got && 'state' in got ? { hash: got.devlistHash, epoch: got.dropsEpoch } : null).toEqual({ hash: 'ffffffff', epoch: 3 });
    }
    const odd = sealed(seal(reply.state, text('odd'), { devlistHash: 'not hex!' }, NOW));
    const got = openSession(alice, odd.pdu, NOW);
    expect(got && 'state' in got ? got.devlistHash : 'unopened').toBeNull();
  });
});
