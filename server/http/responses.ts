/**
 * Response helpers. Every response carries `Cache-Control: no-store`; none ever sets a cookie
 * (PROTOCOL.md section 2).
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

export const NO_STORE = { 'Cache-Control': 'no-store' } as const;

/** A response without a body (204, 304, HEAD answers, 200 to POST). */
export function sendEmpty(res: ServerResponse, status: number, headers?: OutgoingHttpHeaders): void {
  res.setHeader('Cache-Control', 'no-store');
  if (status !== 204 && status !== 304) res.setHeader('Content-Length', '0');
  res.writeHead(status, headers);
  res.end();
}

/**
 * A JSON error `{"error": message}`; for HEAD only the status and headers.
 * With `close`, the connection is closed after the response (used when the body is left unread).
 */
export function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  options: { head?: boolean; close?: boolean; headers?: OutgoingHttpHeaders } = {},
): void {
  const body = JSON.stringify({ error: message });
  const headers: OutgoingHttpHeaders = {
    ...NO_STORE,
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(body)),
    ...options.headers,
  };
  if (options.close) headers.Connection = 'close';
  res.writeHead(status, headers);
  res.end(options.head ? undefined : body);
}
