import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/*
 * One executor of plans (issue 21, ADR-0023): the CLI engine, the reconcile world, the
 * simulation and the end-to-end suites all carry plans out through `executePlan`
 * (src/reconcile/sync/execute-plan.ts). A second executor would let a test pass on semantics
 * the engine does not have, as test/reconcile/support/world.ts once did with its own.
 *
 * The check reads every source file of the project with the TypeScript parser and finds
 * dispatches on plan op kinds: a `switch` with a case label, or an `if` or `?:` whose condition
 * compares something with `=== '<kind>'`, for a kind of `PlanOp`. A dispatch whose branch for
 * such a kind makes an effect (writes or removes a file, commits a manifest, stores or reads a
 * blob, or changes a map named tree, files, base, manifest or blobs) is an executor. Only
 * execute-plan.ts may hold one. Dispatches that only format, count or journal ops are fine.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const EXECUTOR = 'src/reconcile/sync/execute-plan.ts';
/** Calls that change a tree, an index or a store (the ports' writers, the doubles' user edits, blob I/O). */
const EFFECT_CALLS = new Set([
  'writeFile',
  'removeFile',
  'commitBatch',
  'putIfAbsent',
  'writeBlob',
  'readBlob',
  'userWrite',
  'userDelete',
  'userRename',
  'writeUserFile',
  'deleteUserFile',
  'putFile',
]);
/** `<receiver>.set/delete/add/clear(...)` on a receiver ending in one of these names changes state an executor owns. */
const STATE_MAPS = /(^|\.)(tree|files|base|manifest|blobs)$/i;

function listSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : listSources(p);
    return /\.(ts|mts|js|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** The kinds of `PlanOp`, read from its declaration in src (so a new kind is covered the day it appears). */
function readOpKinds(): Set<string> {
  const kinds = new Set<string>();
  for (const file of listSources(path.join(ROOT, 'src'))) {
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (n: ts.Node, inPlanOp: boolean): void => {
      const here = inPlanOp || (ts.isTypeAliasDeclaration(n) && n.name.text === 'PlanOp');
      const isKind = here && ts.isPropertySignature(n) && n.name.getText(sf) === 'kind' && n.type !== undefined;
      if (isKind && ts.isLiteralTypeNode(n.type!) && ts.isStringLiteral(n.type.literal)) kinds.add(n.type.literal.text);
      ts.forEachChild(n, (c) => visit(c, here));
    };
    visit(sf, false);
  }
  return kinds;
}

const OP_KINDS = readOpKinds();

/** True when `node` (or anything inside it) makes an effect. */
function makesEffect(node: ts.Node): boolean {
  let found = false;
  const visit = (n: ts.Node): void => {
    if (found) return;
    if (ts.isCallExpression(n)) {
      const callee = n.expression;
      const name = ts.isPropertyAccessExpression(callee) ? callee.name.text : ts.isIdentifier(callee) ? callee.text : '';
      if (EFFECT_CALLS.has(name)) found = true;
      const mutator = ['set', 'delete', 'add', 'clear'].includes(name);
      if (mutator && ts.isPropertyAccessExpression(callee) && STATE_MAPS.test(callee.expression.getText())) found = true;
    }
    ts.forEachChild(n, visit);
  };
  visit(node);
  return found;
}

/** The plan op kinds a condition tests with `=== 'kind'` (or `!==`). */
function testedKinds(condition: ts.Expression): string[] {
  const kinds: string[] = [];
  const visit = (n: ts.Node): void => {
    const isEquality =
      ts.isBinaryExpression(n) &&
      [ts.SyntaxKind.EqualsEqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsEqualsToken].includes(n.operatorToken.kind);
    if (isEquality) for (const side of [n.left, n.right]) if (ts.isStringLiteral(side) && OP_KINDS.has(side.text)) kinds.push(side.text);
    ts.forEachChild(n, visit);
  };
  visit(condition);
  return kinds;
}

/** Every place in `source` that dispatches on a plan op kind and makes an effect in that branch: "line: kinds". */
function findExecutors(fileName: string, source: string): string[] {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const at = (n: ts.Node, kinds: readonly string[]) =>
    found.push(`${fileName}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1} (${[...new Set(kinds)].join(', ')})`);
  const visit = (n: ts.Node): void => {
    if (ts.isSwitchStatement(n)) {
      // A clause's effect may sit in a later clause it falls through to; count the whole switch.
      const kinds = n.caseBlock.clauses.flatMap((c) =>
        ts.isCaseClause(c) && ts.isStringLiteral(c.expression) && OP_KINDS.has(c.expression.text) ? [c.expression.text] : [],
      );
      if (kinds.length > 0 && makesEffect(n.caseBlock)) at(n, kinds);
    } else if (ts.isIfStatement(n) || ts.isConditionalExpression(n)) {
      const kinds = testedKinds(ts.isIfStatement(n) ? n.expression : n.condition);
      const branches = ts.isIfStatement(n) ? [n.thenStatement, n.elseStatement] : [n.whenTrue, n.whenFalse];
      if (kinds.length > 0 && branches.some((b) => b !== undefined && makesEffect(b))) at(n, kinds);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

/** The executor test/reconcile/support/world.ts had before it called executePlan (shortened). */
const OLD_WORLD_EXECUTOR = `
for (const op of plan.ops) {
  switch (op.kind) {
    case 'download':
    case 'writeCopy': {
      if (!sameFile(current(op.path), op.expect)) { note('skipped', op); break; }
      const written = toLocalFile(op.path, putFile(world, client, op.path, bytes, content.mode));
      put.set(op.path, baseRow(written, headIds(op.path), op.version.id));
      break;
    }
    case 'deleteLocal':
    case 'removeCopy':
      client.tree.delete(op.path);
      del.add(op.path);
      break;
  }
}`;

describe('one executor of plans (issue 21)', () => {
  it('the check recognises an executor: the engine’s own and the reconcile world’s old one', () => {
    for (const k of ['upload', 'tombstone', 'resolve', 'download', 'writeCopy', 'deleteLocal', 'removeCopy', 'record', 'forget'])
      expect(OP_KINDS, 'the PlanOp kinds read from src').toContain(k);
    expect(findExecutors(EXECUTOR, readFileSync(path.join(ROOT, EXECUTOR), 'utf8')).length).toBeGreaterThan(0);
    expect(findExecutors('old-world.ts', OLD_WORLD_EXECUTOR)).toEqual(['old-world.ts:3 (download, writeCopy, deleteLocal, removeCopy)']);
    // An if-chain executor is one too.
    expect(findExecutors('if.ts', "if (op.kind === 'deleteLocal') await tree.removeFile(op.path, op.expect);")).toHaveLength(1);
    // Formatting, counting or journalling ops is not executing them.
    expect(findExecutors('fmt.ts', "switch (op.kind) { case 'download': return 'download ' + op.path; }")).toEqual([]);
    expect(findExecutors('note.ts', "if (op.kind === 'download') client.shows.set(op.path, op.version.id);")).toEqual([]);
  });

  it('no file outside execute-plan.ts carries out plan ops (src, test, bench, scripts)', () => {
    const files = ['src', 'test', 'bench', 'scripts'].flatMap((d) => listSources(path.join(ROOT, d)));
    expect(files.length).toBeGreaterThan(100);
    const executors = files
      .map((f) => path.relative(ROOT, f).split(path.sep).join('/'))
      .filter((f) => f !== EXECUTOR)
      .flatMap((f) => findExecutors(f, readFileSync(path.join(ROOT, f), 'utf8')));
    expect(executors, 'plan ops carried out outside executePlan: call executePlan through the ports instead').toEqual([]);
  });
});
