#!/usr/bin/env node
// The drop server, compiled into dist-node/ (`npm run build:node`; `npm ci` and `npm pack` build it).
import { runBundle } from './runBundle.mjs';

await runBundle('deaddrop-server');
