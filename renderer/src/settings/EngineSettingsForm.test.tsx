/**
 * The Closed drops switch of the network settings in real Chromium, against an engine that answers
 * settings/get and settings/set like ours: off unless stored on, said what it means, saved as
 * `closedDrops` with the rest.
 */
import { createElement } from 'react';
import { flushSync } from 'react-dom';
import { type Root, createRoot } from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Channel, EngineSettings } from '../../../shared/ipc/contract.js';
import type { EngineBridge } from '../bridge/transport.js';
import { useSession } from '../stores/sessionStore.js';
import { EngineSettingsForm } from './EngineSettingsForm.js';

const SETTINGS: EngineSettings = { pollIntervalMs: 30_000, push: true, proxy: { kind: 'none' }, allowLocalNetwork: false, autoLockMinutes: 0, sendReceipts: true, copies: 2 };

function fakeEngine(initial: Partial<EngineSettings> = {}) {
  let settings: EngineSettings = { ...SETTINGS, ...initial };
  const sets: Array<Partial<EngineSettings>> = [];
  const bridge = {
    kind: 'websocket',
    async invoke(channel: Channel, request: Record<string, unknown>) {
      if (channel === 'settings/get') return { ok: true, value: settings };
      if (channel === 'settings/set') {
        sets.push(request);
        settings = { ...settings, ...request };
        return { ok: true, value: settings };
      }
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
  host = document.createElement('div');
  document.body.append(host);
});
afterEach(() => {
  root?.unmount();
  root = null;
  host.remove();
});

/** Waits (bounded in time, not in rounds: a loaded machine stretches every timer) until `condition` holds. */
async function until(condition: () => boolean): Promise<void> {
  await vi.waitFor(() => expect(condition()).toBe(true), { timeout: 10_000, interval: 10 });
}

async function render(engine: ReturnType<typeof fakeEngine>) {
  flushSync(() => useSession.getState().setBridge(engine.bridge));
  root = createRoot(host);
  flushSync(() => root!.render(createElement(EngineSettingsForm)));
  await until(() => !(host.querySelector('button[type=submit]') as HTMLButtonElement).disabled);
}

const closedSwitch = () => host.querySelector('input[role=switch]') as HTMLInputElement;
const save = () => (host.querySelector('button[type=submit]') as HTMLButtonElement).click();

describe('EngineSettingsForm: closed drops', () => {
  it('is an off switch by default, labelled, with help saying who must prove work', async () => {
    const engine = fakeEngine();
    await render(engine);
    const toggle = closedSwitch();
    expect(toggle.checked).toBe(false);
    expect(toggle.closest('label')!.textContent).toBe('Closed drops');
    const help = document.getElementById(toggle.getAttribute('aria-describedby')!)!;
    expect(help.textContent).toContain('New drops you create are closed: only contacts holding tickets from you can write freely;');
    expect(help.textContent).toContain('strangers, original Qabel apps and contacts without tickets must send a proof of work');

    save();
    await until(() => engine.sets.length === 1);
    expect(engine.sets[0]!.closedDrops).toBe(false);
  });

  it('turns on and saves closedDrops, and shows a stored choice', async () => {
    const engine = fakeEngine();
    await render(engine);
    closedSwitch().click();
    expect(closedSwitch().checked).toBe(true);
    save();
    await until(() => engine.sets.length === 1);
    expect(engine.sets[0]).toMatchObject({ closedDrops: true, copies: 2, sendReceipts: true });

    root!.unmount();
    root = null;
    await render(fakeEngine({ closedDrops: true }));
    expect(closedSwitch().checked).toBe(true);
  });
});
