import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// DESIGN.md's layout table must be enforced by the linter: every cell of it is probed here, by linting
// in-memory files placed (by name only) in each folder.
const eslint = new ESLint({ cwd: process.cwd() });
const LAYERING = 'deaddrop/layering';

interface Finding {
  ruleId: string | null;
  line: number;
  message: string;
}

async function lint(filePath: string, code: string): Promise<Finding[]> {
  const [result] = await eslint.lintText(code, { filePath });
  const findings = (result?.messages ?? []).map(({ ruleId, line, message }) => ({ ruleId, line, message }));
  // A probe that does not parse proves nothing either way.
  expect(findings.filter((f) => f.ruleId === null), `${filePath} must parse`).toEqual([]);
  return findings;
}

const layeringLines = (findings: Finding[]): number[] => findings.filter((f) => f.ruleId === LAYERING).map((f) => f.line);

/** What a probe imports: a project file (by its path from the repository root) or a bare specifier. */
const targets = {
  'shared/': { file: 'shared/protocol/encoding.ts' },
  'electron/core/': { file: 'electron/core/engine.ts' },
  'electron/workers/': { file: 'electron/workers/nativeBox.ts' },
  'electron/workers/cryptoProtocol.ts': { file: 'electron/workers/cryptoProtocol.ts' },
  'electron/main/': { file: 'electron/main/windowFactory.ts' },
  'electron/preload/': { file: 'electron/preload/preloadApi.ts' },
  'renderer/': { file: 'renderer/src/db/database.ts' },
  'server/ (not index.ts)': { file: 'server/store/sqliteStore.ts' },
  'server/index.ts': { file: 'server/index.ts' },
  'tools/': { file: 'tools/engineHost.ts' },
  'test/': { file: 'test/engine/helpers/craft.ts' },
  'scripts/': { file: 'scripts/nodeBundles.mjs' },
  'node: built-in': { specifier: 'node:fs' },
  'bare built-in': { specifier: 'fs/promises' },
  electron: { specifier: 'electron' },
  'portable package': { specifier: 'zod' },
  'Node package': { specifier: 'ws' },
  'browser package': { specifier: 'react-dom/client' },
  'test package': { specifier: 'vitest' },
  'unlisted package': { specifier: 'left-pad' },
} satisfies Record<string, { file: string } | { specifier: string }>;
type Target = keyof typeof targets;

/** One probe file per folder of the table, and the targets its row allows; every other target is refused. */
const rows: { folder: string; probe: string; allowed: Target[] }[] = [
  { folder: 'shared/', probe: 'shared/protocol/probe.ts', allowed: ['shared/', 'portable package'] },
  {
    folder: 'electron/core/',
    probe: 'electron/core/net/probe.ts',
    allowed: ['shared/', 'electron/core/', 'electron/workers/cryptoProtocol.ts', 'node: built-in', 'bare built-in', 'portable package', 'Node package'],
  },
  {
    folder: 'electron/workers/',
    probe: 'electron/workers/probe.ts',
    allowed: ['shared/', 'electron/workers/', 'electron/workers/cryptoProtocol.ts', 'node: built-in', 'bare built-in', 'portable package'],
  },
  {
    folder: 'electron/main/',
    probe: 'electron/main/probe.ts',
    allowed: ['shared/', 'electron/core/', 'electron/main/', 'server/index.ts', 'node: built-in', 'bare built-in', 'electron', 'portable package'],
  },
  { folder: 'electron/preload/', probe: 'electron/preload/probe.ts', allowed: ['shared/', 'electron/preload/', 'electron', 'portable package'] },
  { folder: 'renderer/', probe: 'renderer/src/chat/probe.ts', allowed: ['shared/', 'renderer/', 'portable package', 'browser package'] },
  {
    folder: 'server/',
    probe: 'server/http/probe.ts',
    allowed: ['shared/', 'server/ (not index.ts)', 'server/index.ts', 'node: built-in', 'bare built-in', 'portable package', 'Node package'],
  },
  {
    folder: 'tools/',
    probe: 'tools/probe.ts',
    allowed: ['shared/', 'electron/core/', 'server/index.ts', 'tools/', 'node: built-in', 'bare built-in', 'portable package', 'Node package'],
  },
  { folder: 'test/', probe: 'test/engine/probe.ts', allowed: Object.keys(targets) as Target[] },
  { folder: 'scripts/', probe: 'scripts/probe.ts', allowed: Object.keys(targets) as Target[] },
];

/** The specifier of `target` as written in `probe`: relative for project files, as in the code base. */
function specifierFor(probe: string, target: Target): string {
  const entry: { file: string } | { specifier: string } = targets[target];
  if ('specifier' in entry) return entry.specifier;
  const relative = path.posix.relative(path.posix.dirname(probe), entry.file).replace(/\.ts$/, '.js');
  return relative.startsWith('.') ? relative : `./${relative}`;
}

/** Every way of loading a module, one per line: lines 1 to 5. */
const loadingForms = (s: string): string =>
  [
    `import * as staticImport from '${s}';`,
    `export * from '${s}';`,
    `export const dynamicImport = () => import('${s}');`,
    `export const required = require('${s}');`,
    `export const staticUse = staticImport;`,
  ].join('\n') + '\n';
const CHECKED_LINES = [1, 2, 3, 4];

describe('layering: every cell of the layout table, by static import, re-export, import() and require()', () => {
  for (const row of rows) {
    describe(row.folder, () => {
      for (const target of Object.keys(targets) as Target[]) {
        const allowed = row.allowed.includes(target);
        it(`${allowed ? 'may' : 'may not'} import ${target}`, async () => {
          const findings = await lint(row.probe, loadingForms(specifierFor(row.probe, target)));
          expect(layeringLines(findings), JSON.stringify(findings)).toEqual(allowed ? [] : CHECKED_LINES);
        });
      }
      const restricted = row.allowed.length < Object.keys(targets).length;
      it(`${restricted ? 'refuses' : 'accepts'} a module name the linter cannot read`, async () => {
        const code = 'export const load = (name: string) => import(name);\nexport const need = (name: string) => require(name);\n';
        expect(layeringLines(await lint(row.probe, code))).toEqual(restricted ? [1, 2] : []);
      });
    });
  }
});

describe('layering: the loopholes of a deny-list stay closed', () => {
  it('counts type-only imports and import() types', async () => {
    const code = "import type { Worker } from 'node:worker_threads';\nexport type W = Worker | typeof import('electron');\n";
    expect(layeringLines(await lint('shared/protocol/probe.ts', code))).toEqual([1, 2]);
  });
  it('counts require() through createRequire in a Node layer', async () => {
    const code = "import { createRequire } from 'node:module';\nconst load = createRequire(import.meta.url);\nexport const app = load('electron');\nexport const ui = createRequire(import.meta.url)('react');\n";
    expect(layeringLines(await lint('electron/core/probe.ts', code))).toEqual([3, 4]);
  });
  it('counts template literals and TypeScript import-equals', async () => {
    const code = "export const a = () => import(`../../electron/main/main.js`);\nimport fs = require('node:fs');\nexport const b = fs;\n";
    expect(layeringLines(await lint('shared/protocol/probe.ts', code))).toEqual([1, 2]);
  });
  it('refuses other URL schemes and paths outside the project', async () => {
    const code = "export const a = () => import('data:text/javascript,export default 1');\nexport const b = () => import('../../../elsewhere/x.js');\n";
    expect(layeringLines(await lint('electron/core/net/probe.ts', code))).toEqual([1, 2]);
  });
  it('refuses a file in a folder the table does not list', async () => {
    expect(layeringLines(await lint('newfolder/probe.ts', 'export const x = 1;\n'))).toEqual([1]);
  });
  it('lets unit tests beside the code use test packages and test/, and nothing else beyond their folder', async () => {
    const allowed = "import { it } from 'vitest';\nimport fc from 'fast-check';\nimport vectors from '../../test/fixtures/qabel-box.json';\nit('runs', () => fc.assert(fc.property(fc.nat(), () => vectors !== null)));\n";
    expect(layeringLines(await lint('shared/protocol/probe.test.ts', allowed))).toEqual([]);
    const refused = "import { readFileSync } from 'node:fs';\nimport { x } from '../../server/index.js';\nexport const y = [readFileSync, x];\n";
    expect(layeringLines(await lint('shared/protocol/probe.test.ts', refused))).toEqual([1, 2]);
    expect(layeringLines(await lint('shared/protocol/probe.ts', "import { it } from 'vitest';\nexport const t = it;\n"))).toEqual([1]);
  });
  it('lets only the worker bootstrap and the command entry points load a computed module name', async () => {
    const code = "import { register } from 'tsx/esm/api';\nexport const start = (entry) => (register(), import(entry));\n";
    expect(layeringLines(await lint('electron/workers/bootstrap.mjs', code))).toEqual([]);
    expect(layeringLines(await lint('electron/workers/cryptoWorker.ts', code))).toEqual([1, 2]);
    expect(layeringLines(await lint('bin/probe.mjs', 'export const run = (url) => import(url);\n'))).toEqual([]);
  });
});

describe('runtime-specific globals in shared/', () => {
  const globalsProbe = async (code: string): Promise<string[]> =>
    (await lint('shared/protocol/probe.ts', code)).map((f) => f.ruleId ?? 'fatal').filter((id) => id.startsWith('no-restricted-'));

  for (const name of ['window', 'document', 'process', 'Buffer', 'require', 'navigator', 'self']) {
    it(`refuses ${name} and globalThis.${name}`, async () => {
      expect(await globalsProbe(`export const x = ${name};\n`)).toEqual(['no-restricted-globals']);
      expect(await globalsProbe(`export const x = globalThis.${name};\n`)).toEqual(['no-restricted-properties']);
    });
  }
  it("refuses globalThis['process'] and destructuring from globalThis", async () => {
    expect(await globalsProbe("export const x = globalThis['process'];\n")).toEqual(['no-restricted-properties']);
    expect(await globalsProbe('const { process: p } = globalThis;\nexport const x = p;\n')).toEqual(['no-restricted-properties']);
  });
  it('accepts the web-platform APIs shared/ is built on', async () => {
    const code = 'export const x = new TextEncoder().encode("a");\nexport const r = globalThis.crypto.getRandomValues(new Uint8Array(4));\n';
    expect(await lint('shared/protocol/probe.ts', code)).toEqual([]);
  });
});

describe('no runtime file switches the layering off', () => {
  const runtimeFolders = ['shared', 'electron', 'renderer', 'server', 'tools', 'bin'];
  const guarded = /deaddrop\/layering|no-restricted-/;
  /** Directives that would exempt a file from the rules above: a bare eslint-disable switches off every rule. */
  function bypasses(text: string): string[] {
    const found: string[] = [];
    for (const m of text.matchAll(/(?:\/\/|\/\*)\s*eslint-disable(?:-next-line|-line)?\b([^\n]*)/g)) {
      const rules = (m[1] ?? '').split('--')[0]!.replace(/\*\/.*$/, '').trim();
      if (rules === '' || guarded.test(rules)) found.push(m[0]);
    }
    for (const m of text.matchAll(/\/\*\s*eslint\s[^*]*\*\//g)) found.push(m[0]);
    return found;
  }

  it('has no inline directive that disables or reconfigures the layering rules', () => {
    const offending: string[] = [];
    for (const folder of runtimeFolders) {
      let names: string[];
      try {
        names = readdirSync(folder, { recursive: true, encoding: 'utf8' });
      } catch {
        continue; // a folder of the table that holds nothing yet
      }
      for (const name of names.filter((n) => /\.(?:[cm]?[jt]sx?)$/.test(n))) {
        const file = path.join(folder, name);
        for (const directive of bypasses(readFileSync(file, 'utf8'))) offending.push(`${file}: ${directive}`);
      }
    }
    expect(offending).toEqual([]);
  });

  it('recognises such directives', () => {
    expect(bypasses('/* eslint-disable */\n')).toHaveLength(1);
    expect(bypasses('// eslint-disable-next-line deaddrop/layering -- because\n')).toHaveLength(1);
    expect(bypasses('/* eslint deaddrop/layering: off */\n')).toHaveLength(1);
    expect(bypasses('// eslint-disable-next-line no-console -- the logger\n')).toEqual([]);
  });
});
