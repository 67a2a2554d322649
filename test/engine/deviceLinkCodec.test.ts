/**
 * The device link's codecs and PDUs (shared/protocol/deviceLink.ts, electron/core/devices/linkCipher.ts)
 * and the device list codec (shared/protocol/deviceList.ts): round trips, the fixed PDU size, and
 * that hostile input is refused rather than misread.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateDropId } from '../../shared/protocol/dropId.js';
import { LINK_CHUNK_DATA, chunkFrames, decodeLinkFrame, encodeLinkFrame, formatLinkString, parseLinkString, sasDigits } from '../../shared/protocol/deviceLink.js';
import { type DeviceList, MAX_DEVICE_LIST_BYTES, decodeDeviceList, deviceListHash, encodeDeviceList, mergeDeviceLists } from '../../shared/protocol/deviceList.js';
import { deriveLinkKeys, newLinkKeyPair, openLinkPdu, sealLinkPdu } from '../../electron/core/devices/linkCipher.js';

describe('the DEADDROP-LINK string', () => {
  it('round-trips and refuses what is no link', () => {
    const pair = newLinkKeyPair();
    const offer = { version: 1, dropUrl: `http://127.0.0.1:5000/${generateDropId()}`, publicKey: pair.publicKey };
    const text = formatLinkString(offer);
    expect(text.split('\n')[0]).toBe('DEADDROP-LINK');
    expect(parseLinkString(`  ${text.replace(/\n/g, '\r\n')}\n`)).toEqual(offer);
    expect(() => parseLinkString(text.replace('\n1\n', '\n2\n'))).toThrow(/newer version/);
    expect(() => parseLinkString(text.split('\n').slice(0, 3).join('\n'))).toThrow(/incomplete/);
    expect(() => parseLinkString(`DEADDROP1\n${text}`)).toThrow(/not a device link/);
    expect(() => parseLinkString(text.slice(0, -2))).toThrow();
  });
});

describe('link PDUs', () => {
  const offerer = newLinkKeyPair();
  const joiner = newLinkKeyPair();
  const keys = deriveLinkKeys(joiner, offerer.publicKey, offerer.publicKey, joiner.publicKey)!;

  it('both sides derive the same keys and six digits; another joiner gets other digits', () => {
    expect(deriveLinkKeys(offerer, joiner.publicKey, offerer.publicKey, joiner.publicKey)).toEqual(keys);
    expect(keys.code).toMatch(/^[0-9]{6}$/);
    const other = newLinkKeyPair();
    expect(deriveLinkKeys(offerer, other.publicKey, offerer.publicKey, other.publicKey)!.fromJoiner).not.toEqual(keys.fromJoiner);
    expect(deriveLinkKeys(offerer, new Uint8Array(32), offerer.publicKey, new Uint8Array(32))).toBeNull();
  });

  it('are 2149 bytes, open only under their key, and any flipped bit makes them unreadable', () => {
    const frame = { kind: 'chunk' as const, index: 3, total: 9, data: new Uint8Array(LINK_CHUNK_DATA).fill(7) };
    const pdu = sealLinkPdu(keys.fromOfferer, frame);
    expect(pdu.length).toBe(2149);
    expect(pdu[0]).toBe(0);
    const opened = openLinkPdu(keys.fromOfferer, pdu) as typeof frame;
    expect({ ...opened, data: new Uint8Array(opened.data) }).toEqual(frame);
    expect(openLinkPdu(keys.fromJoiner, pdu)).toBeNull();
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2148 }), fc.integer({ min: 0, max: 7 }), (at, bit) => {
        const altered = Buffer.from(pdu);
        altered[at]! ^= 1 << bit;
        expect(openLinkPdu(keys.fromOfferer, altered)).toBeNull();
      }),
      { numRuns: 200 },
    );
  });

  it('frames round-trip, and a bundle splits into chunks that join again', () => {
    const hello = { kind: 'hello' as const, deviceId: new Uint8Array(8).fill(1), prekey: new Uint8Array(32).fill(2), name: 'Laptop' };
    expect(decodeLinkFrame(encodeLinkFrame(hello))).toEqual(hello);
    expect(decodeLinkFrame(encodeLinkFrame({ kind: 'abort', reason: 'mismatch' }))).toEqual({ kind: 'abort', reason: 'mismatch' });
    expect(decodeLinkFrame(encodeLinkFrame({ kind: 'received' }))).toEqual({ kind: 'received' });
    const bundle = new Uint8Array(3 * LINK_CHUNK_DATA + 5).map((_, i) => i & 0xff);
    const chunks = chunkFrames(bundle);
    expect(chunks).toHaveLength(4);
    const joined = Buffer.concat(chunks.map((c) => (decodeLinkFrame(encodeLinkFrame(c)) as { data: Uint8Array }).data));
    expect(joined.equals(Buffer.from(bundle))).toBe(true);
    const bad = encodeLinkFrame({ kind: 'abort', reason: 'failed' });
    bad[100] = 1;
    expect(() => decodeLinkFrame(bad)).toThrow(/after its end/);
    const outOfBounds = encodeLinkFrame(chunks[0]!);
    outOfBounds[4] = 200; // index beyond total
    expect(() => decodeLinkFrame(outOfBounds)).toThrow(/out of bounds/);
  });

  it('a hello strips control and bidi characters from the device name', () => {
    const hello = { kind: 'hello' as const, deviceId: new Uint8Array(8), prekey: new Uint8Array(32), name: 'Lap\u202etop\u0007' };
    expect(decodeLinkFrame(encodeLinkFrame(hello))).toMatchObject({ name: 'Laptop' });
  });

  it('six digits from 20 bits', () => {
    expect(sasDigits(new Uint8Array([0, 0, 0]))).toBe('000000');
    expect(sasDigits(new Uint8Array([0xff, 0xff, 0xff]))).toBe(String(0xfffff % 1_000_000).padStart(6, '0'));
  });
});

/**
 * Epochs are wrapping u16 serial numbers: they order only values less than half the circle apart, so
 * the lists of one property lie within a quarter circle, moved together by a shift that wraps past 0xffff.
 */
const EPOCH_SPREAD = 0x3fff;
const shifted = (l: DeviceList, by: number): DeviceList =>
  decodeDeviceList(
    encodeDeviceList({
      epoch: (l.epoch + by) & 0xffff,
      devices: l.devices.map((d) => ({ ...d, nameEpoch: ((d.nameEpoch ?? 0) + by) & 0xffff })),
      removed: (l.removed ?? []).map((t) => ({ ...t, epoch: (t.epoch + by) & 0xffff })),
    }),
  );
const hex = (length: number) => fc.uint8Array({ minLength: length, maxLength: length }).map((b) => Buffer.from(b).toString('hex'));
// Ids from a small set, so that lists share devices and tombstones hit devices of the other lists.
const deviceId = fc.integer({ min: 0, max: 23 }).map((n) => n.toString(16).padStart(16, '0'));
const record = fc.record({
  deviceId,
  prekey: hex(32),
  addedDay: fc.integer({ min: 0, max: 0xffff }),
  name: fc.string({ maxLength: 40 }),
  nameEpoch: fc.integer({ min: 0, max: EPOCH_SPREAD }),
});
const list = fc
  .record({
    epoch: fc.integer({ min: 0, max: EPOCH_SPREAD }),
    devices: fc.uniqueArray(record, { minLength: 1, maxLength: 8, selector: (d) => d.deviceId }),
    removed: fc.uniqueArray(fc.record({ deviceId, epoch: fc.integer({ min: 0, max: EPOCH_SPREAD }) }), { maxLength: 8, selector: (t) => t.deviceId }),
  })
  .map((l): DeviceList => {
    const gone = new Set(l.removed.map((t) => t.deviceId));
    const devices = l.devices.filter((d) => !gone.has(d.deviceId));
    return decodeDeviceList(encodeDeviceList({ ...l, devices: devices.length > 0 ? devices : l.devices, removed: devices.length > 0 ? l.removed : [] }));
  });

describe('the DEVICES list', () => {
  it('round-trips in at most 700 bytes, one canonical form', () => {
    fc.assert(
      fc.property(list, (l) => {
        const bytes = encodeDeviceList(l);
        expect(bytes.length).toBeLessThanOrEqual(MAX_DEVICE_LIST_BYTES);
        expect(decodeDeviceList(bytes)).toEqual(l);
      }),
    );
    expect(MAX_DEVICE_LIST_BYTES).toBe(700);
  });

  it('refuses truncated, padded and unsorted lists', () => {
    const l = decodeDeviceList(
      encodeDeviceList({
        epoch: 2,
        devices: [
          { deviceId: '00'.repeat(8), prekey: '11'.repeat(32), addedDay: 1, name: 'a' },
          { deviceId: 'ff'.repeat(8), prekey: '11'.repeat(32), addedDay: 1, name: 'b' },
        ],
      }),
    );
    const bytes = encodeDeviceList(l);
    expect(() => decodeDeviceList(bytes.subarray(0, bytes.length - 1))).toThrow();
    expect(() => decodeDeviceList(Buffer.concat([bytes, Buffer.of(0)]))).toThrow();
    const record = 8 + 32 + 2 + 2 + 1 + 1;
    const swapped = Buffer.concat([bytes.subarray(0, 3), bytes.subarray(3 + record, 3 + 2 * record), bytes.subarray(3, 3 + record), bytes.subarray(3 + 2 * record)]);
    expect(() => decodeDeviceList(swapped)).toThrow(/canonical/);
  });

  it('merging is commutative, associative and idempotent, removed devices stay removed, and the hash follows', async () => {
    // A merge that removes every device is refused (ProtocolError): those triples are skipped.
    const merge = (x: DeviceList, y: DeviceList): DeviceList | null => {
      try {
        return mergeDeviceLists(x, y);
      } catch {
        return null;
      }
    };
    let checked = 0;
    fc.assert(
      fc.property(list, list, list, fc.integer({ min: 0, max: 0xffff }), (a0, b0, c0, by) => {
        const [a, b, c] = [shifted(a0, by), shifted(b0, by), shifted(c0, by)];
        const sameEpoch = [a, { ...b, epoch: a.epoch }, { ...c, epoch: a.epoch }] as const;
        for (const [x, y, z] of [[a, b, c], sameEpoch] as const) {
          expect(merge(x, y)).toEqual(merge(y, x));
          expect(merge(x, x)).toEqual(x);
          const xy = merge(x, y);
          const yz = merge(y, z);
          if (!xy || !yz) continue;
          const left = merge(xy, z);
          const right = merge(x, yz);
          // Associative while the bounds did not cut: a union of more than 8 devices is refused (one
          // side may refuse where the other does not), more than 8 tombstones keep the latest removed.
          const unionDevices = new Set([x, y, z].flatMap((l) => l.devices.map((d) => d.deviceId)));
          const unionRemoved = new Set([x, y, z].flatMap((l) => (l.removed ?? []).map((t) => t.deviceId)));
          if (unionDevices.size <= 8 && unionRemoved.size <= 8) {
            expect(left).toEqual(right);
            checked++;
          }
          for (const tombstone of left?.removed ?? []) expect(left!.devices.map((d) => d.deviceId)).not.toContain(tombstone.deviceId);
        }
      }),
      { seed: 0xdd17 },
    );
    expect(checked).toBeGreaterThan(20);
    const [a, b] = fc.sample(list, { numRuns: 2, seed: 0xdd18 }) as [DeviceList, DeviceList];
    expect(await deviceListHash(mergeDeviceLists(a, b))).toBe(await deviceListHash(mergeDeviceLists(b, a)));
    expect(await deviceListHash(a)).toMatch(/^[0-9a-f]{8}$/);
  });
});
