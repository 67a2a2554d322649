import { type Channel, isChannel } from './channels.js';
import { type HandlerTable, type ResponseOf, requestSchemas } from './contract.js';
import { type Result, fail, toFailure } from './result.js';

/**
 * Validates an untrusted request against its channel's schema, runs the channel's handler from
 * `table` and returns a Result. The one dispatcher of every transport (Electron IPC for the engine and
 * the shell alike, the WebSocket host, direct calls). A channel the table does not serve (a capability
 * this host lacks, see `app/info`) answers `unavailable`. Never throws.
 */
export async function dispatch<C extends Channel>(table: Partial<HandlerTable>, channel: C, request: unknown): Promise<Result<ResponseOf<C>>>;
export async function dispatch(table: Partial<HandlerTable>, channel: unknown, request: unknown): Promise<Result<unknown>>;
export async function dispatch(table: Partial<HandlerTable>, channel: unknown, request: unknown): Promise<Result<unknown>> {
  if (!isChannel(channel)) return fail('invalid_request', 'Unknown request channel.');
  // Each handler takes its own channel's parsed request; the schema of that channel produced it.
  const handler = table[channel] as ((parsed: unknown) => Promise<unknown>) | undefined;
  if (!handler) return fail('unavailable', `This app does not offer ${channel} here.`);
  const parsed = requestSchemas[channel].safeParse(request ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` (${issue.path.join('.')})` : '';
    return fail('invalid_request', `Invalid request for ${channel}${where}: ${issue?.message ?? 'bad payload'}.`);
  }
  try {
    return { ok: true, value: await handler(parsed.data) };
  } catch (err) {
    return toFailure(err);
  }
}
