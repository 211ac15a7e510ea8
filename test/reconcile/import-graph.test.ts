import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/*
 * The import graph of src/ (ADR-0023): no module reaches itself through its imports (type-only
 * imports included: a cycle of types is still a cycle a reader has to untangle), no folder
 * reaches itself through its modules' imports, and the core (src/reconcile) depends on the
 * ports, not on the adapters of src/local. The graph is read with the TypeScript compiler's
 * own import scanner (`ts.preProcessFile`), which sees `import type`, re-exports and `import()`.
 */

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');

function listSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? listSources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Every module of src/ (relative to it) and the modules of src/ it imports. */
function readImportGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of listSources(SRC)) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const deps = info.importedFiles
      .map((i) => i.fileName)
      .filter((name) => name.startsWith('.'))
      .map((name) => path.resolve(path.dirname(file), name).replace(/\.js$/, '.ts'))
      .filter((target) => target.startsWith(SRC) && existsSync(target))
      .map((target) => path.relative(SRC, target));
    graph.set(path.relative(SRC, file), [...new Set(deps)]);
  }
  return graph;
}

/** The strongly connected components with more than one node, or a node importing itself (Tarjan). */
function computeCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(scc.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

/** The graph of src/'s top-level folders (a file directly in src/ is its own node). */
function computeFolderGraph(graph: ReadonlyMap<string, readonly string[]>): Map<string, string[]> {
  const folder = (file: string) => file.split(path.sep)[0]!;
  const out = new Map<string, Set<string>>();
  for (const [file, deps] of graph) {
    const from = folder(file);
    const set = out.get(from) ?? new Set<string>();
    for (const d of deps) if (folder(d) !== from) set.add(folder(d));
    out.set(from, set);
  }
  return new Map([...out].map(([k, v]) => [k, [...v]]));
}

/** The engine's folders: the CLI reaches them through src/api (issue 26, ADR-0028), not directly. */
const ENGINE = ['crypto', 'events', 'gc', 'local', 'members', 'merge', 'projections', 'reconcile'];

/**
 * Value imports of the engine a CLI module may keep, each with its reason: pure helpers that
 * parse or show (no engine behaviour). Type-only imports are always allowed (they carry no
 * behaviour).
 */
const CLI_ENGINE_ALLOWED: Record<string, string> = {
  'cli/diff-command.ts -> events/sync-path.ts': 'mustSyncPath: checks the PATH argument before the folder is opened',
  'cli/main.ts -> events/sync-path.ts': 'mustSyncPath: checks path arguments while parsing',
  'cli/watch-loop.ts -> events/sync-path.ts': 'isStateDirName: the watcher ignores changes inside .bm-log',
  'cli/watch-loop.ts -> local/fs-tree.ts': "FsTree: the watcher's cheap change detection between rounds (each round syncs through the API)",
  'cli/json-schemas.ts -> reconcile/plan.ts': 'NoticeReason: the enum values the --json schemas list',
  'cli/json-schemas.ts -> reconcile/conflict-notes.ts': 'ConflictKind: the enum values the --json schemas list',
  'cli/sync-command.ts -> local/state-dir.ts': 'stateDirPath: where --json spills a long list of actions',
  'cli/sync-report.ts -> reconcile/applied-ops.ts': "countKinds: counts a dry run's planned actions for display",
};

/** `from -> to` for every import of a module of src/cli that brings values (not only types) from the engine's folders. */
function listCliEngineImports(): string[] {
  const out: string[] = [];
  for (const file of listSources(path.join(SRC, 'cli'))) {
    const src = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
    for (const st of src.statements) {
      if (!(ts.isImportDeclaration(st) || ts.isExportDeclaration(st)) || st.moduleSpecifier === undefined) continue;
      if (!ts.isStringLiteral(st.moduleSpecifier) || !st.moduleSpecifier.text.startsWith('.')) continue;
      if (isTypeOnly(st)) continue;
      const target = path.relative(SRC, path.resolve(path.dirname(file), st.moduleSpecifier.text).replace(/\.js$/, '.ts'));
      if (ENGINE.includes(target.split(path.sep)[0]!)) out.push(`${path.relative(SRC, file)} -> ${target}`.split(path.sep).join('/'));
    }
  }
  return out.sort();
}

/** An import or re-export that brings only types (`import type`, or every named element `type`). */
function isTypeOnly(st: ts.ImportDeclaration | ts.ExportDeclaration): boolean {
  if (ts.isExportDeclaration(st)) {
    if (st.isTypeOnly) return true;
    return st.exportClause !== undefined && ts.isNamedExports(st.exportClause) && st.exportClause.elements.every((e) => e.isTypeOnly);
  }
  const clause = st.importClause;
  if (clause === undefined) return false;
  if (clause.isTypeOnly) return true;
  const named = clause.namedBindings;
  return clause.name === undefined && named !== undefined && ts.isNamedImports(named) && named.elements.every((e) => e.isTypeOnly);
}

describe('the import graph of src/ (ADR-0023)', () => {
  const graph = readImportGraph();

  it('finds cycles where there are some (the check itself can fail)', () => {
    const g = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a', 'd']],
      ['d', []],
      ['e', ['e']],
    ]);
    expect(computeCycles(g)).toEqual([['a', 'b', 'c'], ['e']]);
    expect(
      computeCycles(
        new Map([
          ['a', ['b']],
          ['b', []],
        ]),
      ),
    ).toEqual([]);
  });

  it('reads the real graph (the plan stage imports the planner)', () => {
    expect(graph.size).toBeGreaterThan(50);
    expect(graph.get(path.join('reconcile', 'sync', 'plan-round.ts'))).toEqual(
      expect.arrayContaining([path.join('reconcile', 'plan-sync.ts')]),
    );
  });

  it('has no import cycle between modules', () => {
    expect(computeCycles(graph)).toEqual([]);
  });

  it('has no import cycle between folders', () => {
    expect(computeCycles(computeFolderGraph(graph))).toEqual([]);
  });

  it('keeps the core off the adapters: src/reconcile imports nothing from src/local', () => {
    const core = [...graph].filter(([f]) => f.startsWith(`reconcile${path.sep}`));
    const offending = core.flatMap(([f, deps]) => deps.filter((d) => d.startsWith(`local${path.sep}`)).map((d) => `${f} -> ${d}`));
    expect(offending).toEqual([]);
  });

  it('keeps the ports a leaf: ports.ts imports only the event and projection types', () => {
    const deps = graph.get(path.join('reconcile', 'ports.ts')) ?? [];
    expect(deps.filter((d) => !d.startsWith(`events${path.sep}`) && !d.startsWith(`projections${path.sep}`))).toEqual([]);
  });

  it('keeps the CLI a shell over the API: src/cli imports no engine behaviour but the listed exceptions (issue 26)', () => {
    const found = listCliEngineImports();
    // The check can fail: it sees the value imports src/cli does make (main.ts checks paths while parsing).
    expect(found).toContain('cli/main.ts -> events/sync-path.ts');
    expect(found.filter((i) => CLI_ENGINE_ALLOWED[i] === undefined)).toEqual([]);
    // An exception nobody needs any more is removed from the list.
    expect(Object.keys(CLI_ENGINE_ALLOWED).filter((i) => !found.includes(i))).toEqual([]);
  });
});
