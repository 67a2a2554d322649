import { type FormEvent, useEffect, useId, useRef, useState } from 'react';
import { type BudgetFigures, budgetFigures, formatDuration, formatMegabytes, shapeOf } from '../../../shared/budget/model.js';
import { BUDGET_PRESETS, type BudgetPreset, CUSTOM_LIMITS, DEFAULT_TRAFFIC_BUDGET, type TrafficBudgetSetting } from '../../../shared/budget/setting.js';
import { DEFAULT_COPIES, type ServerStatus } from '../../../shared/ipc/contract.js';
import { ErrorText } from '../components/ErrorText.js';
import { useSession } from '../stores/sessionStore.js';
import { useUi } from '../stores/uiStore.js';
import { useSavedSettings } from './savedSettings.js';
import { database } from '../db/database.js';
import { tellSettings } from '../devices/syncSettings.js';

const PRESET_LABELS: Record<BudgetPreset, string> = {
  off: 'Off',
  low: 'Low',
  medium: 'Medium',
  high: 'High',
  custom: 'Custom',
};

type CustomField = keyof TrafficBudgetSetting['custom'];
const CUSTOM_FIELDS: Array<{ field: CustomField; label: string }> = [
  { field: 'slotSeconds', label: 'Slot length (seconds)' },
  { field: 'postsPerSlot', label: 'Uploads per slot' },
  { field: 'page', label: 'Messages per download (page)' },
];

/**
 * Traffic budget (PROTOCOL-V1.md 4c): instead of polling and posting when something happens, the
 * engine talks to the drop servers in fixed-shape slots, so an observer cannot tell when the user is
 * active. Shows what the chosen preset costs and delays, from the same model the engine's tests
 * check, and which servers cannot pad their answers.
 */
export function TrafficBudgetPanel() {
  const bridge = useSession((s) => s.bridge);
  const identities = useSession((s) => s.identities) ?? [];
  const servers = useSession((s) => s.serverStatus);
  const formId = useId();
  const [loaded, setLoaded] = useState(false);
  const [preset, setPreset] = useState<BudgetPreset>(DEFAULT_TRAFFIC_BUDGET.preset);
  const [custom, setCustom] = useState<Record<CustomField, string>>(asText(DEFAULT_TRAFFIC_BUDGET.custom));
  // Copies per message are set in Network: the figures follow its last save.
  const copies = useSavedSettings((s) => s.settings?.copies) ?? DEFAULT_COPIES;
  const [error, setError] = useState<string | null>(null);
  // A choice made before the stored settings arrived is the user's: the late answer must not undo it.
  const edited = useRef(false);

  useEffect(() => {
    let live = true;
    void bridge?.invoke('settings/get', {}).then((result) => {
      if (!live) return;
      if (!result.ok) return setError(result.error.message);
      useSavedSettings.getState().publish(result.value);
    void tellSettings(database(), result.value);
      if (!edited.current) {
        const budget = result.value.trafficBudget ?? DEFAULT_TRAFFIC_BUDGET;
        setPreset(budget.preset);
        setCustom(asText(budget.custom));
      }
      setLoaded(true);
    });
    return () => {
      live = false;
    };
  }, [bridge]);
  const choosePreset = (value: BudgetPreset) => {
    edited.current = true;
    setPreset(value);
  };

  const parsed = parseCustom(custom);
  const setting: TrafficBudgetSetting | null = typeof parsed === 'string' ? (preset === 'custom' ? null : { preset, custom: DEFAULT_TRAFFIC_BUDGET.custom }) : { preset, custom: parsed };
  const shape = setting ? shapeOf(setting) : null;
  const drops = Math.max(1, new Set(identities.flatMap((identity) => identity.dropUrls)).size);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!bridge) return;
    if (typeof parsed === 'string' && preset === 'custom') return setError(parsed);
    // Custom's numbers are kept while another preset is chosen (when they are valid).
    const trafficBudget: TrafficBudgetSetting = { preset, custom: typeof parsed === 'string' ? DEFAULT_TRAFFIC_BUDGET.custom : parsed };
    setError(null);
    const result = await bridge.invoke('settings/set', { trafficBudget });
    if (!result.ok) return setError(result.error.message);
    useSavedSettings.getState().publish(result.value);
    const status = await bridge.invoke('servers/status', {});
    if (status.ok) useSession.getState().setServerStatus(status.value);
    useUi.getState().notify('info', 'Traffic budget saved.');
  };

  return (
    // Our own message, announced by ErrorText, rather than the browser's tooltip for out-of-range numbers.
    <form className="stack" onSubmit={submit} aria-labelledby={`${formId}-title`} noValidate>
      <h2 id={`${formId}-title`}>Traffic budget</h2>
      <p className="hint">
        On, this app talks to drop servers only in regular slots of the same shape: the same number of uploads (your messages, or
        cover when there are none) and one download of the same size for each of your drops, whether or not anything happens.
        Someone watching the network then cannot tell when you write or receive. It costs data and delays messages.
      </p>
      <fieldset>
        <legend>Traffic budget</legend>
        {BUDGET_PRESETS.map((value) => (
          <label key={value} className="choice">
            <input type="radio" name={`${formId}-preset`} value={value} checked={preset === value} onChange={() => choosePreset(value)} />
            <span>{PRESET_LABELS[value]}</span>
          </label>
        ))}
      </fieldset>
      {preset === 'custom' &&
        CUSTOM_FIELDS.map(({ field, label }) => (
          <div key={field} className="stack">
            <label htmlFor={`${formId}-${field}`}>{label}</label>
            <input
              id={`${formId}-${field}`}
              type="number"
              min={CUSTOM_LIMITS[field].min}
              max={CUSTOM_LIMITS[field].max}
              value={custom[field]}
              onChange={(e) => {
                edited.current = true;
                setCustom({ ...custom, [field]: e.target.value });
              }}
            />
          </div>
        ))}
      {shape ? (
        <Figures figures={budgetFigures(shape, drops)} drops={drops} copies={copies} />
      ) : (
        preset === 'off' && (
          <p className="hint">Off: messages go out at once and drops are checked on the interval above (with push where offered), so the timing of your traffic follows your activity.</p>
        )
      )}
      {preset !== 'off' && <UnpaddedServers servers={servers} />}
      <ErrorText message={error} />
      <button type="submit" className="primary" disabled={!loaded}>
        Save traffic budget
      </button>
    </form>
  );
}

function Figures({ figures, drops, copies }: { figures: BudgetFigures; drops: number; copies: number }) {
  const perHour = Math.round(figures.maxSendPerHour);
  const messages = Math.floor(perHour / Math.max(1, copies));
  return (
    <table className="status-table">
      <caption>What this budget costs</caption>
      <tbody>
        <tr>
          <th scope="row">Data per day</th>
          <td>
            {formatMegabytes(figures.totalBytesPerDay)} ({formatMegabytes(figures.upBytesPerDay)} up, {formatMegabytes(figures.downBytesPerDay)} down, for{' '}
            {drops === 1 ? 'one drop' : `${drops} drops`}), {formatMegabytes(figures.bytesPer30Days)} in 30 days
            <span className="hint">Encrypted connections add about {formatMegabytes(figures.handshakeBytesPerDay)} a day: one per request.</span>
          </td>
        </tr>
        <tr>
          <th scope="row">Added delay</th>
          <td>
            About {formatDuration(figures.meanAddedLatencyMs)} per message on average, up to about {formatDuration(figures.maxAddedLatencyMs)}
            <span className="hint">Longer when more messages wait than fit in a slot.</span>
          </td>
        </tr>
        <tr>
          <th scope="row">Most you can send</th>
          <td>
            {count(perHour, 'upload')} an hour: {count(messages, 'message')} an hour with {copies === 1 ? 'one copy' : `${copies} copies`} each
          </td>
        </tr>
      </tbody>
    </table>
  );
}

/** Servers of the user's drops that announced no padding (or no cover): the budget cannot hide what they serve. */
function UnpaddedServers({ servers }: { servers: ServerStatus[] }) {
  const unpadded = servers.filter((s) => s.canPad === false);
  const noCover = servers.filter((s) => s.canCover === false && s.canPad !== false);
  if (unpadded.length === 0 && noCover.length === 0) return null;
  return (
    <div role="status">
      {unpadded.map((s) => (
        <p key={s.serverUrl} className="warning-text">
          This server cannot pad downloads: <span className="mono">{s.serverUrl}</span>. The size of each download from it shows how
          many messages arrived.
        </p>
      ))}
      {noCover.map((s) => (
        <p key={s.serverUrl} className="warning-text">
          This server does not take cover uploads: <span className="mono">{s.serverUrl}</span>.
        </p>
      ))}
    </div>
  );
}

/** "1 message", "2 messages". */
function count(n: number, noun: string): string {
  return `${n.toLocaleString()} ${noun}${n === 1 ? '' : 's'}`;
}

function asText(custom: TrafficBudgetSetting['custom']): Record<CustomField, string> {
  return { slotSeconds: String(custom.slotSeconds), postsPerSlot: String(custom.postsPerSlot), page: String(custom.page) };
}

/** The custom numbers, or what is wrong with them. */
function parseCustom(text: Record<CustomField, string>): TrafficBudgetSetting['custom'] | string {
  const values = {} as TrafficBudgetSetting['custom'];
  for (const { field, label } of CUSTOM_FIELDS) {
    const n = Number(text[field]);
    const { min, max } = CUSTOM_LIMITS[field];
    if (!Number.isInteger(n) || n < min || n > max) return `${label.replace(/ \(.*\)$/, '')} must be a whole number from ${min} to ${max}.`;
    values[field] = n;
  }
  return values;
}
