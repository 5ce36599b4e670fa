/**
 * Asserts that the built core (the `.` entry of package.json `exports`, ESM and CommonJS, and
 * every chunk they load) imports no `node:*` or other built-in module, nor any package: it must
 * run unchanged in browsers, Deno and Bun. The only Node lookups allowed are the run-time,
 * guarded `process.getBuiltinModule(...)` calls, which are listed for information.
 */
import { readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { parseAst } from 'rollup/parseAst';

const BUILTINS = new Set(builtinModules);

function isBuiltin(specifier) {
  return specifier.startsWith('node:') || BUILTINS.has(specifier) || BUILTINS.has(specifier.split('/')[0]);
}

function walk(node, visit) {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const child of node) walk(child, visit);
    return;
  }
  if (typeof node.type === 'string') visit(node);
  for (const key of Object.keys(node)) {
    if (key !== 'type' && key !== 'start' && key !== 'end') walk(node[key], visit);
  }
}

function literal(node) {
  return node?.type === 'Literal' && typeof node.value === 'string' ? node.value : undefined;
}

/**
 * Collects what one file loads: `{ relative: [...], problems: [...], lookups: [...] }`.
 * Relative specifiers are returned to be followed; anything else is a problem.
 */
function scan(code, file) {
  const ast = parseAst(code);
  const found = { relative: [], problems: [], lookups: [] };
  const consider = (specifier, how) => {
    if (specifier === undefined) {
      found.problems.push(`${file}: ${how} with a computed specifier`);
    } else if (specifier.startsWith('./') || specifier.startsWith('../')) {
      found.relative.push(specifier);
    } else {
      found.problems.push(`${file}: ${how} '${specifier}'${isBuiltin(specifier) ? ' (a Node built-in)' : ' (a package: the core must bundle its dependencies)'}`);
    }
  };
  walk(ast, (node) => {
    switch (node.type) {
      case 'ImportDeclaration':
        consider(literal(node.source), 'imports');
        break;
      case 'ExportAllDeclaration':
      case 'ExportNamedDeclaration':
        if (node.source) consider(literal(node.source), 're-exports from');
        break;
      case 'ImportExpression':
        consider(literal(node.source), 'dynamically imports');
        break;
      case 'CallExpression': {
        const callee = node.callee;
        if (callee.type === 'Identifier' && callee.name === 'require') consider(literal(node.arguments[0]), 'requires');
        if (callee.type === 'MemberExpression' && callee.property?.name === 'getBuiltinModule') {
          found.lookups.push(`${file}: process.getBuiltinModule(${JSON.stringify(literal(node.arguments[0]) ?? '?')})`);
        }
        break;
      }
      default:
    }
  });
  return found;
}

/**
 * @param {string} root - the package root.
 * @param {object} exportsMap - package.json `exports`.
 * @returns {Promise<{ passed: number, failed: number, failures: string[], files: string[], lookups: string[] }>}
 */
export async function checkCoreImports(root, exportsMap) {
  const entry = exportsMap?.['.'];
  const targets = [];
  const collect = (value) => {
    if (typeof value === 'string') {
      if (/\.(c|m)?js$/.test(value)) targets.push(value);
    } else if (value && typeof value === 'object') {
      for (const [condition, nested] of Object.entries(value)) if (condition !== 'types') collect(nested);
    }
  };
  collect(entry);
  const results = { passed: 0, failed: 0, failures: [], files: [], lookups: [] };
  if (targets.length === 0) {
    results.failed++;
    results.failures.push("package.json exports has no JavaScript target for '.'");
    return results;
  }
  const seen = new Set();
  const queue = targets.map((target) => resolve(root, target));
  while (queue.length > 0) {
    const file = queue.shift();
    if (seen.has(file)) continue;
    seen.add(file);
    const name = relative(root, file);
    results.files.push(name);
    let code;
    try {
      code = await readFile(file, 'utf8');
    } catch (error) {
      results.failed++;
      results.failures.push(`${name}: cannot read (${error.code ?? error.message}); run the build first`);
      continue;
    }
    const found = scan(code, name);
    results.lookups.push(...found.lookups);
    for (const specifier of found.relative) queue.push(resolve(dirname(file), specifier));
    if (found.problems.length === 0) results.passed++;
    else {
      results.failed++;
      results.failures.push(...found.problems);
    }
  }
  return results;
}
