/** Rewrites test/v1/vectors/v1-vectors.json (run only when the wire format changes on purpose). */
import { writeFileSync } from 'node:fs';
import { buildVectors } from './vectors.js';

writeFileSync(new URL('./vectors/v1-vectors.json', import.meta.url), `${JSON.stringify(buildVectors(), null, 2)}\n`);
