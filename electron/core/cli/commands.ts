/** The CLI's commands: `id new`, `id card`, `send`, `fetch`. Each prints its result to stdout. */
import { randomUUID } from 'node:crypto';
import { access, readFile, stat, writeFile } from 'node:fs/promises';
import type { EventMap, IncomingMessage, Receipt } from '../../../shared/ipc/contract.js';
import { type Contact, parseContactInput } from '../../../shared/protocol/contacts.js';
import { revealUnsafe } from '../../../shared/text/untrustedText.js';
import { asApiFailure } from '../api/protocolFailure.js';
import { type CliEngine, type CliEngineOptions, importIdentityFile, openCliEngine } from './cliEngine.js';
import { CliError } from './cliError.js';
import { downloadInto, fileOf, outcomeOf, progressLine, stageFile } from './fileCommands.js';
import { formatFetchCursor, parseFetchCursor } from './fetchCursor.js';
import { readNewPassphrase, readPassphrase } from './passphrase.js';

export type Print = (line: string) => void;

/** The `identities/export` request's minimum, checked up front so the user hears it before any work. */

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new CliError(`Cannot read the ${what} ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); check the path and its permissions.`);
  }
}

async function withEngine<T>(work: (cli: CliEngine) => Promise<T>, options: CliEngineOptions = {}): Promise<T> {
  const cli = await openCliEngine(options);
  try {
    return await work(cli);
  } finally {
    await cli.close();
  }
}

async function withIdentity<T>(idFile: string, work: (cli: CliEngine, identityId: string) => Promise<T>, options: CliEngineOptions = {}): Promise<T> {
  const backup = await readText(idFile, 'identity file');
  const passphrase = await readPassphrase(`Passphrase for ${idFile}: `);
  return withEngine(async (cli) => {
    const identity = await importIdentityFile(cli, backup, passphrase).catch((err: unknown) => {
      throw new CliError(`${idFile}: ${err instanceof Error ? err.message : 'not a readable identity file'}`);
    });
    return work(cli, identity.id);
  }, options);
}

export async function idNew(args: { alias: string; server: string; out: string; bits: number }, print: Print): Promise<void> {
  if (await exists(args.out)) throw new CliError(`${args.out} already exists; choose another --out file.`);
  const passphrase = await readNewPassphrase('Passphrase for the new identity file: ');
  await withEngine(async (cli) => {
    const identity = await cli.call('identities/create', { alias: args.alias, serverUrl: args.server, dropBits: args.bits });
    const backup = await cli.call('identities/export', { identityId: identity.id, passphrase });
    try {
      await writeFile(args.out, backup.content, { flag: 'wx', mode: 0o600 });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new CliError(code === 'EEXIST' ? `${args.out} already exists; it was not overwritten.` : `Cannot write ${args.out}: ${code}.`);
    }
    print((await cli.call('identities/contactCard', { identityId: identity.id })).contactString);
  });
}

export async function idCard(args: { id: string; qco?: string }, print: Print): Promise<void> {
  await withIdentity(args.id, async (cli, identityId) => {
    const card = await cli.call('identities/contactCard', { identityId });
    if (args.qco) await writeFile(args.qco, card.qco, { mode: 0o644 });
    print(card.contactString);
  });
}

async function readContacts(source: string): Promise<Contact[]> {
  const text = source.trimStart().startsWith('QABELCONTACT') ? source : await readText(source, 'contact file');
  try {
    return asApiFailure(() => parseContactInput(text));
  } catch (err) {
    throw new CliError(`${source.startsWith('QABELCONTACT') ? 'The contact string' : source}: ${(err as Error).message}`);
  }
}

async function readContact(to: string) {
  const contacts = await readContacts(to);
  if (contacts.length !== 1) {
    throw new CliError(`The contact file holds ${contacts.length} contacts; pass a file with one contact, or that contact's QABELCONTACT string.`);
  }
  return contacts[0]!;
}

export async function send(args: { id: string; to: string; text?: string; file?: string }, print: Print): Promise<void> {
  const contact = await readContact(args.to);
  await withIdentity(args.id, async (cli, identityId) => {
    const localId = randomUUID();
    const outcome = outcomeOf(cli, localId);
    const recipient = { publicKey: contact.publicKey, dropUrls: contact.dropUrls };
    let acknowledgeIds: string[] = [];
    if (args.file !== undefined) {
      const staged = await stageFile(cli, args.file, progressLine('reading'));
      const upload = progressLine('uploading');
      cli.engine.subscribe(({ event, payload }) => {
        if (event === 'files/progress' && payload.id === localId && payload.state === 'running') upload(payload.done, payload.total);
      });
      await cli.call('files/send', { stageId: staged.stageId, identityId, localId, recipient, fileName: staged.fileName, mime: staged.mime, text: args.text ?? '', wantReceipt: true });
    } else {
      acknowledgeIds = (await cli.call('messages/send', { identityId, localId, recipient, text: args.text ?? '', wantReceipt: true })).acknowledgeIds;
    }
    const final = await outcome;
    if (final.status !== 'posted') throw new CliError(`Not sent: ${final.error ?? 'the drop server did not take the message'}`);
    // A file's notice is built once its upload is done, so its receipt id is known only now: asking
    // again under the same localId answers with the message already accepted (and sends nothing).
    if (args.file !== undefined) acknowledgeIds = (await cli.call('messages/send', { identityId, localId, recipient, text: '-', wantReceipt: true })).acknowledgeIds;
    for (const ackId of acknowledgeIds) print(ackId);
  }, { trustedServers: contact.dropUrls });
}

/**
 * One tab-separated line per message. Every field a sender controls is written out with its
 * controls visible, so no message can print what looks like a second message, a receipt or a
 * terminal escape; a sender not in a --contacts file is marked unverified, whatever alias it claims.
 */
function describeMessage(message: IncomingMessage, contact: KnownContact | undefined): string {
  const time = new Date(message.sentAt).toISOString();
  const sender = contact ? revealUnsafe(contact.alias) : `${revealUnsafe(message.meta?.alias ?? '-')} (unverified)`;
  const content = message.text != null ? `"${revealUnsafe(message.text)}"` : revealUnsafe(JSON.stringify(message.payload) ?? '');
  return [time, message.senderKey, sender, revealUnsafe(message.type), revealUnsafe(message.acknowledgeId), content].join('\t');
}

interface KnownContact {
  alias: string;
  dropUrls: string[];
}

/**
 * Receipts go only to senders in the `--contacts` files, at the drop URLs those files give: never to
 * a stranger, nor to an address a message claims for itself. The others are withheld (said on stderr).
 */
export async function fetchMessages(
  args: { id: string; since?: string; json: boolean; contacts: string[]; downloadDir?: string },
  print: Print,
  note: Print,
): Promise<void> {
  const known = new Map<string, KnownContact>();
  for (const file of args.contacts) for (const contact of await readContacts(file)) known.set(contact.publicKey, contact);
  if (args.downloadDir !== undefined) await requireFolder(args.downloadDir);
  let withheld = 0;
  let filesWithheld = 0;
  const failedDownloads: string[] = [];
  await withIdentity(args.id, async (cli, identityId) => {
    const { dropUrls } = (await cli.call('identities/list', {})).find((identity) => identity.id === identityId)!;
    const since = args.since === undefined ? null : parseFetchCursor(args.since, dropUrls);
    const batches: EventMap['inbox/batch'][] = [];
    cli.engine.subscribe(({ event, payload }) => {
      if (event === 'inbox/batch') batches.push(payload);
    });
    const cursors = await cli.engine.fetchOnce(since).catch((err: unknown) => {
      throw new CliError(err instanceof Error ? err.message : 'The drop could not be fetched.');
    });
    for (const batch of batches) {
      for (const message of batch.messages) {
        print(args.json ? JSON.stringify({ kind: 'message', ...messageJson(message) }) : describeMessage(message, known.get(message.senderKey)));
      }
      if (args.downloadDir !== undefined) {
        for (const message of batch.messages) {
          const file = fileOf(message);
          if (!file) continue;
          // A stranger's file is not fetched: its size and server are theirs to choose.
          if (!known.has(message.senderKey)) {
            filesWithheld++;
            continue;
          }
          try {
            const path = await downloadInto(cli, args.downloadDir, `cli-${batch.batchId}-${message.dedupeKey}`.slice(0, 128), file);
            print(args.json ? JSON.stringify({ kind: 'file', dedupeKey: message.dedupeKey, path }) : `file\t${revealUnsafe(message.dedupeKey)}\t${revealUnsafe(path)}`);
          } catch (err) {
            failedDownloads.push(`${revealUnsafe(file.name)}: ${err instanceof Error ? err.message : 'not downloaded'}`);
          }
        }
      }
      for (const receipt of batch.receipts) {
        print(args.json ? JSON.stringify({ kind: 'receipt', ...receiptJson(receipt) }) : `receipt\t${receipt.senderKey}\t${revealUnsafe(receipt.acknowledgeId)}`);
      }
      const receipts = [];
      for (const message of batch.messages.filter(asksForReceipt)) {
        const urls = known.get(message.senderKey)?.dropUrls;
        if (urls && urls.length > 0) receipts.push({ dedupeKey: message.dedupeKey, dropUrls: urls.slice(0, MAX_RECEIPT_URLS) });
        else withheld++;
      }
      // Acknowledging sends the receipts named here, and no others.
      await cli.call('inbox/ack', { batchId: batch.batchId, receipts });
    }
    await cli.engine.settled();
    print(`cursor ${formatFetchCursor(dropUrls, cursors)}`);
  }, { trustedServers: [...known.values()].flatMap((contact) => contact.dropUrls) });
  if (withheld > 0) {
    note(`${withheld} receipt${withheld === 1 ? ' was' : 's were'} withheld: receipts are answered only for senders in a --contacts file.`);
  }
  if (filesWithheld > 0) {
    note(`${filesWithheld} file${filesWithheld === 1 ? ' was' : 's were'} not downloaded: files are downloaded only from senders in a --contacts file.`);
  }
  if (failedDownloads.length > 0) {
    for (const failure of failedDownloads) note(failure);
    throw new CliError(`${failedDownloads.length} file${failedDownloads.length === 1 ? '' : 's'} could not be downloaded; fetch again with the same --since to retry.`);
  }
}

async function requireFolder(path: string): Promise<void> {
  const isFolder = await stat(path).then(
    (info) => info.isDirectory(),
    () => false,
  );
  if (!isFolder) throw new CliError(`--download-dir ${path} is not a folder; create it first.`, 2);
}

/** The engine takes this many drop URLs per receipt (its `inbox/ack` schema). */
const MAX_RECEIPT_URLS = 16;

function asksForReceipt(message: IncomingMessage): boolean {
  return message.acknowledgeId !== '0' && message.type !== 'box_ack';
}

function messageJson(m: IncomingMessage) {
  return {
    senderKey: m.senderKey,
    alias: m.meta?.alias ?? null,
    type: m.type,
    text: m.text,
    file: m.content.type === 'box_share_notification' ? { name: m.content.file, size: m.content.size, mime: m.content.mime, openable: m.content.ref !== null } : null,
    sentAt: m.sentAt,
    acknowledgeId: m.acknowledgeId,
    part: m.part,
    dedupeKey: m.dedupeKey,
  };
}

function receiptJson(r: Receipt) {
  return { senderKey: r.senderKey, acknowledgeId: r.acknowledgeId, receivedAt: r.receivedAt };
}
