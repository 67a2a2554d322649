/** The CLI's commands: `id new`, `id card`, `send`, `fetch`. Each prints its result to stdout. */
import { randomUUID } from 'node:crypto';
import { access, readFile, stat, writeFile } from 'node:fs/promises';
import type { EventMap, IncomingMessage, Receipt } from '../../../shared/ipc/contract.js';
import { CONTACT_STRING_TAG, CONTACT_STRING_V1_TAG, type Contact, formatContactString, formatQco, parseContactInput, validateContact } from '../../../shared/protocol/contacts.js';
import { formatDropUrl, generateDropId } from '../../../shared/protocol/dropId.js';
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

/** The alias and server of `id new`, checked as the card will need them, before anything is asked or written. */
function checkNewIdentity(alias: string, server: string, bits: number): void {
  const trimmed = alias.trim();
  if (trimmed.length === 0 || trimmed.length > MAX_NEW_ALIAS) throw new CliError(`--alias must be 1 to ${MAX_NEW_ALIAS} characters.`, 2);
  let dropUrl: string;
  try {
    dropUrl = formatDropUrl(server, generateDropId(bits));
  } catch {
    throw new CliError(`--server ${server} is not an http:// or https:// address of a drop server (for example https://drop.example.org).`, 2);
  }
  try {
    validateContact({ alias: trimmed, publicKey: '0'.repeat(64), dropUrls: [dropUrl] });
  } catch {
    throw new CliError(`--alias must not contain line breaks or control characters.`, 2);
  }
}

/** The longest name `identities/create` takes. */
const MAX_NEW_ALIAS = 64;

export async function idNew(args: { alias: string; server: string; out: string; bits: number }, print: Print): Promise<void> {
  checkNewIdentity(args.alias, args.server, args.bits);
  if (await exists(args.out)) throw new CliError(`${args.out} already exists; choose another --out file.`);
  const passphrase = await readNewPassphrase('Passphrase for the new identity file: ');
  await withEngine(async (cli) => {
    const identity = await cli.call('identities/create', { alias: args.alias, serverUrl: args.server, dropBits: args.bits });
    // The card first: nothing is written for an identity whose card could not be printed.
    const card = await cardOf(cli, identity.id);
    const backup = await cli.call('identities/export', { identityId: identity.id, passphrase });
    try {
      await writeFile(args.out, backup.content, { flag: 'wx', mode: 0o600 });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new CliError(code === 'EEXIST' ? `${args.out} already exists; it was not overwritten.` : `Cannot write ${args.out}: ${code}.`);
    }
    print(card.contactString);
  });
}

/**
 * The CLI's card: the version-0 forms only (a QABELCONTACT string, a `.qco` without the `deaddrop`
 * field). The app's card (`identities/contactCard`) adds a QR prekey, so that the first message is
 * already forward-secret; but the CLI's engine, and with it that prekey's private half and any session,
 * is deleted when the command ends, so whatever an app sealed to it would never open. A DEADDROP1
 * string cannot be written at all: it exists to carry the prekey.
 */
async function cardOf(cli: CliEngine, identityId: string): Promise<{ contactString: string; qco: string }> {
  const identity = (await cli.call('identities/list', {})).find((candidate) => candidate.id === identityId)!;
  const contact = { alias: identity.alias, publicKey: identity.publicKey, dropUrls: identity.dropUrls };
  return { contactString: formatContactString(contact), qco: formatQco([contact]) };
}

export async function idCard(args: { id: string; qco?: string }, print: Print): Promise<void> {
  await withIdentity(args.id, async (cli, identityId) => {
    const card = await cardOf(cli, identityId);
    if (args.qco) {
      try {
        await writeFile(args.qco, card.qco, { mode: 0o644 });
      } catch (err) {
        throw new CliError(`Cannot write --qco ${args.qco} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); check the path and its permissions.`);
      }
    }
    print(card.contactString);
  });
}

/** Whether `text` is pasted contact code rather than a file name. */
function isContactString(text: string): boolean {
  const start = text.trimStart();
  return start.startsWith(CONTACT_STRING_TAG) || start.startsWith(CONTACT_STRING_V1_TAG);
}

async function readContacts(source: string, flag: string): Promise<Contact[]> {
  const pasted = isContactString(source);
  const text = pasted ? source : await readText(source, 'contact file');
  // An identity file is JSON too, and would otherwise read as a contact without a name.
  if (!pasted && /"format"\s*:\s*"deaddrop-identity/.test(text.slice(0, 4096))) {
    throw new CliError(`${flag} ${source} is an identity file (.qid), not a contact; pass the contact's .qco file or contact code (deaddrop id card --id ${source} prints it).`, 2);
  }
  try {
    return asApiFailure(() => parseContactInput(text));
  } catch (err) {
    throw new CliError(`${flag} ${pasted ? '(the contact code)' : source}: ${(err as Error).message}`);
  }
}

async function readContact(to: string) {
  const contacts = await readContacts(to, '--to');
  if (contacts.length !== 1) {
    throw new CliError(`The contact file holds ${contacts.length} contacts; pass a file with one contact, or that contact's QABELCONTACT string.`);
  }
  return contacts[0]!;
}

export async function send(args: { id: string; to: string; text?: string; file?: string; timeoutMs: number }, print: Print, note: Print): Promise<void> {
  const contact = await readContact(args.to);
  await withIdentity(args.id, async (cli, identityId) => {
    const localId = randomUUID();
    const outcome = outcomeOf(cli, localId, { timeoutMs: args.timeoutMs, note, contact: contact.alias });
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
    if (final.status !== 'posted') {
      // Nothing of it may go out after we said it did not: the engine and its data folder end with this run.
      await cli.call('messages/cancel', { localId }).catch(() => undefined);
      throw new CliError(final.status === 'gaveUp' ? (final.error ?? 'Not sent.') : `Not sent: ${final.error ?? 'the drop server did not take the message'}`);
    }
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
  for (const file of args.contacts) for (const contact of await readContacts(file, '--contacts')) known.set(contact.publicKey, contact);
  if (args.downloadDir !== undefined) await requireFolder(args.downloadDir);
  let withheld = 0;
  let filesWithheld = 0;
  const forwardSecret = new Map<string, string>();
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
        if (message.protocol === 1) forwardSecret.set(message.senderKey, known.get(message.senderKey)?.alias ?? message.meta?.alias ?? message.senderKey.slice(0, 16));
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
  // This run could open a session's first message (keyed with our identity key), but the session
  // ends with the run: whatever the sender writes next in it cannot be read here, nor noticed at all.
  for (const [senderKey, alias] of forwardSecret) {
    note(
      `${revealUnsafe(alias)} (${senderKey.slice(0, 16)}...) wrote in a forward-secret session, which the command-line client cannot keep between runs: ` +
        'their next messages in it will not arrive here. Their app learnt that this identity speaks forward secrecy from an app using it; read this identity in that app, which keeps sessions.',
    );
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
