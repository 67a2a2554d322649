import { ApiFailure } from '../../shared/ipc/result.js';

/**
 * Re-parses a link the UI wants opened and returns its canonical form, or null unless it is a plain
 * http(s) URL with a host and without credentials. The canonical string (not the caller's) is what
 * reaches the OS, so odd spellings cannot smuggle another scheme or a command-line argument.
 */
export function safeExternalUrl(raw: string): string | null {
  if (raw.length === 0 || raw.length > 4096 || /[\s\0]/.test(raw.trim())) return null;
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (url.hostname === '' || url.username !== '' || url.password !== '') return null;
  return url.href;
}

export type OpenExternal = (url: string) => Promise<void>;

/** The `links/open` handler main puts over core's `{opened:false}`. */
export function createLinkOpener(openExternal: OpenExternal): (request: { url: string }) => Promise<{ opened: boolean }> {
  return async ({ url }) => {
    const safe = safeExternalUrl(url);
    if (safe === null) throw new ApiFailure('bad_input', 'Only http and https links can be opened.');
    await openExternal(safe);
    return { opened: true };
  };
}
