/** Test helper: the few HTTP calls the server tests make, over real sockets. */
import { randomBytes } from 'node:crypto';
import { boundaryFromContentType, parseMultipart, type MultipartPart } from '../../shared/protocol/multipart.js';

export const QABEL_AUTH = { Authorization: 'Client Qabel' };

export function newDropId(): string {
  return randomBytes(32).toString('base64url');
}

export async function postMessage(dropUrl: string, body: Uint8Array, headers: Record<string, string> = QABEL_AUTH): Promise<Response> {
  return fetch(dropUrl, {
    method: 'POST',
    body,
    headers: { 'Content-Type': 'application/octet-stream', ...headers },
  });
}

/** POSTs and insists on 200. */
export async function deposit(dropUrl: string, body: Uint8Array): Promise<void> {
  const res = await postMessage(dropUrl, body);
  if (res.status !== 200) throw new Error(`POST answered ${res.status}: ${await res.text()}`);
}

export interface Fetched {
  status: number;
  latest: string | null;
  parts: MultipartPart[];
  response: Response;
}

/** GETs a drop and parses the multipart body (no parts for 204/304). */
export async function fetchDrop(dropUrl: string, headers: Record<string, string> = {}): Promise<Fetched> {
  const response = await fetch(dropUrl, { headers });
  const bytes = new Uint8Array(await response.arrayBuffer());
  let parts: MultipartPart[] = [];
  if (response.status === 200) {
    const boundary = boundaryFromContentType(response.headers.get('content-type'));
    if (!boundary) throw new Error('GET 200 without a multipart boundary');
    parts = parseMultipart(bytes, boundary, { maxParts: 10_000, maxPartBytes: 1 << 20, maxTotalBytes: 64 << 20 });
  }
  return { status: response.status, latest: response.headers.get('x-qabel-latest'), parts, response };
}
