// `node scripts/long-functions.mjs [--max N] [--check] [dir-or-file ...]`
// Lists every function in the given TypeScript sources (default: src/) whose body spans more
// than N lines (default 100), longest first: file:line, the line count and a name (the
// declaration, the variable or property it is assigned to, or the call it is passed to).
// A nested function counts in its parent's lines too and is listed on its own when long.
// With --check it exits 1 when any function is listed (for CI once src/ is below the bar).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import ts from 'typescript';

const { values, positionals } = parseArgs({
  options: { max: { type: 'string', default: '100' }, check: { type: 'boolean', default: false } },
  allowPositionals: true,
});
const max = Number(values.max);
if (!Number.isInteger(max) || max < 1) throw new Error(`--max must be a positive whole number, got ${values.max}`);
const roots = positionals.length > 0 ? positionals : ['src'];

function listSources(path) {
  if (statSync(path).isFile()) return path.endsWith('.ts') ? [path] : [];
  return readdirSync(path, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => (e.name === 'node_modules' ? [] : listSources(join(path, e.name))));
}

/** A readable name for a function node: its own name, or where it is assigned or passed. */
function nameOf(node) {
  if (node.name !== undefined) return node.name.getText();
  const p = node.parent;
  if (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) return p.name.getText();
  if (ts.isCallExpression(p)) return `<callback of ${p.expression.getText().slice(0, 40)}>`;
  return '<anonymous>';
}

function isFunctionLike(node) {
  return (
    ts.isFunctionDeclaration(node) ||
    ts.isFunctionExpression(node) ||
    ts.isArrowFunction(node) ||
    ts.isMethodDeclaration(node) ||
    ts.isConstructorDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node)
  );
}

const found = [];
for (const file of roots.flatMap(listSources)) {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const visit = (node) => {
    if (isFunctionLike(node) && node.body !== undefined) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = end - start + 1;
      if (lines > max) found.push({ file: relative(process.cwd(), file), line: start + 1, lines, name: nameOf(node) });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}

found.sort((a, b) => b.lines - a.lines || a.file.localeCompare(b.file) || a.line - b.line);
for (const f of found) console.log(`${String(f.lines).padStart(5)}  ${f.file}:${f.line}  ${f.name}`);
console.log(`${found.length} function(s) over ${max} lines in ${roots.join(', ')}`);
if (values.check && found.length > 0) process.exitCode = 1;
