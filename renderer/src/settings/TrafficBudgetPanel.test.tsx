/**
 * The traffic-budget panel in real Chromium, against an engine that answers like ours: the figures
 * it shows are the model's (shared/budget/model.ts, the one the engine's traffic is tested against),
 * its choice goes to `settings/set`, and servers that cannot pad are named.
 */
import { createElement } from 'react';
import { flushSync } from 'react-dom';
import { type Root, createRoot } from 'react-dom/client';
import { userEvent } from 'vitest/browser';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BUDGET_SHAPES, budgetFigures, formatDuration, formatMegabytes } from '../../../shared/budget/model.js';
import { DEFAULT_TRAFFIC_BUDGET, type TrafficBudgetSetting } from '../../../shared/budget/setting.js';
import type { Channel, EngineSettings, IdentitySummary, ServerStatus } from '../../../shared/ipc/contract.js';
import type { EngineBridge } from '../bridge/transport.js';
import { useSession } from '../stores/sessionStore.js';
import { TrafficBudgetPanel } from './TrafficBudgetPanel.js';
import { EngineSettingsForm } from './EngineSettingsForm.js';
import { useSavedSettings } from './savedSettings.js';

const SETTINGS: EngineSettings = { pollIntervalMs: 30_000, push: true, proxy: { kind: 'none' }, allowLocalNetwork: false, autoLockMinutes: 0, sendReceipts: true, copies: 2 };

function identity(id: string, drops: number): IdentitySummary {
  return { id, alias: id, publicKey: id.padEnd(64, '0'), dropUrls: Array.from({ length: drops }, (_, i) => `https://drop${i}.example/${id}${i}`), dropBits: 256, createdAt: 1 };
}

function status(serverUrl: string, canPad?: boolean, canCover?: boolean): ServerStatus {
  return { serverUrl, reachable: true, lastPollAt: 1, latencyMs: 5, pushConnected: false, lastError: null, malformedMessages: 0, canPad, canCover };
}

/** Answers settings/get and settings/set the way the engine does (the stored settings, merged). */
function fakeEngine(initial: Partial<EngineSettings> = {}, slowGet: Promise<void> = Promise.resolve()) {
  let settings: EngineSettings = { ...SETTINGS, ...initial };
  const sets: Array<Partial<EngineSettings>> = [];
  const bridge = {
    kind: 'websocket',
    async invoke(channel: Channel, request: Record<string, unknown>) {
      if (channel === 'settings/get') {
        const answer = settings;
        await slowGet;
        return { ok: true, value: answer };
      }
      if (channel === 'settings/set') {
        sets.push(request);
        settings = { ...settings, ...request };
        return { ok: true, value: settings };
      }
      if (channel === 'servers/status') return { ok: true, value: useSession.getState().serverStatus };
      return { ok: true, value: null };
    },
    on: () => () => undefined,
    connectionState: () => 'open',
    onConnectionChange: () => () => undefined,
  } as unknown as EngineBridge;
  return { bridge, sets };
}

let host: HTMLDivElement;
let root: Root | null = null;

beforeEach(() => {
  useSession.setState(useSession.getInitialState(), true);
  useSavedSettings.setState({ settings: null });
  host = document.createElement('div');
  document.body.append(host);
});
afterEach(() => {
  root?.unmount();
  root = null;
  host.remove();
});

async function render(engine: ReturnType<typeof fakeEngine>, identities = [identity('a', 2)], { waitForLoad = true, withNetwork = false } = {}) {
  flushSync(() => {
    useSession.getState().setBridge(engine.bridge);
    useSession.getState().setIdentities(identities);
  });
  root = createRoot(host);
  flushSync(() => root!.render(withNetwork ? createElement('div', null, createElement(EngineSettingsForm), createElement(TrafficBudgetPanel)) : createElement(TrafficBudgetPanel)));
  if (waitForLoad) await until(() => !(budgetSave()).disabled);
}

const budgetSave = () => [...host.querySelectorAll('button[type=submit]')].find((b) => b.textContent === 'Save traffic budget') as HTMLButtonElement;

/** Waits (bounded in time, not in rounds: a loaded machine stretches every timer) until `condition` holds. */
async function until(condition: () => boolean): Promise<void> {
  await vi.waitFor(() => expect(condition()).toBe(true), { timeout: 10_000, interval: 10 });
}

const radio = (name: string) => [...host.querySelectorAll('label.choice')].find((l) => l.textContent === name)!.querySelector('input') as HTMLInputElement;
const save = () => budgetSave().click();
const input = (label: string) => {
  const forId = [...host.querySelectorAll('label')].find((l) => l.textContent === label)!.htmlFor;
  return host.querySelector(`#${CSS.escape(forId)}`) as HTMLInputElement;
};

describe('TrafficBudgetPanel', () => {
  it('starts at the stored choice (Off when none) and says what Off means', async () => {
    await render(fakeEngine());
    expect(radio('Off').checked).toBe(true);
    expect(host.textContent).toContain('Off: messages go out at once');
    expect(host.querySelector('table')).toBeNull();
  });

  it('shows the model’s bytes per day, delay and send rate for the chosen preset and the user’s drops, and saves the choice', async () => {
    const engine = fakeEngine();
    // Two identities with three distinct drops between them.
    await render(engine, [identity('a', 2), identity('b', 1)]);
    radio('Medium').click();
    await until(() => host.querySelector('table') !== null);
    const medium = budgetFigures(BUDGET_SHAPES.medium, 3);
    const table = host.querySelector('table')!;
    expect(table.textContent).toContain(`${formatMegabytes(medium.totalBytesPerDay)} (${formatMegabytes(medium.upBytesPerDay)} up, ${formatMegabytes(medium.downBytesPerDay)} down, for 3 drops)`);
    expect(table.textContent).toContain(`About ${formatDuration(medium.meanAddedLatencyMs)} per message on average, up to about ${formatDuration(medium.maxAddedLatencyMs)}`);
    expect(table.textContent).toContain('24 uploads an hour: 12 messages an hour with 2 copies each');

    radio('High').click();
    await until(() => host.querySelector('table')!.textContent!.includes('120 uploads an hour'));
    expect(host.querySelector('table')!.textContent).toContain(formatMegabytes(budgetFigures(BUDGET_SHAPES.high, 3).totalBytesPerDay));

    save();
    await until(() => engine.sets.length === 1);
    expect(engine.sets[0]).toEqual({ trafficBudget: { preset: 'high', custom: DEFAULT_TRAFFIC_BUDGET.custom } });
  });

  it('takes custom numbers within their bounds, and refuses others without saving', async () => {
    const stored: TrafficBudgetSetting = { preset: 'custom', custom: { slotSeconds: 600, postsPerSlot: 1, page: 2 } };
    const engine = fakeEngine({ trafficBudget: stored });
    await render(engine, [identity('a', 1)]);
    expect(radio('Custom').checked).toBe(true);
    expect(input('Slot length (seconds)').value).toBe('600');
    expect(host.textContent).toContain('6 uploads an hour');

    await userEvent.clear(input('Uploads per slot'));
    await userEvent.type(input('Uploads per slot'), '9');
    save();
    await until(() => host.querySelector('[role=alert]') !== null);
    expect(host.textContent).toContain('Uploads per slot must be a whole number from 1 to 8.');
    expect(engine.sets).toEqual([]);

    await userEvent.clear(input('Uploads per slot'));
    await userEvent.type(input('Uploads per slot'), '3');
    await until(() => host.textContent!.includes('18 uploads an hour'));
    save();
    await until(() => engine.sets.length === 1);
    expect(engine.sets[0]).toEqual({ trafficBudget: { preset: 'custom', custom: { slotSeconds: 600, postsPerSlot: 3, page: 2 } } });
  });

  it('names the servers that cannot pad downloads or take cover, as plain text', async () => {
    await render(fakeEngine({ trafficBudget: { ...DEFAULT_TRAFFIC_BUDGET, preset: 'low' } }));
    flushSync(() =>
      useSession.getState().setServerStatus([status('https://old.example/<b>drop</b>', false, false), status('https://nocover.example', true, false), status('https://new.example', true, true)]),
    );
    const warnings = [...host.querySelectorAll('.warning-text')].map((p) => p.textContent);
    expect(warnings).toEqual([
      'This server cannot pad downloads: https://old.example/<b>drop</b>. The size of each download from it shows how many messages arrived.',
      'This server does not take cover uploads: https://nocover.example.',
    ]);
    expect(host.querySelector('b')).toBeNull();
    // Off: nothing to warn about.
    radio('Off').click();
    await until(() => host.querySelectorAll('.warning-text').length === 0);
  });

  it('a preset chosen before the stored settings arrive is kept, not replaced by the late answer', async () => {
    let answer!: () => void;
    const engine = fakeEngine({ trafficBudget: { ...DEFAULT_TRAFFIC_BUDGET, preset: 'low' } }, new Promise((resolve) => (answer = resolve)));
    await render(engine, [identity('a', 1)], { waitForLoad: false });
    expect(budgetSave().disabled).toBe(true);
    radio('High').click();
    await until(() => radio('High').checked);
    answer();
    await until(() => !budgetSave().disabled);
    expect(radio('High').checked).toBe(true);
    expect(radio('Low').checked).toBe(false);
    save();
    await until(() => engine.sets.length === 1);
    expect(engine.sets[0]).toMatchObject({ trafficBudget: { preset: 'high' } });
  });

  it('follows the copies per message saved in Network, and counts in the singular for one', async () => {
    const stored: TrafficBudgetSetting = { preset: 'custom', custom: { slotSeconds: 3600, postsPerSlot: 2, page: 2 } };
    const engine = fakeEngine({ trafficBudget: stored, copies: 2 });
    await render(engine, [identity('a', 1)], { withNetwork: true });
    await until(() => host.querySelector('table') !== null);
    expect(host.querySelector('table')!.textContent).toContain('2 uploads an hour: 1 message an hour with 2 copies each');

    const copies = input('Copies per message') as unknown as HTMLSelectElement;
    await userEvent.selectOptions(copies, '1');
    // Chosen but not saved: the budget still counts what the engine does.
    expect(host.querySelector('table')!.textContent).toContain('with 2 copies each');
    ([...host.querySelectorAll('button[type=submit]')].find((b) => b.textContent === 'Save network settings') as HTMLButtonElement).click();
    await until(() => host.querySelector('table')!.textContent!.includes('2 uploads an hour: 2 messages an hour with one copy each'));

    await userEvent.clear(input('Uploads per slot'));
    await userEvent.type(input('Uploads per slot'), '1');
    await until(() => host.querySelector('table')!.textContent!.includes('1 upload an hour: 1 message an hour with one copy each'));
  });
});
