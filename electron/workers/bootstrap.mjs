// Worker bootstrap: when the worker entry is TypeScript (running from source), register tsx first.
// The packaged app points `entry` at a bundled .js file and sets `registerTsx` to false.
import { workerData } from 'node:worker_threads';

if (workerData.registerTsx) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(workerData.entry);
