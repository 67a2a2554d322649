#!/usr/bin/env node
// `npm run dist` packs with electron-builder 26, whose native-module rebuild (@electron/rebuild 4)
// needs Node.js 22.12 or newer: say so before a long build fails somewhere inside it.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  console.error(`npm run dist needs Node.js 22.12 or newer (electron-builder's native rebuild); this is ${process.version}.`);
  console.error('Running the app, the server, the CLI and the tests needs only Node.js 20.19+.');
  process.exit(1);
}
