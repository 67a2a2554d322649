import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// The import rules of DESIGN.md's layout table must be enforced by the linter, so break them on purpose.
const eslint = new ESLint({ cwd: process.cwd() });

async function ruleIds(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => m.ruleId ?? 'fatal');
}

describe('layering lint rules', () => {
  it('rejects node built-ins in shared/', async () => {
    expect(await ruleIds('shared/protocol/bad.ts', "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n")).toContain('no-restricted-imports');
    expect(await ruleIds('shared/protocol/bad.ts', "import path from 'path';\nexport const x = path;\n")).toContain('no-restricted-imports');
  });
  it('rejects electron in shared/, core and server', async () => {
    for (const file of ['shared/bad.ts', 'electron/core/bad.ts', 'electron/workers/bad.ts', 'server/bad.ts']) {
      expect(await ruleIds(file, "import { app } from 'electron';\nexport const x = app;\n")).toContain('no-restricted-imports');
    }
  });
  it('rejects DOM and Node globals in shared/', async () => {
    expect(await ruleIds('shared/bad.ts', 'export const x = window.location.href;\n')).toContain('no-restricted-globals');
    expect(await ruleIds('shared/bad.ts', 'export const x = Buffer.from([]);\n')).toContain('no-restricted-globals');
  });
  it('rejects shared/ reaching into other folders and renderer reaching into core', async () => {
    expect(await ruleIds('shared/protocol/bad.ts', "import { x } from '../../server/db.js';\nexport const y = x;\n")).toContain('no-restricted-imports');
    expect(await ruleIds('renderer/src/bad.ts', "import { x } from '../../electron/core/api.js';\nexport const y = x;\n")).toContain('no-restricted-imports');
  });
  it('accepts a clean shared/ module', async () => {
    expect(await ruleIds('shared/protocol/good.ts', 'export const x = new TextEncoder().encode("a");\n')).toEqual([]);
  });
});
