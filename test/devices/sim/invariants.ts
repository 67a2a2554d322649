/**
 * The invariants of issue 17 (PROTOCOL-V1.md 5d) over what one run of the device simulator recorded,
 * and the report that prints them. Each check returns its violations (empty: it holds) with what is
 * needed to find the case again (seed, step, device, message); the numbers of 5d go beside them.
 */
import { createHash } from 'node:crypto';
import { DAY_MS, type IdentityName, type SimRecord } from './simulator.js';

export interface Violation {
  invariant: string;
  detail: string;
}

export interface DeviceSimReport {
  seed: number;
  violations: Violation[];
  figures: {
    written: number;
    crashes: number;
    /** Slots from the first step with everyone online until every device of each identity had one list hash. */
    listConvergenceSlots: number | null;
    /** Slots from the removal until every running device of Alice had the new list. */
    removalSlots: number | null;
    /** Per contact: slots from the removal until its messages echoed the new list (its acknowledgement). */
    removalAcked: Record<string, number | null>;
    /** Texts from contacts after their acknowledgement that the removed device's key still opens (version 0: all). */
    afterAckReadableByStolenKey: number;
    /** PDUs contacts sealed to the attacker's device (its prekey), in all and after their acknowledgement of its removal. */
    toRemoved: { total: number; afterAck: number };
    /** Which measure the removal check took: the contacts' device lists (interim, version 0) or per-device sessions. */
    removalMeasure: 'device lists (interim: version 0 to a linked identity)' | 'per-device sessions';
    /** Per (device, contact): messages with the attacker's echo stored before the alarm showed, and slots to the alarm. */
    alarms: { device: string; contact: string; before: number; slots: number | null; named: boolean; how: 'alarm' | 'removal from a sibling' | 'never' }[];
    /** Every device of Alice's that ran after the attack: slots from the attack until it showed the alarm or held the removal. */
    detections: { device: string; slots: number | null; how: 'alarm' | 'removal from a sibling' | 'never' }[];
    /** Chain positions (Session PDU tags) seen with two different PDUs. */
    reusedTags: number;
    sessionPdus: number;
    /** The device away 40 days: texts of its identity written while away, and how many it shows at the end. */
    history: { writtenWhileAway: number; shownAtEnd: number; catchUps: number };
    /** Row ids per conversation on every device (counts). */
    rows: Record<string, Record<string, number>>;
  };
}

const CONTACTS_OF_ALICE: IdentityName[] = ['bob', 'carol', 'dave'];

/**
 * Invariants the product breaks today, each with the one form its violation may take here (anything
 * else fails the test). Empty: the one this simulator found (a device back after 40 days kept the
 * list from before a removal made meanwhile, whose device news had expired) is fixed: a device asking
 * its siblings for history announces its list, and each sibling that knows more answers with its own.
 */
export const KNOWN_FINDINGS: { invariant: string; only: RegExp }[] = [];

/** A violation that is one of KNOWN_FINDINGS, in the one form it may take. */
export const isKnownFinding = (v: Violation): boolean => KNOWN_FINDINGS.some((k) => k.invariant === v.invariant && k.only.test(v.detail));

export function checkRun(record: SimRecord): DeviceSimReport {
  const violations: Violation[] = [];
  const { identities: ids, options } = record;
  const nameOfKey = new Map(Object.entries(ids).map(([name, identity]) => [identity.publicKey, name as IdentityName]));
  const start = record.steps[0] ? record.steps[0].at - options.stepMs : 0;
  const day = (at: number) => ((at - start) / DAY_MS).toFixed(2);

  // 1. Every conversation ends identical on all devices of an identity (row ids per conversation).
  for (const [identity, byDevice] of Object.entries(record.finalRows)) {
    const devices = Object.keys(byDevice);
    if (devices.length < 2) continue;
    const contacts = new Set(devices.flatMap((d) => Object.keys(byDevice[d]!)));
    for (const contact of contacts) {
      const union = new Set(devices.flatMap((d) => byDevice[d]![contact] ?? []));
      for (const device of devices) {
        const own = new Set(byDevice[device]![contact] ?? []);
        const missing = [...union].filter((id) => !own.has(id));
        if (missing.length === 0) continue;
        const texts = missing.map((id) => devices.flatMap((d) => record.finalTexts[d]!.filter((t) => t.id === id)).at(0));
        violations.push({
          invariant: 'conversations identical on every device',
          detail: `${device} (${identity}) lacks ${missing.length} of ${union.size} rows with ${nameOfKey.get(contact) ?? contact.slice(0, 8)}: ${texts
            .slice(0, 6)
            .map((t, i) => `${missing[i]} "${t?.text ?? '?'}" (day ${t ? day(t.at) : '?'})`)
            .join('; ')}`,
        });
      }
    }
  }

  // 1b. Ground truth: every text written is shown on every device of its writer's identity and of its recipient.
  const devicesOf = (identity: IdentityName) => record.devices.filter((d) => d.identityName === identity).map((d) => d.name);
  let lost = 0;
  for (const sent of record.sent) {
    const ends: [string, IdentityName][] = [...devicesOf(sent.from).map((d) => [d, sent.to] as [string, IdentityName]), ...devicesOf(sent.to).map((d) => [d, sent.from] as [string, IdentityName])];
    for (const [device, other] of ends) {
      const shown = record.finalTexts[device]!.some((t) => t.text === sent.text && t.contactKey === ids[other].publicKey);
      if (shown) continue;
      lost++;
      if (lost <= 12) violations.push({ invariant: 'every text on every device of both ends', detail: `${sent.id} (${sent.fromDevice} → ${sent.to}, day ${day(sent.at)}) missing on ${device}` });
    }
  }
  if (lost > 12) violations.push({ invariant: 'every text on every device of both ends', detail: `… ${lost - 12} more missing` });

  // 2. Device lists converge within two slots of everyone being online.
  const everyone = record.devices.map((d) => d.name);
  const firstAllOnline = record.steps.find((s) => everyone.every((name) => s.online.includes(name)));
  let listConvergenceSlots: number | null = null;
  if (firstAllOnline) {
    const agreed = record.steps.find((s) => s.step >= firstAllOnline.step && (['alice', 'dave'] as const).every((identity) => new Set(devicesOf(identity).map((d) => s.hashes[d])).size === 1));
    listConvergenceSlots = agreed ? agreed.step - firstAllOnline.step : null;
    if (listConvergenceSlots === null || listConvergenceSlots > 2) {
      // Who differs two slots later (or at the end): the devices whose hash is not the most common one.
      const late = record.steps.find((s) => s.step === firstAllOnline.step + 2) ?? record.steps.at(-1)!;
      const laggards = (['alice', 'dave'] as const).flatMap((identity) => {
        const counts = new Map<string, number>();
        for (const d of devicesOf(identity)) counts.set(late.hashes[d]!, (counts.get(late.hashes[d]!) ?? 0) + 1);
        const common = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
        return devicesOf(identity).filter((d) => late.hashes[d] !== common).map((d) => `${d} ${late.hashes[d]} (others ${common})`);
      });
      violations.push({
        invariant: 'device lists converge within 2 slots of everyone online',
        detail: `everyone online at step ${firstAllOnline.step}; agreed ${agreed ? `at step ${agreed.step}` : 'never'}; differing at step ${late.step}: ${laggards.join(', ')}`,
      });
    }
  } else {
    violations.push({ invariant: 'device lists converge within 2 slots of everyone online', detail: 'no step had everyone online' });
  }

  // 3. Removal: once a contact's messages echo the list without the removed device (its
  // acknowledgement), none of its later messages echoes a list Alice never had (one holding it).
  const honest = record.honestHashes.alice;
  const contactKeys = new Set(CONTACTS_OF_ALICE.map((c) => ids[c].publicKey));
  const fromContacts = record.arrivals.filter((a) => a.device.startsWith('a') && contactKeys.has(a.from));
  const removalAcked: Record<string, number | null> = {};
  const writtenAt = new Map(record.sent.map((sent) => [sent.text, sent.at]));
  let removalSlots: number | null = null;
  let afterAckReadableByStolenKey = 0;
  let toRemovedAfterAck = 0;
  let perDevice = false;
  const removal = record.removal;
  if (removal) {
    const done = record.steps.find((s) => s.step >= removal.step && devicesOf('alice').every((d) => s.hashes[d] === undefined || s.hashes[d] === removal.hash));
    removalSlots = done ? done.step - removal.step : null;
    for (const contact of CONTACTS_OF_ALICE) {
      const key = ids[contact].publicKey;
      const ack = fromContacts.find((a) => a.from === key && a.step >= removal.step && a.echo === removal.hash);
      removalAcked[contact] = ack ? ack.step - removal.step : null;
      if (!ack) continue;
      // Per-device sessions: Init PDUs sealed to the attacker's device after this contact acknowledged.
      const sealedAfter = record.toAttacker.filter((p) => p.contact === key && p.at > ack.at);
      toRemovedAfterAck += sealedAfter.length;
      if (sealedAfter.length > 0) {
        violations.push({ invariant: 'nothing to a removed device after the removal was acknowledged', detail: `${contact} sealed ${sealedAfter.length} PDU(s) to the removed device after acknowledging at step ${ack.step} (first day ${day(sealedAfter[0]!.at)})` });
      }
      // Texts written after the acknowledgement arrived (a text written before it, read late by a device
      // that was away, rightly echoes the list its sender had then).
      for (const later of fromContacts.filter((a) => a.from === key && a.text !== null && (writtenAt.get(a.text) ?? a.at) > ack.at)) {
        if (later.protocol === 1) perDevice = true;
        else afterAckReadableByStolenKey++;
        if (later.echo !== undefined && !honest.has(later.echo)) {
          violations.push({ invariant: 'nothing to a removed device after the removal was acknowledged', detail: `${contact} → ${later.device} at step ${later.step} echoes ${later.echo}, a list holding the removed device (acknowledged at step ${ack.step})` });
        }
      }
    }
  } else if (record.attack) {
    violations.push({ invariant: 'the injected device is removed', detail: 'no honest device showed the alarm, so nobody removed it' });
  }

  // 4. No chain position sealed twice: a Session PDU's tag (bytes 33..49) names (session, epoch, n,
  // copy); re-posts carry the identical bytes, so one tag with two different PDUs is a reuse. Version-0
  // boxes and Init PDUs have random bytes there (no collision in 128 bits).
  const byTag = new Map<string, { digest: string; dropId: string; at: number }>();
  let reusedTags = 0;
  for (const post of record.posts) {
    if (post.body.length < 49) continue;
    const tag = post.body.subarray(33, 49).toString('hex');
    const digest = createHash('sha256').update(post.body).digest('hex');
    const seen = byTag.get(tag);
    if (!seen) {
      byTag.set(tag, { digest, dropId: post.dropId, at: post.at });
      continue;
    }
    if (seen.digest === digest) continue;
    reusedTags++;
    violations.push({ invariant: 'no ratchet key used twice', detail: `tag ${tag} in two different PDUs (drop ${seen.dropId} day ${day(seen.at)}, drop ${post.dropId} day ${day(post.at)})` });
  }

  // 5. The injected device: every honest device that stored a message from a contact echoing a list
  // Alice never had (the contact merged the attacker's device) shows an alarm naming the attacker's
  // device, with at most one such message of each contact stored before it. The alarm names the
  // contact whose view answered first. A device that learnt the removal from a sibling first (the
  // user acted on another device's alarm: the tombstone is in its list) has nothing left to detect:
  // a view naming a removed device raises no alarm. So a device counts as detecting at the first
  // step it shows the alarm or holds the list with the removal, whichever comes first.
  // Contacts that merged the attacker's list tell their view back unasked (devices/deviceNews.ts), so a
  // device may show the alarm before any text with the attacker's echo: every device of Alice's that
  // ran after the attack must detect it, whatever it stored.
  const alarms: DeviceSimReport['figures']['alarms'] = [];
  const detections: DeviceSimReport['figures']['detections'] = [];
  const attack = record.attack;
  if (attack) {
    for (const device of devicesOf('alice')) {
      const detected = record.steps.find(
        (s) => s.step >= attack.step && ((s.alarmDevices[device] ?? []).includes(attack.deviceId) || (removal !== null && s.step >= removal.step && s.hashes[device] === removal.hash)),
      );
      if (record.steps.some((s) => s.step >= attack.step && s.online.includes(device))) {
        const how = !detected ? 'never' : (detected.alarmDevices[device] ?? []).includes(attack.deviceId) ? 'alarm' : 'removal from a sibling';
        detections.push({ device, slots: detected ? detected.step - attack.step : null, how });
        if (!detected) violations.push({ invariant: 'the injected device is detected within one incoming message', detail: `${device} ran after the attack and never showed the alarm nor held the removal` });
      }
      for (const contact of CONTACTS_OF_ALICE) {
        const key = ids[contact].publicKey;
        const foreign = fromContacts.filter((a) => a.device === device && a.from === key && a.step >= attack.step && a.text !== null && a.echo !== undefined && !honest.has(a.echo));
        if (foreign.length === 0) continue;
        const before = new Set(foreign.filter((a) => !detected || a.step < detected.step).map((a) => a.text)).size;
        const named = record.steps.some((s) => (s.alarms[device] ?? []).includes(key));
        const how = !detected ? 'never' : (detected.alarmDevices[device] ?? []).includes(attack.deviceId) ? 'alarm' : 'removal from a sibling';
        alarms.push({ device, contact, before, slots: detected ? Math.max(0, detected.step - foreign[0]!.step) : null, named, how });
        if (!detected || before > 1) {
          violations.push({
            invariant: 'the injected device is detected within one incoming message',
            detail: `${device}, texts from ${contact} with the attacker's echo from step ${foreign[0]!.step}: ${before} stored before the alarm (${detected ? `shown at step ${detected.step}` : 'never shown'})`,
          });
        }
      }
    }
  }

  // History: what a3 missed while away, and what it shows at the end.
  const a3 = record.devices.find((d) => d.name === 'a3')!;
  const away = a3.away!;
  const whileAway = record.sent.filter((s) => (s.from === 'alice' || s.to === 'alice') && s.fromDevice !== 'a3' && s.at >= away[0] && s.at < away[1]);
  const shownAtEnd = whileAway.filter((s) => record.finalTexts.a3!.some((t) => t.text === s.text)).length;

  const rows: Record<string, Record<string, number>> = {};
  for (const byDevice of Object.values(record.finalRows)) {
    for (const [device, conversations] of Object.entries(byDevice)) {
      rows[device] = Object.fromEntries(Object.entries(conversations).map(([k, v]) => [nameOfKey.get(k) ?? k.slice(0, 8), v.length]));
    }
  }
  return {
    seed: options.seed,
    violations,
    figures: {
      written: record.sent.length,
      crashes: record.devices.reduce((sum, d) => sum + d.crashes, 0),
      listConvergenceSlots,
      removalSlots,
      removalAcked,
      afterAckReadableByStolenKey,
      toRemoved: { total: record.toAttacker.length, afterAck: toRemovedAfterAck },
      removalMeasure: perDevice ? 'per-device sessions' : 'device lists (interim: version 0 to a linked identity)',
      alarms,
      detections,
      reusedTags,
      sessionPdus: byTag.size,
      history: { writtenWhileAway: whileAway.length, shownAtEnd, catchUps: record.catchUps.length },
      rows,
    },
  };
}

export function formatReport(report: DeviceSimReport): string {
  const f = report.figures;
  const lines = [
    `seed ${report.seed}: ${f.written} texts written, ${f.crashes} crashes, ${report.violations.length === 0 ? 'every invariant holds' : `${report.violations.length} violation(s)`}`,
    `  device lists: converged ${f.listConvergenceSlots ?? 'never'} slot(s) after everyone was online; a removal reached every running device of Alice in ${f.removalSlots ?? '-'} slot(s)`,
    `  removal acknowledged by contacts after (slots): ${Object.entries(f.removalAcked).map(([c, s]) => `${c} ${s ?? '-'}`).join(', ') || '-'}; measured: ${f.removalMeasure}; texts after the acknowledgement the stolen key still opens: ${f.afterAckReadableByStolenKey}; PDUs sealed to the removed device: ${f.toRemoved.total}, after the acknowledgement ${f.toRemoved.afterAck}`,
    `  detection (device/contact: texts with the attacker's echo before it, slots, how): ${f.alarms.map((a) => `${a.device}/${a.contact}: ${a.before}, ${a.slots ?? 'never'} (${a.how}${a.how === 'alarm' && !a.named ? ', naming another contact' : ''})`).join('; ') || 'no contact echoed the attacker'}`,
    `  detected by every device of Alice's that ran after the attack (slots after it, how): ${f.detections.map((d) => `${d.device} ${d.slots ?? 'never'} (${d.how})`).join(', ') || '-'}`,
    `  ratchet: ${f.sessionPdus} distinct tags posted, ${f.reusedTags} reused`,
    `  40 days away: ${f.history.shownAtEnd} of ${f.history.writtenWhileAway} texts of the absence shown at the end (${f.history.catchUps} catch-up request(s))`,
    `  rows per conversation: ${Object.entries(f.rows).map(([d, c]) => `${d} {${Object.entries(c).map(([k, n]) => `${k} ${n}`).join(', ')}}`).join(' ')}`,
  ];
  for (const v of report.violations) lines.push(`  VIOLATION ${v.invariant}: ${v.detail}`);
  return lines.join('\n');
}
