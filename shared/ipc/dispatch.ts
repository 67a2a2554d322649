import { type ApiHandlers, type Channel, type ResponseOf, channels, requestSchemas } from './contract.js';
import { type Result, fail, toFailure } from './result.js';

export function isChannel(value: unknown): value is Channel {
  return typeof value === 'string' && (channels as string[]).includes(value);
}

/**
 * Validates an untrusted request against its channel's schema, runs the handler and returns a Result.
 * Never throws: every transport (IPC, WebSocket host) calls this at its boundary.
 */
export async function dispatch(
  handlers: ApiHandlers,
  channel: unknown,
  request: unknown,
): Promise<Result<ResponseOf<Channel>>> {
  if (!isChannel(channel)) return fail('invalid_request', 'Unknown request channel.');
  const parsed = requestSchemas[channel].safeParse(request ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` (${issue.path.join('.')})` : '';
    return fail('invalid_request', `Invalid request for ${channel}${where}: ${issue?.message ?? 'bad payload'}.`);
  }
  try {
    const handler = handlers[channel] as (req: unknown) => Promise<ResponseOf<Channel>>;
    return { ok: true, value: await handler(parsed.data) };
  } catch (err) {
    return toFailure(err);
  }
}
