/**
 * Reading and checking drop addresses in the UI. A drop URL is `<server base URL>/<drop ID>`
 * (PROTOCOL.md section 5); the server base URL is everything before the last path segment.
 */

/** The server part of a drop URL, without a trailing slash. */
export function serverOfDrop(dropUrl: string): string {
  const cut = dropUrl.lastIndexOf('/');
  return cut > 0 ? dropUrl.slice(0, cut) : dropUrl;
}

/** The drop ID's first characters: enough to tell drops apart without showing the whole ID. */
export function shortDropId(dropUrl: string): string {
  return `${dropUrl.slice(dropUrl.lastIndexOf('/') + 1).slice(0, 8)}…`;
}

/** Server and the start of the drop ID, for tables that list drops of several servers. */
export function shortDrop(dropUrl: string): string {
  return `${serverOfDrop(dropUrl)}/${shortDropId(dropUrl)}`;
}

/** Server URLs compare equal with or without a trailing slash. */
export function sameServer(a: string, b: string): boolean {
  return a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}

/**
 * An address typed without a scheme gets one: `http://` for this computer and the local network
 * (`127.0.0.1:8080`, `localhost:8080`, `192.168.1.5:8080`: such servers rarely have certificates),
 * `https://` for everything else.
 */
function withScheme(text: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return text;
  const host = text.split(/[/:]/, 1)[0]!.toLowerCase();
  const local = host === 'localhost' || /^(127|10|192\.168|172\.(1[6-9]|2\d|3[01]))\./.test(host) || text.startsWith('[');
  return `${local ? 'http' : 'https'}://${text}`;
}

export type ServerUrlCheck = { ok: true; url: string } | { ok: false; message: string };

/** Checks what the user typed as a drop server address and says how to fix it when it is wrong. */
export function checkServerUrl(input: string): ServerUrlCheck {
  const typed = input.trim();
  if (typed === '') return { ok: false, message: 'Enter the address of a drop server, for example https://drop.example.org.' };
  const text = withScheme(typed);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, message: 'This is not a web address. Write it in full, starting with https:// (for example https://drop.example.org).' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { ok: false, message: 'Drop servers are reached over the web: start the address with https:// (or http:// for a server on this computer).' };
  }
  if (url.search !== '' || url.hash !== '') {
    return { ok: false, message: 'Remove the part from “?” or “#” on: a drop server address has no query or fragment.' };
  }
  if (url.username !== '' || url.password !== '') {
    return { ok: false, message: 'Remove the user name and password from the address: drop servers do not use them.' };
  }
  if (text.length > 1900) return { ok: false, message: 'This address is too long for a drop server.' };
  return { ok: true, url: text.replace(/\/+$/, '') };
}
