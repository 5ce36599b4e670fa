/**
 * `npm run test:examples`: every `@example` in the JSDoc of lib/ type-checks against the built
 * declarations, as a user of the published package would write it.
 *
 * 1. Each `@example` block of lib/**\/*.ts (its fenced code, or its whole text when it has no
 *    fence) becomes its own ES module under build/examples/ (top-level `await` allowed). The
 *    module imports every public name of 'taskpool', 'taskpool/worker' and 'taskpool/process'
 *    (read from dist/*.d.ts), less the names the example declares or imports itself; these
 *    resolve through the package's own `exports`, to dist/, as they would for a user.
 * 2. The free names examples use (`pool`, `future`, `url`...) come from the explicit preamble
 *    scripts/examples/preamble.ts, by directory; the worker examples' task module is
 *    scripts/examples/tasks.ts.
 * 3. All modules are checked in one `tsc` program (strict). A failure prints as
 *    `lib/file.ts:LINE example N: TSxxxx <message>`, LINE being the line in lib/.
 * 4. scripts/examples/known-failures.txt lists examples known to fail: reported, not counted
 *    as failures. A listed example that passes, or that no example matches, fails the run.
 * 5. Self-check: a deliberately wrong example must fail, or the run fails.
 *
 * Ends with `examples: N passed, N failed`; exits 1 on any failure. Build first
 * (`npm run build`). `--keep` leaves build/examples/ for inspection.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HERE = join(ROOT, 'scripts', 'examples');
const OUT = join(ROOT, 'build', 'examples');
const PREAMBLE = join(HERE, 'preamble.ts');
const KNOWN = join(HERE, 'known-failures.txt');
const keep = process.argv.includes('--keep');

/** The entry points, in the order their names are imported (a name goes to the first that has it). */
const ENTRIES = [
  { specifier: 'taskpool', types: 'dist/index.d.ts' },
  { specifier: 'taskpool/worker', types: 'dist/worker.d.ts' },
  { specifier: 'taskpool/process', types: 'dist/process.d.ts' },
  { specifier: 'taskpool/queue', types: 'dist/queue.d.ts' },
];

/** Every .ts file under `dir`, as paths relative to ROOT with `/` separators, sorted. */
export function sourceFiles(dir) {
  return readdirSync(join(ROOT, dir), { withFileTypes: true })
    .flatMap((entry) => {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) return sourceFiles(path);
      return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
    })
    .sort();
}

/**
 * The `@example` blocks of a source file: `{ file, index, line, code: [{ text, line }],
 * moduleComment }`, `line` being 1-based lines of the file and `moduleComment` whether the
 * comment documents the module (`@module`) rather than a declaration. The block runs to the next tag or the comment's end; its code
 * is what its ``` fences hold, or all of it when it has none.
 */
export function extractExamples(file, text) {
  const examples = [];
  for (const comment of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    const firstLine = text.slice(0, comment.index).split('\n').length;
    const lines = comment[0].split('\n').map((raw, offset) => ({
      text: raw.replace(/^\s*\/\*\*\s?/, '').replace(/\s*\*\/\s*$/, '').replace(/^\s*\*(?: |$)/, ''),
      line: firstLine + offset,
    }));
    for (let i = 0; i < lines.length; i++) {
      if (!/^\s*@example\b/.test(lines[i].text)) continue;
      const start = lines[i].line;
      const body = [];
      let fenced = false;
      for (i++; i < lines.length; i++) {
        if (/^\s*```/.test(lines[i].text)) fenced = !fenced;
        if (!fenced && /^\s*@\w/.test(lines[i].text)) break;
        body.push(lines[i]);
      }
      i--;
      const hasFence = body.some(({ text: line }) => /^\s*```/.test(line));
      const code = [];
      let inside = false;
      for (const entry of body) {
        if (/^\s*```/.test(entry.text)) inside = !inside;
        else if (!hasFence || inside) code.push(entry);
      }
      while (code.length > 0 && code.at(-1).text.trim() === '') code.pop();
      examples.push({ file, index: examples.length + 1, line: start, code, moduleComment: /@module\b/.test(comment[0]) });
    }
  }
  return examples;
}

/** Names a binding pattern declares. */
function bindingNames(name) {
  if (ts.isIdentifier(name)) return [name.text];
  return name.elements.flatMap((element) => (ts.isOmittedExpression(element) ? [] : bindingNames(element.name)));
}

/** Names the top-level statements of `source` declare or import. */
function declaredNames(source) {
  const names = new Set();
  for (const statement of source.statements) {
    if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) for (const name of bindingNames(declaration.name)) names.add(name);
    } else if (ts.isImportDeclaration(statement) && statement.importClause !== undefined) {
      const clause = statement.importClause;
      if (clause.name !== undefined) names.add(clause.name.text);
      const bindings = clause.namedBindings;
      if (bindings !== undefined && ts.isNamespaceImport(bindings)) names.add(bindings.name.text);
      else if (bindings !== undefined) for (const element of bindings.elements) names.add(element.name.text);
    } else if (ts.isImportEqualsDeclaration(statement)) {
      names.add(statement.name.text);
    } else if ('name' in statement && statement.name !== undefined && ts.isIdentifier(statement.name)) {
      names.add(statement.name.text); // function, class, interface, type, enum, namespace
    }
  }
  return names;
}

/** The public names of each entry point, read from its built declarations. */
function entryNames() {
  const taken = new Set();
  return ENTRIES.map(({ specifier, types }) => {
    const path = join(ROOT, types);
    if (!existsSync(path)) throw new Error(`${types} is missing: run \`npm run build\` first`);
    const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest);
    const names = [];
    for (const statement of source.statements) {
      const exported = ts.canHaveModifiers(statement) && ts.getModifiers(statement)?.some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword);
      if (ts.isExportDeclaration(statement) && statement.exportClause !== undefined && ts.isNamedExports(statement.exportClause)) {
        for (const element of statement.exportClause.elements) names.push(element.name.text);
      } else if (exported && 'name' in statement && statement.name !== undefined && ts.isIdentifier(statement.name)) {
        names.push(statement.name.text);
      } else if (exported && ts.isVariableStatement(statement)) {
        for (const declaration of statement.declarationList.declarations) names.push(...bindingNames(declaration.name));
      }
    }
    const own = names.filter((name) => !taken.has(name));
    for (const name of own) taken.add(name);
    return { specifier, names: own };
  });
}

/** The preamble's sections: `[{ prefix, declarations: Map<name, text> }]`, shortest prefix first. */
function readPreamble() {
  const sections = [];
  let current;
  const text = readFileSync(PREAMBLE, 'utf8');
  const source = ts.createSourceFile(PREAMBLE, text, ts.ScriptTarget.Latest, true);
  const scopes = [...text.matchAll(/^\/\/ @scope (\S+)\s*$/gm)].map((match) => ({ prefix: match[1], at: match.index }));
  for (const statement of source.statements) {
    const scope = scopes.filter(({ at }) => at < statement.getStart(source)).at(-1);
    if (scope === undefined) throw new Error(`${relative(ROOT, PREAMBLE)}: a declaration before the first '// @scope' line`);
    if (current?.prefix !== scope.prefix) {
      current = { prefix: scope.prefix, declarations: new Map() };
      sections.push(current);
    }
    const names = ts.isVariableStatement(statement) ? statement.declarationList.declarations.flatMap((d) => bindingNames(d.name)) : [statement.name?.text];
    const statementText = statement.getText(source).replace(/\s*\n\s*/g, ' ');
    for (const name of names) current.declarations.set(name, statementText);
  }
  return sections.sort((a, b) => a.prefix.length - b.prefix.length);
}

/** Known failures: `[{ file, fragment, line, used }]` from known-failures.txt. */
function readKnown() {
  if (!existsSync(KNOWN)) return [];
  return readFileSync(KNOWN, 'utf8')
    .split('\n')
    .map((text, index) => ({ text: text.trim(), line: index + 1 }))
    .filter(({ text }) => text !== '' && !text.startsWith('#'))
    .map(({ text, line }) => {
      const colon = text.indexOf(': ');
      if (colon < 0) throw new Error(`${relative(ROOT, KNOWN)}:${line}: expected '<file>: <text the example contains>'`);
      return { file: text.slice(0, colon), fragment: text.slice(colon + 2), line, used: false };
    });
}

/** A deliberately wrong example: each of its lines must get an error. */
const SELF_CHECK = {
  file: 'lib/self-check.ts',
  index: 1,
  line: 1,
  code: [
    { text: 'const wrong: string = await pool.submit(() => 1); // a Future<number> is no string', line: 1 },
    { text: "pool.submit(work, 'a', 'b'); // one argument too many", line: 2 },
    { text: "await pool.shutdown({ wait: 'yes' }); // wait is a boolean", line: 3 },
  ],
};

function main() {
  const started = performance.now();
  const entries = entryNames();
  const sections = readPreamble();
  const known = readKnown();
  const examples = sourceFiles('lib').flatMap((file) => extractExamples(file, readFileSync(join(ROOT, file), 'utf8')));

  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  copyFileSync(join(HERE, 'tasks.ts'), join(OUT, 'tasks.ts'));

  /** Writes one example's module; returns its path and the number of header lines before the code. */
  const write = (example) => {
    const body = example.code.map(({ text }) => text).join('\n');
    const own = declaredNames(ts.createSourceFile('example.ts', body, ts.ScriptTarget.Latest));
    const header = [];
    for (const { specifier, names } of entries) {
      const wanted = names.filter((name) => !own.has(name));
      if (wanted.length > 0) header.push(`import { ${wanted.join(', ')} } from '${specifier}';`);
    }
    const declarations = new Map();
    for (const { prefix, declarations: scoped } of sections) {
      if (example.file.startsWith(prefix)) for (const [name, text] of scoped) declarations.set(name, text);
    }
    for (const [name, text] of declarations) if (!own.has(name)) header.push(text);
    const path = join(OUT, `${example.file.replace(/\.ts$/, '').replaceAll('/', '_')}-${example.index}.ts`);
    writeFileSync(path, `${header.join('\n')}\n${body}\nexport {};\n`);
    return { path, headerLines: header.length };
  };
  const modules = new Map();
  for (const example of [...examples, SELF_CHECK]) {
    const { path, headerLines } = write(example);
    modules.set(path, { example, headerLines, errors: [] });
  }

  const program = ts.createProgram({
    rootNames: [...modules.keys(), join(OUT, 'tasks.ts')],
    options: {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2023.d.ts', 'lib.esnext.disposable.d.ts'],
      types: ['node'],
      typeRoots: [join(ROOT, 'node_modules', '@types')],
      skipLibCheck: true,
    },
  });
  const stray = [];
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    // The message and its first elaboration: the rest of a long chain repeats the types.
    const chain = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n').split('\n').map((part) => part.trim());
    const message = `TS${diagnostic.code} ${chain.slice(0, 2).join(' ')}${chain.length > 2 ? ' ...' : ''}`;
    const module = diagnostic.file && modules.get(diagnostic.file.fileName.split('/').join(sep));
    if (module === undefined) {
      stray.push(diagnostic.file ? `${relative(ROOT, diagnostic.file.fileName)}: ${message}` : message);
      continue;
    }
    const line = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line; // 0-based
    const codeLine = module.example.code[line - module.headerLines];
    module.errors.push({ line: codeLine?.line, message: codeLine === undefined ? `(in the imports or preamble) ${message}` : message });
  }

  const totals = { passed: 0, failed: 0, known: 0 };
  const failures = [];
  for (const { example, errors } of modules.values()) {
    if (example === SELF_CHECK) continue;
    const where = (line) => `${example.file}:${line ?? example.line} example ${example.index}`;
    const source = example.code.map(({ text }) => text).join('\n');
    const entry = known.find(({ file, fragment }) => file === example.file && source.includes(fragment));
    if (entry !== undefined) entry.used = true;
    if (errors.length === 0) {
      if (entry === undefined) totals.passed++;
      else {
        totals.failed++;
        failures.push(`${where()}: passes but is listed in ${relative(ROOT, KNOWN)} (line ${entry.line}): remove that line`);
      }
    } else if (entry !== undefined) {
      totals.known++;
      for (const { line, message } of errors) console.log(`known ${where(line)}: ${message}`);
    } else {
      totals.failed++;
      for (const { line, message } of errors) failures.push(`${where(line)}: ${message}`);
    }
  }
  for (const entry of known.filter(({ used }) => !used)) {
    totals.failed++;
    failures.push(`${relative(ROOT, KNOWN)}:${entry.line}: no example of ${entry.file} contains '${entry.fragment}': remove that line`);
  }
  const selfCheck = [...modules.values()].find(({ example }) => example === SELF_CHECK);
  const missed = SELF_CHECK.code.filter(({ line }) => !selfCheck.errors.some((error) => error.line === line));
  if (missed.length > 0) {
    totals.failed++;
    failures.push(`self-check: a deliberately wrong example type-checks, so the check proves nothing: ${missed.map(({ text }) => text).join(' | ')}`);
  }
  if (examples.length === 0) {
    totals.failed++;
    failures.push('no @example block found in lib/: the extraction is broken');
  }
  for (const message of stray) {
    totals.failed++;
    failures.push(`outside the examples: ${message}`);
  }

  for (const failure of failures) console.log(failure);
  if (!keep) rmSync(OUT, { recursive: true, force: true });
  else console.log(`example modules kept in ${relative(ROOT, OUT)}`);
  const files = new Set(examples.map(({ file }) => file)).size;
  console.log(
    `${examples.length} @example blocks in ${files} files of lib/, checked against dist/ in ${Math.round(performance.now() - started)} ms; ` +
      `self-check ${missed.length === 0 ? 'ok' : 'FAILED'}${totals.known > 0 ? `; ${totals.known} known failures listed in ${relative(ROOT, KNOWN)}` : ''}`,
  );
  console.log(`examples: ${totals.passed} passed, ${totals.failed} failed`);
  process.exitCode = totals.failed > 0 ? 1 : 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
