/**
 * The system Chromium (Debian package `chromium`) that every browser test and benchmark drives:
 * nothing here downloads a browser. As root it needs `--no-sandbox`; the other flags keep it off the
 * (closed) network and the GPU.
 */
export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
];
