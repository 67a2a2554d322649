import { useEffect, useId, useMemo, useState } from 'react';
import type { EncryptedFileRef } from '../../../shared/ipc/contract.js';
import type { EngineBridge } from '../bridge/transport.js';
import { database } from '../db/database.js';
import type { ContactRecord, ContactStatus, MessageRecord } from '../db/records.js';
import { ErrorText } from '../components/ErrorText.js';
import { useLiveQuery } from '../db/useLiveQuery.js';
import { LinkifiedText } from '../chat/LinkifiedText.js';
import { useCapability, useSession } from '../stores/sessionStore.js';
import { useFileSettings } from './fileSettings.js';
import { formatBytes, formatProgress } from './formatBytes.js';
import { isInlineImageType, shouldAutoDownload, sniffImageType } from './inlineImages.js';
import {
  type SharedFile,
  cancelDownload,
  downloadIdOf,
  imageWasShown,
  noteImageShown,
  readInlineImage,
  saveDownloadedFile,
  saveDownloadedFileAs,
  sharedFileOf,
  startDownload,
} from './receiveFile.js';
import { canRetryFile, cancelFile, localFileOf, retryFile } from './sendFile.js';
import { type Transfer, useTransfers, watchFileProgress } from './transfers.js';
import './files.css';

/** A shared file in the conversation: ours with its upload, a contact's with download, save and inline image. */
export function FileCard({ message, highlight }: { message: MessageRecord; highlight: string }) {
  const file = useMemo(() => sharedFileOf(message), [message]);
  const bridge = useSession((s) => s.bridge);
  useEffect(() => {
    if (bridge) watchFileProgress(bridge, database());
  }, [bridge]);
  // Undefined while it is read, null when there is no such contact.
  const contact = useLiveQuery<ContactRecord | null | undefined>(
    async () => (await database().contacts.get([message.identityId, message.contactKey])) ?? null,
    [message.identityId, message.contactKey],
    undefined,
  );
  const from = message.direction === 'out' ? 'You' : (contact?.alias ?? 'Contact');
  // Sent from another device of ours (sibling sync): fetched from the blob server as the recipient does.
  const fromSibling = message.direction === 'out' && message.sentFrom !== undefined;
  // Every card has its Save, Download or Cancel: each button is described by its file's name.
  const nameId = useId();
  return (
    <div className="file-card share-notice" data-testid="share-notice">
      <p className="file-head">
        <span aria-hidden="true">📎</span>
        <span className="file-name" title={file.name} data-testid="file-name" id={nameId}>
          {file.name}
        </span>
      </p>
      <p className="file-facts">
        {file.size >= 0 ? formatBytes(file.size) : 'Unknown size'} · from {from}
      </p>
      {file.caption && (
        <p className="message-text" dir="auto">
          <LinkifiedText text={file.caption} highlight={highlight} />
        </p>
      )}
      {message.direction === 'out' && !fromSibling && <LocalImage localId={message.localId} name={file.name} />}
      {message.direction === 'out' && !fromSibling ? (
        bridge && <OutgoingFile message={message} name={file.name} nameId={nameId} bridge={bridge} />
      ) : file.ref === null ? (
        <p className="hint" data-testid="share-unsupported">
          Shared file — this app cannot open files in this format.
        </p>
      ) : contact === undefined ? null : !fromSibling && !isAccepted(contact?.status) ? (
        // Fetching contacts the server the notice names: not before the user accepted the sender.
        <p className="hint" data-testid="share-not-accepted">
          Files are downloaded only from contacts you accepted: accept the request to download this one.
        </p>
      ) : (
        bridge && (
          <IncomingFile
            message={message}
            file={file}
            fileRef={file.ref}
            nameId={nameId}
            bridge={bridge}
            contactStatus={fromSibling ? 'verified' : (contact?.status ?? null)}
          />
        )
      )}
    </div>
  );
}

function isAccepted(status: ContactStatus | undefined): boolean {
  return status === 'accepted' || status === 'verified';
}

/** Our file while it is handed over and uploaded: a bar and Cancel; a failed upload says why, with Try again. */
function OutgoingFile({ message, name, nameId, bridge }: { message: MessageRecord; name: string; nameId: string; bridge: EngineBridge }) {
  const localId = message.localId ?? '';
  const transfer = useTransfers((s) => s.transfers[localId]);
  const active = transfer !== undefined && (transfer.state === 'staging' || transfer.state === 'running');
  if (active && message.status !== 'cancelled') {
    return (
      <div className="stack" data-testid="file-upload">
        <TransferBar transfer={transfer} label={transfer.state === 'staging' ? 'Preparing' : 'Uploading'} name={name} />
        <div className="bubble-actions">
          <button type="button" className="small" aria-describedby={nameId} onClick={() => void cancelFile(bridge, database(), message)}>
            Cancel
          </button>
        </div>
      </div>
    );
  }
  if (message.status === null) {
    // Stored, but never handed over completely: the window was closed or reloaded meanwhile, and the
    // engine forgets a partly staged file. Only the user can hand it over again.
    return (
      <div className="bubble-actions" data-testid="file-interrupted">
        <p className="hint">This file was not handed over completely (the window was closed or reloaded): attach it again to send it.</p>
        <button type="button" className="small" aria-describedby={nameId} onClick={() => void cancelFile(bridge, database(), message)}>
          Cancel
        </button>
      </div>
    );
  }
  if (message.status === 'failed') {
    return (
      <div className="bubble-actions" data-testid="file-failed">
        <p className="error-text" role="alert">
          {message.error ?? 'Sending the file failed.'}
        </p>
        {canRetryFile(localId) ? (
          <>
            <button type="button" className="small" aria-describedby={nameId} onClick={() => void retryFile(bridge, database(), message)}>
              Try again
            </button>
            <button type="button" className="small" aria-describedby={nameId} onClick={() => void cancelFile(bridge, database(), message)}>
              Cancel
            </button>
          </>
        ) : (
          <p className="hint">To send it, attach the file again.</p>
        )}
      </div>
    );
  }
  if (message.status === 'queued' || message.status === 'sending') {
    return (
      <div className="bubble-actions">
        <button type="button" className="ghost small" aria-describedby={nameId} onClick={() => void cancelFile(bridge, database(), message)}>
          Cancel sending
        </button>
      </div>
    );
  }
  return null;
}

interface IncomingFileProps {
  message: MessageRecord;
  file: SharedFile;
  fileRef: EncryptedFileRef;
  nameId: string;
  bridge: EngineBridge;
  contactStatus: ContactStatus | null;
}

/** A contact's file: Download (bar, Cancel, Resume after a failure), then Save, Save as… and images inline. */
function IncomingFile({ message, file, fileRef, nameId, bridge, contactStatus }: IncomingFileProps) {
  const [downloadId, setDownloadId] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    void downloadIdOf(message.id).then((id) => live && setDownloadId(id));
    return () => {
      live = false;
    };
  }, [message.id]);
  const transfer = useTransfers((s) => (downloadId ? s.transfers[downloadId] : undefined));
  const settings = useFileSettings();
  const fileDialogs = useCapability('fileDialogs');
  const image = isInlineImageType(file.mime);
  const automatic =
    settings !== null &&
    shouldAutoDownload({ direction: message.direction, contactStatus, ref: fileRef, mime: file.mime, limitMb: settings.autoDownloadImagesMb });
  const [showClicked, setShowClicked] = useState(false);
  const showImage = downloadId !== null && (showClicked || automatic || imageWasShown(downloadId));
  const [error, setError] = useState<string | null>(null);

  // An image within the user's limit is fetched as soon as its card shows (once: not after a Cancel).
  useEffect(() => {
    if (!automatic || !downloadId || transfer !== undefined) return;
    void startDownload(bridge, downloadId, fileRef);
  }, [automatic, downloadId, transfer, bridge, fileRef]);

  if (!downloadId) return null;
  const download = () => {
    setError(null);
    void startDownload(bridge, downloadId, fileRef);
  };
  const save = async (as: boolean) => {
    setError(null);
    try {
      if (as) await saveDownloadedFileAs(bridge, downloadId, fileRef, file.name);
      else await saveDownloadedFile(bridge, downloadId, fileRef, file.name);
    } catch (err) {
      setError(err instanceof Error ? err.message : 'The file could not be saved.');
    }
  };

  const state = transfer?.state;
  return (
    <div className="stack" data-testid="file-download" data-state={state ?? 'none'}>
      {state === 'running' && <TransferBar transfer={transfer!} label="Downloading" name={file.name} />}
      {state === 'failed' && (
        <div role="alert">
          <p className="error-text">The download stopped: {transfer!.error ?? 'unknown error'}</p>
          <p className="hint">
            Choose Resume once the connection is back: the download goes on where it stopped. If it keeps failing, the sender’s server may
            no longer have the file (files expire there): ask them to send it again.
          </p>
        </div>
      )}
      {state === 'done' && showImage && image && <InlineImage bridge={bridge} id={downloadId} fileRef={fileRef} name={file.name} />}
      <ErrorText message={error} />
      <div className="bubble-actions">
        {(state === undefined || state === 'cancelled') && (
          <button type="button" className="small" aria-describedby={nameId} onClick={download}>
            Download
          </button>
        )}
        {state === 'running' && (
          <button type="button" className="small" aria-describedby={nameId} onClick={() => void cancelDownload(bridge, downloadId, fileRef)}>
            Cancel
          </button>
        )}
        {state === 'failed' && (
          <>
            <button type="button" className="small" aria-describedby={nameId} onClick={download}>
              Resume
            </button>
            <button type="button" className="small" aria-describedby={nameId} onClick={() => void cancelDownload(bridge, downloadId, fileRef)}>
              Cancel
            </button>
          </>
        )}
        {state === 'done' && (
          <>
            <button type="button" className="small" aria-describedby={nameId} onClick={() => void save(false)}>
              Save
            </button>
            {fileDialogs && (
              <button type="button" className="small" aria-describedby={nameId} onClick={() => void save(true)}>
                Save as…
              </button>
            )}
            {image && !showImage && (
              <button type="button" className="small" aria-describedby={nameId} onClick={() => setShowClicked(true)}>
                Show image
              </button>
            )}
          </>
        )}
      </div>
    </div>
  );
}

function TransferBar({ transfer, label, name }: { transfer: Transfer; label: string; name: string }) {
  const total = Math.max(transfer.total, 1);
  return (
    <div role="status" aria-live="off" className="stack">
      <progress aria-label={`${label} ${name}`} max={total} value={Math.min(transfer.done, total)} />
      <p className="hint">
        {label}… {formatProgress(transfer.done, transfer.total)}
      </p>
    </div>
  );
}

/** A downloaded image shown in the bubble, through an object URL that lives as long as the card. */
function InlineImage({ bridge, id, fileRef, name }: { bridge: EngineBridge; id: string; fileRef: EncryptedFileRef; name: string }) {
  const [url, setUrl] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    let made: string | null = null;
    readInlineImage(bridge, id, fileRef).then(
      (blob) => {
        if (!live) return;
        if (blob === null) return setProblem('This file is not an image of a format shown here: save it to open it.');
        noteImageShown(id);
        setUrl((made = URL.createObjectURL(blob)));
      },
      (error: unknown) => live && setProblem(error instanceof Error ? error.message : 'The image could not be read.'),
    );
    return () => {
      live = false;
      if (made) URL.revokeObjectURL(made);
    };
  }, [bridge, id, fileRef]);
  if (problem) return <p className="hint file-image-missing">{problem}</p>;
  if (!url) return null;
  return <img className="file-image" src={url} alt={name} data-testid="inline-image" />;
}

/**
 * An image we send, shown from the file the user chose while it is in memory (this window): the
 * same formats as received ones, checked by their bytes.
 */
function LocalImage({ localId, name }: { localId: string | null; name: string }) {
  const file = localId ? localFileOf(localId) : undefined;
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (!file || !isInlineImageType(file.type)) return;
    let live = true;
    let made: string | null = null;
    void file
      .slice(0, 16)
      .arrayBuffer()
      .then((head) => {
        const type = sniffImageType(new Uint8Array(head));
        if (live && type) setUrl((made = URL.createObjectURL(file.slice(0, file.size, type))));
      });
    return () => {
      live = false;
      if (made) URL.revokeObjectURL(made);
    };
  }, [file]);
  if (!url) return null;
  return <img className="file-image" src={url} alt={name} data-testid="sent-image" />;
}
