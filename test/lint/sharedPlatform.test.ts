import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// shared/ compiles without the DOM library, against the few web-platform APIs in shared/platform.d.ts:
// everything else a browser or Node offers must fail to compile there. Probes are compiled in memory
// as a file inside shared/, with tsconfig.shared.json.
const root = process.cwd();
const probeFile = path.join(root, 'shared', '__platformProbe.ts');

function diagnosticLines(code: string): number[] {
  const config = ts.getParsedCommandLineOfConfigFile(path.join(root, 'tsconfig.shared.json'), undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (!config) throw new Error('tsconfig.shared.json did not parse');
  const host = ts.createCompilerHost(config.options);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.readFile = (name) => (path.resolve(name) === probeFile ? code : readFile(name));
  host.fileExists = (name) => path.resolve(name) === probeFile || fileExists(name);
  const program = ts.createProgram({ rootNames: [...config.fileNames, probeFile], options: config.options, host });
  const source = program.getSourceFile(probeFile)!;
  return [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)].map(
    (d) => source.getLineAndCharacterOfPosition(d.start ?? 0).line + 1,
  );
}

describe('shared/ compiles against its declared web-platform APIs only', () => {
  it('has what the protocol code needs', () => {
    const code = [
      "const bytes: Uint8Array = new TextEncoder().encode('a');",
      "const text: string = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);",
      'const random = crypto.getRandomValues(new Uint8Array(8));',
      "const digest: Promise<ArrayBuffer> = crypto.subtle.digest('SHA-256', new Uint8Array(4));",
      "const host: string = new URL('https://example.org/x').hostname;",
      "console.log(text + host);",
      'export { random, digest };',
    ].join('\n');
    expect(diagnosticLines(code)).toEqual([]);
  });

  it('refuses every other DOM and Node global', () => {
    const refused = [
      'document.title',
      'window.location',
      'navigator.userAgent',
      'localStorage.length',
      "fetch('https://example.org')",
      'setTimeout(() => undefined, 1)',
      "process.env['HOME']",
      "Buffer.from('a')",
      "require('node:fs')",
      'crypto.randomUUID()',
      "new URL('x', 'https://example.org')",
      "new URL('https://example.org').searchParams",
      "console.warn('x')",
      'new TextDecoder()',
      'new Blob([])',
    ];
    const code = refused.map((expression, i) => `export const probe${i} = ${expression};`).join('\n');
    const lines = new Set(diagnosticLines(code));
    expect(refused.filter((_, i) => !lines.has(i + 1))).toEqual([]);
  });
});
