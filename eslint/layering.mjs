// deaddrop/layering: what each folder may import, as allow-lists (DESIGN.md's layout table; the table
// itself is in eslint.config.js). Every way of loading a module counts: static imports, `export … from`,
// `import()`, `require()` (also through `createRequire`), TypeScript's `import x = require()` and
// `import('…')` types. A specifier the linter cannot read (a computed `import(name)`) is refused wherever
// the allow-list is not "everything": what cannot be checked cannot be allowed.
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const NODE_BUILTINS = new Set(builtinModules);
const CODE_EXTENSION = /\.[cm]?[jt]sx?$/;

/** @param {string} specifier */
function isNodeBuiltin(specifier) {
  return specifier.startsWith('node:') || NODE_BUILTINS.has(specifier) || NODE_BUILTINS.has(specifier.split('/')[0]);
}

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. @param {string} specifier */
function packageName(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Project-relative path with forward slashes. @param {string} root @param {string} file */
function projectPath(root, file) {
  return path.relative(root, file).split(path.sep).join('/');
}

/**
 * What a specifier points at: a project path, a Node built-in, a package, or something else
 * (another URL scheme, a `#` subpath import, a path outside the project).
 * @param {string} specifier @param {string} fromFile @param {string} root
 */
function classify(specifier, fromFile, root) {
  if (specifier.startsWith('file:')) {
    try {
      return classifyPath(fileURLToPath(specifier), root);
    } catch {
      return { kind: 'other', label: specifier };
    }
  }
  if (specifier.startsWith('.') || path.isAbsolute(specifier)) {
    return classifyPath(path.resolve(path.dirname(fromFile), specifier), root);
  }
  if (isNodeBuiltin(specifier)) return { kind: 'node', label: specifier };
  if (/^[a-z][a-z\d+.-]*:/i.test(specifier) || specifier.startsWith('#')) return { kind: 'other', label: specifier };
  return { kind: 'package', name: packageName(specifier), label: specifier };
}

/** @param {string} absolute @param {string} root */
function classifyPath(absolute, root) {
  const relative = projectPath(root, absolute);
  if (relative.startsWith('../') || relative === '..') return { kind: 'other', label: absolute };
  return { kind: 'path', path: relative, label: relative };
}

/**
 * @typedef {{ folders?: string[], files?: string[], node?: boolean, packages?: string[], computedImports?: boolean, everything?: boolean }} Allowance
 * @typedef {{ from: string[], may: Allowance }} Layer
 */

/** @param {Allowance[]} allowances @returns {Required<Allowance>} */
function merge(allowances) {
  const merged = { folders: [], files: [], node: false, packages: [], computedImports: false, everything: false };
  for (const a of allowances) {
    merged.folders.push(...(a.folders ?? []));
    merged.files.push(...(a.files ?? []));
    merged.packages.push(...(a.packages ?? []));
    merged.node ||= a.node ?? false;
    merged.computedImports ||= a.computedImports ?? false;
    merged.everything ||= a.everything ?? false;
  }
  return merged;
}

/** The layer of `file`: the longest matching entry wins (an exact file beats its folder). @param {Layer[]} layers @param {string} file */
function layerOf(layers, file) {
  let best = null;
  let bestLength = -1;
  for (const layer of layers) {
    for (const entry of layer.from) {
      const matches = entry.endsWith('/') ? file.startsWith(entry) : file === entry;
      if (matches && entry.length > bestLength) {
        best = { layer, entry };
        bestLength = entry.length;
      }
    }
  }
  return best;
}

/** @param {Required<Allowance>} may @param {{kind: string, path?: string, name?: string}} target */
function allows(may, target) {
  switch (target.kind) {
    case 'node':
      return may.node;
    case 'package':
      return may.packages.includes(target.name);
    case 'path': {
      const file = target.path;
      if (may.folders.some((folder) => file.startsWith(folder))) return true;
      const stem = file.replace(CODE_EXTENSION, '');
      return may.files.some((allowed) => allowed.replace(CODE_EXTENSION, '') === stem);
    }
    default:
      return false;
  }
}

/** @param {Required<Allowance>} may */
function describe(may) {
  const parts = [...may.folders, ...may.files];
  if (may.node) parts.push('Node built-ins');
  if (may.packages.length > 0) parts.push(`packages ${may.packages.join(', ')}`);
  return parts.join('; ');
}

const allowanceSchema = {
  type: 'object',
  properties: {
    folders: { type: 'array', items: { type: 'string', pattern: '/$' } },
    files: { type: 'array', items: { type: 'string' } },
    node: { type: 'boolean' },
    packages: { type: 'array', items: { type: 'string' } },
    computedImports: { type: 'boolean' },
    everything: { type: 'boolean' },
  },
  additionalProperties: false,
};

/** @type {import('eslint').Rule.RuleModule} */
const layering = {
  meta: {
    type: 'problem',
    docs: { description: 'Allow-lists of what each folder may import (DESIGN.md, layout table).' },
    schema: [
      {
        type: 'object',
        properties: {
          root: { type: 'string' },
          layers: {
            type: 'array',
            items: {
              type: 'object',
              properties: { from: { type: 'array', items: { type: 'string' } }, may: allowanceSchema },
              required: ['from', 'may'],
              additionalProperties: false,
            },
          },
          testFiles: { type: 'string' },
          tests: allowanceSchema,
        },
        required: ['root', 'layers'],
        additionalProperties: false,
      },
    ],
    messages: {
      forbidden: "{{layer}} may not import '{{target}}'. It may import: {{allowed}}.",
      computed: '{{layer}} may not load a module whose name the linter cannot read: use a string literal.',
      unlisted: "'{{file}}' is in no layer of the layering table in eslint.config.js: add its folder there with what it may import.",
    },
  },
  create(context) {
    const { root, layers, testFiles, tests } = context.options[0];
    const file = projectPath(root, context.filename);
    if (file.startsWith('../') || path.isAbsolute(file)) return {};
    const match = layerOf(layers, file);
    if (!match) {
      return {
        Program(node) {
          context.report({ node, messageId: 'unlisted', data: { file } });
        },
      };
    }
    const isTest = testFiles !== undefined && new RegExp(testFiles).test(file);
    const may = merge(isTest && tests ? [match.layer.may, tests] : [match.layer.may]);
    if (may.everything) return {};
    const layer = isTest ? `A test in ${match.entry}` : match.entry;
    /** Local names bound to `createRequire(…)`: calling one loads a module like `require` does. */
    const requireAliases = new Set(['require']);

    /** @param {import('estree').Node | null | undefined} source @param {import('estree').Node} node */
    const check = (source, node) => {
      const specifier = literalText(source);
      if (specifier === null) {
        if (!may.computedImports) context.report({ node, messageId: 'computed', data: { layer } });
        return;
      }
      const target = classify(specifier, context.filename, root);
      if (!allows(may, target)) {
        context.report({ node: source ?? node, messageId: 'forbidden', data: { layer, target: target.label, allowed: describe(may) } });
      }
    };

    return {
      ImportDeclaration: (node) => check(node.source, node),
      ExportNamedDeclaration: (node) => node.source && check(node.source, node),
      ExportAllDeclaration: (node) => check(node.source, node),
      ImportExpression: (node) => check(node.source, node),
      TSImportEqualsDeclaration: (node) => {
        if (node.moduleReference.type === 'TSExternalModuleReference') check(node.moduleReference.expression, node);
      },
      TSImportType: (node) => check(node.source ?? node.argument?.literal, node),
      VariableDeclarator: (node) => {
        if (node.id.type === 'Identifier' && isCreateRequireCall(node.init)) requireAliases.add(node.id.name);
      },
      CallExpression: (node) => {
        const callee = node.callee;
        const loads =
          (callee.type === 'Identifier' && requireAliases.has(callee.name)) ||
          (callee.type === 'MemberExpression' && !callee.computed && callee.property.name === 'require' &&
            callee.object.type === 'Identifier' && callee.object.name === 'module') ||
          isCreateRequireCall(callee);
        if (loads) check(node.arguments[0], node);
      },
    };
  },
};

/** The text of a string literal or of a template literal without substitutions; null otherwise. */
function literalText(node) {
  if (!node) return null;
  if (node.type === 'Literal' && typeof node.value === 'string') return node.value;
  if (node.type === 'TemplateLiteral' && node.expressions.length === 0) return node.quasis[0].value.cooked;
  return null;
}

/** `createRequire(…)` or `module.createRequire(…)`. */
function isCreateRequireCall(node) {
  if (!node || node.type !== 'CallExpression') return false;
  const callee = node.callee;
  return (
    (callee.type === 'Identifier' && callee.name === 'createRequire') ||
    (callee.type === 'MemberExpression' && !callee.computed && callee.property.name === 'createRequire')
  );
}

export default { rules: { layering } };
