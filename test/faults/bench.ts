/**
 * `npm run bench:faults`: the fault simulator at a larger size than its test, under each fault profile,
 * with and without the outbox's k-of-n posting and re-posting, then the migration run; prints the tables
 * the README quotes. Seeded: a second run gives the same schedules and fault draws (up to the order in
 * which concurrent requests reach the proxies).
 */
import { cpus } from 'node:os';
import { ALL, CLEAN, FLAKY, LOSSY, OUTAGES } from './profiles.js';
import { type SimReport, formatContacts, formatTable } from './report.js';
import { DAY_MS, HOUR_MS, type SimOptions, runSimulation } from './simulator.js';

const SEED = 4242;
const base: SimOptions = {
  seed: SEED,
  contacts: 6,
  days: 24,
  sendDays: 10,
  stepMs: HOUR_MS,
  messagesPerDay: 4,
  session: { onlineMs: [HOUR_MS, 6 * HOUR_MS], offlineMs: [2 * HOUR_MS, 20 * HOUR_MS] },
  // Two contacts go away: one for 9 days (longer than the servers' 7-day TTL), one for 13.
  plans: [{ awayAt: 2 * DAY_MS, awayMs: 9 * DAY_MS }, { awayAt: 1 * DAY_MS, awayMs: 13 * DAY_MS }],
  faults: CLEAN,
};

/** The outbox as it was before issue 15: one copy, no re-posting (a re-post interval beyond the run). */
const ONE_COPY_NO_REPOST: Partial<SimOptions> = { engine: { outbox: { copies: 1, repost: { intervalMs: 1e15, checkMs: 20 } } } };

async function main(): Promise<void> {
  const started = Date.now();
  console.log(`bench:faults: seed ${SEED}, ${base.contacts} contacts + hub, ${base.days} simulated days (writing for ${base.sendDays}), ${cpus().length} cores`);
  const reports: SimReport[] = [];
  const runs: [string, Partial<SimOptions>][] = [
    ['k=2, re-posting', {}],
    ['k=1, no re-posting', ONE_COPY_NO_REPOST],
  ];
  for (const profile of [CLEAN, LOSSY, FLAKY, OUTAGES, ALL]) {
    // Version 1 (sessions) under everything at once: the outbox's copies and re-posting in sessions.
    const all = profile === ALL ? [...runs, ['k=2, re-posting, version 1', { protocolV1: true }] as [string, Partial<SimOptions>]] : runs;
    for (const [label, extra] of all) {
      const t0 = Date.now();
      const { report } = await runSimulation({ ...base, ...extra, faults: profile });
      report.profile = `${profile.name}; ${label}`;
      reports.push(report);
      console.log(`  ${report.profile}: delivery ${report.deliveryRatio.toFixed(4)}, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }
  }
  console.log('\nDelivery (a message counts when its recipient read within 14 days of its writing), latency in simulated time:\n');
  console.log(formatTable(reports));
  const worst = reports.find((r) => r.profile === `${ALL.name}; k=2, re-posting`);
  if (worst) console.log(`\nPer contact, ${worst.profile}:\n\n${formatContacts(worst, new Map([['c1', '9 d from day 2'], ['c2', '13 d from day 1']]))}`);

  const absences = [0, 5, 10, 15, 20, 25, 29, 33, 36, 40];
  for (const hubDrops of [1, 2] as const) {
    const t0 = Date.now();
    const { report } = await runSimulation({
      seed: SEED + hubDrops,
      contacts: absences.length,
      days: 46,
      sendDays: 46,
      stepMs: 2 * HOUR_MS,
      messagesPerDay: 0.5,
      session: { onlineMs: [2 * HOUR_MS, 8 * HOUR_MS], offlineMs: [4 * HOUR_MS, 20 * HOUR_MS] },
      plans: absences.map((days) => ({ awayAt: 2 * DAY_MS, awayMs: Math.max(1, days) * DAY_MS, writesOnReturn: true })),
      faults: CLEAN,
      migrateAt: 3 * DAY_MS,
      hubDrops,
    });
    console.log(
      `\nMigration on day 3, hub with ${hubDrops} drop${hubDrops === 1 ? '' : 's'} (contacts away from day 2, posting before reading on return; old drop retires on day 33), ${((Date.now() - t0) / 1000).toFixed(0)} s:\n`,
    );
    console.log(formatContacts(report, new Map(absences.map((days, i) => [`c${i + 1}`, `${days} d`]))));
    console.log(`duplicates shown: ${report.duplicatesShown}`);
  }
  console.log(`\ntotal ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
