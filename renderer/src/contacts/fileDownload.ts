/** Offers data to the user as a file download (the browser or Electron shows its save dialog). */
export function downloadFile(fileName: string, data: Blob | string, type = 'application/octet-stream'): void {
  const blob = typeof data === 'string' ? new Blob([data], { type }) : data;
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.rel = 'noopener';
  document.body.append(link);
  link.click();
  link.remove();
  // The download has started once click() returns; the URL only needs to live until then, with margin.
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}
