/**
 * The device simulator's checks catch what they are for: a small hand-made record that holds, and the
 * same record broken one way at a time (a row missing on one device, a list that does not converge, a
 * contact echoing the removed device after acknowledging its removal, one chain position in two
 * different PDUs, an honest device that never detects the injected one).
 */
import { describe, expect, it } from 'vitest';
import type { IdentitySummary } from '../../../shared/ipc/contract.js';
import { checkRun } from './invariants.js';
import { DAY_MS, type IdentityName, type SimDevice, type SimRecord, type StepRecord } from './simulator.js';

const key = (n: number) => n.toString(16).repeat(64).slice(0, 64);
const identity = (name: IdentityName, n: number) => ({ id: `id-${name}`, publicKey: key(n), dropUrls: [] }) as unknown as IdentitySummary;
const ids = { alice: identity('alice', 1), bob: identity('bob', 2), carol: identity('carol', 3), dave: identity('dave', 4) };
const names: [string, IdentityName][] = [
  ['a1', 'alice'],
  ['a2', 'alice'],
  ['a3', 'alice'],
  ['b', 'bob'],
  ['c', 'carol'],
  ['d1', 'dave'],
  ['d2', 'dave'],
];
const START = 1_000_000;
const STEP = DAY_MS / 2;
const ATTACKER = 'ab'.repeat(8);

function record(): SimRecord {
  const devices = names.map(([name, identityName]) => ({ name, identityName, crashes: 1, away: name === 'a3' ? [START, START + 10 * STEP] : undefined }) as unknown as SimDevice);
  const all = names.map(([n]) => n);
  const steps: StepRecord[] = [];
  for (let step = 1; step <= 12; step++) {
    const removed = step >= 4;
    const hashes = Object.fromEntries(all.map((d) => [d, d.startsWith('a') ? (removed ? 'aaaa0002' : 'aaaa0001') : d.startsWith('d') ? 'dddd0001' : `${d}0000000`.slice(0, 8)]));
    const alarmed = step >= 3;
    steps.push({
      step,
      at: START + step * STEP,
      online: step >= 10 ? all : ['a1', 'a2', 'b'],
      hashes,
      alarms: Object.fromEntries(all.map((d) => [d, alarmed && (d === 'a1' || d === 'a2') ? [ids.bob.publicKey] : []])),
      alarmDevices: Object.fromEntries(all.map((d) => [d, alarmed && (d === 'a1' || d === 'a2') ? [ATTACKER] : []])),
    });
  }
  const text = (id: string, contactKey: string, t: string, direction: 'in' | 'out') => ({ id, contactKey, text: t, direction, at: START });
  const aliceRows = { [ids.bob.publicKey]: ['in:x:1', 'out:1'] };
  return {
    options: { seed: 1, stepMs: STEP } as SimRecord['options'],
    devices,
    identities: ids,
    sent: [
      { id: 'm1', text: 'sim m1 from a1', fromDevice: 'a1', from: 'alice', to: 'bob', at: START + STEP },
      { id: 'm2', text: 'sim m2 from b', fromDevice: 'b', from: 'bob', to: 'alice', at: START + STEP },
    ],
    arrivals: [
      // Bob's text after the attack echoes a list Alice never had: stored on a1 and a2 at step 2.
      { device: 'a1', step: 2, at: START + 2 * STEP, from: ids.bob.publicKey, protocol: 0, echo: 'eeee0001', text: 'sim m2 from b' },
      { device: 'a2', step: 2, at: START + 2 * STEP, from: ids.bob.publicKey, protocol: 0, echo: 'eeee0001', text: 'sim m2 from b' },
      // After the removal (step 4) Bob acknowledges it at step 5: his message echoes the new list.
      { device: 'a1', step: 5, at: START + 5 * STEP, from: ids.bob.publicKey, protocol: 0, echo: 'aaaa0002', text: 'sim m3 from b' },
    ],
    steps,
    honestHashes: { alice: new Set(['aaaa0001', 'aaaa0002']), dave: new Set(['dddd0001']) },
    attack: { at: START + STEP, step: 1, deviceId: ATTACKER },
    removal: { at: START + 4 * STEP, step: 4, by: 'a1', hash: 'aaaa0002' },
    finalRows: { alice: { a1: aliceRows, a2: aliceRows, a3: aliceRows }, bob: { b: { [ids.alice.publicKey]: ['in:y:1', 'out:2'] } }, dave: { d1: {}, d2: {} } },
    finalTexts: {
      a1: [text('out:1', ids.bob.publicKey, 'sim m1 from a1', 'out'), text('in:x:1', ids.bob.publicKey, 'sim m2 from b', 'in')],
      a2: [text('out:1', ids.bob.publicKey, 'sim m1 from a1', 'out'), text('in:x:1', ids.bob.publicKey, 'sim m2 from b', 'in')],
      a3: [text('out:1', ids.bob.publicKey, 'sim m1 from a1', 'out'), text('in:x:1', ids.bob.publicKey, 'sim m2 from b', 'in')],
      b: [text('in:y:1', ids.alice.publicKey, 'sim m1 from a1', 'in'), text('out:2', ids.alice.publicKey, 'sim m2 from b', 'out')],
      c: [],
      d1: [],
      d2: [],
    },
    posts: [
      { dropId: 'x', body: Buffer.alloc(2149, 1), at: START },
      { dropId: 'x', body: Buffer.alloc(2149, 1), at: START + 1 }, // a re-post: the same bytes
    ],
    catchUps: [],
    toAttacker: [{ contact: ids.bob.publicKey, at: START + 3 * STEP }],
    quietFrom: START + 10 * STEP,
    stepCount: 12,
    probes: [],
    log: [],
  };
}

const invariantsOf = (r: SimRecord) => checkRun(r).violations.map((v) => v.invariant);

describe('the device simulator’s invariants', () => {
  it('hold on a consistent record', () => {
    expect(checkRun(record()).violations).toEqual([]);
  });

  it('a row missing on one device of an identity', () => {
    const r = record();
    r.finalRows.alice!.a3 = { [ids.bob.publicKey]: ['out:1'] };
    r.finalTexts.a3 = r.finalTexts.a3!.filter((t) => t.id === 'out:1');
    expect(invariantsOf(r)).toEqual(['conversations identical on every device', 'every text on every device of both ends']);
  });

  it('a list that does not converge once everyone is online', () => {
    const r = record();
    // a3 keeps the list from before the removal (it showed the alarm, so the attack counts as detected there).
    for (const s of r.steps) {
      s.hashes.a3 = 'aaaa0001';
      s.alarmDevices.a3 = [ATTACKER];
    }
    expect(checkRun(r).violations).toEqual([
      { invariant: 'device lists converge within 2 slots of everyone online', detail: expect.stringContaining('a3 aaaa0001 (others aaaa0002)') as string },
    ]);
  });

  it('a contact echoing a list with the removed device after acknowledging the removal', () => {
    const r = record();
    r.arrivals.push({ device: 'a2', step: 7, at: START + 7 * STEP, from: ids.bob.publicKey, protocol: 0, echo: 'eeee0001', text: 'sim m4 from b' });
    expect(invariantsOf(r)).toEqual(['nothing to a removed device after the removal was acknowledged']);
  });

  it('a device of Alice that ran after the attack and never detected it', () => {
    const r = record();
    r.arrivals = r.arrivals.filter((a) => a.device !== 'a2');
    for (const s of r.steps) {
      s.alarmDevices.a2 = [];
      s.hashes.a2 = 'aaaa0001';
    }
    expect(invariantsOf(r)).toContain('the injected device is detected within one incoming message');
    expect(checkRun(r).violations.find((v) => v.detail.startsWith('a2 ran after the attack'))).toBeDefined();
  });

  it('a text written before the acknowledgement, read late by a device that was away, may echo the old list', () => {
    const r = record();
    r.arrivals.push({ device: 'a2', step: 7, at: START + 7 * STEP, from: ids.bob.publicKey, protocol: 0, echo: 'eeee0001', text: 'sim m2 from b' });
    expect(invariantsOf(r)).toEqual([]);
  });

  it('a PDU sealed to the removed device after the contact acknowledged its removal', () => {
    const r = record();
    r.toAttacker.push({ contact: ids.bob.publicKey, at: START + 6 * STEP });
    expect(invariantsOf(r)).toEqual(['nothing to a removed device after the removal was acknowledged']);
  });

  it('one chain position in two different PDUs', () => {
    const r = record();
    const other = Buffer.alloc(2149, 1);
    other[100] = 2; // same tag (bytes 33..49), other ciphertext
    r.posts.push({ dropId: 'y', body: other, at: START + 2 });
    expect(invariantsOf(r)).toEqual(['no ratchet key used twice']);
  });

  it('an honest device that never detects the injected device, or stores two such texts first', () => {
    const never = record();
    for (const s of never.steps) {
      s.alarmDevices.a2 = [];
      s.hashes.a2 = 'aaaa0001';
    }
    expect(invariantsOf(never)).toContain('the injected device is detected within one incoming message');
    const late = record();
    late.arrivals.push({ device: 'a1', step: 2, at: START + 2 * STEP, from: ids.bob.publicKey, protocol: 0, echo: 'eeee0001', text: 'sim m5 from b' });
    expect(invariantsOf(late)).toEqual(['the injected device is detected within one incoming message']);
  });
});
