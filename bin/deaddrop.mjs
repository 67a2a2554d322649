#!/usr/bin/env node
// The `deaddrop` command-line client, compiled into dist-node/ (`npm run build:node`; `npm ci` and `npm pack` build it).
import { runBundle } from './runBundle.mjs';

await runBundle('deaddrop');
