#!/usr/bin/env node
// Runs the drop server from its TypeScript sources: tsx compiles on the fly, so no build step.
import { register } from 'tsx/esm/api';

register();
await import('../server/cli.ts');
