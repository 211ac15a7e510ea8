/**
 * Scenario tests as data: each test/reconcile/scenarios/<name>.json is a short script run in
 * the in-memory world (support/world.ts) with the real planner.
 *
 * Steps, each for one `client`:
 *   {"write": {"path", "content", "mode"?}}   a user writes a file
 *   {"delete": "path"}                        a user deletes a file
 *   {"deleteConflictCopies": "path"}          a user deletes every conflict copy of path (resolves)
 *   {"sync": true}                            a full sync (rounds until the plan is empty)
 *   {"stop": "after-publish"|"before-commit"} one round that stops there (a crash, a full disk)
 *   {"expectPlan": ["kind path", ...]}        the ops the next round would run (nothing executed)
 *   {"ignore": ".bmignore rules"}             replaces the client's ignore rules
 *   {"subscriptions": ["folder/", ...]}       replaces the client's subscriptions
 *   {"unreadable": ["folder", ...]}           what the client's scan reports as unreadable
 * `expect` holds the final state: every client's tree (path -> bytes, conflict copies
 * included), the open conflicts and notices of each client's final (empty) plan, and the
 * cloud log, versions labelled v1, v2, ... in publishing order.
 *
 * Golden mode: `UPDATE_GOLDEN=1 npx vitest run test/reconcile/scenarios.test.ts` rewrites
 * every `expectPlan` and `expect` from what the code does now. Review the diff before
 * committing it: a golden is a decision, not a snapshot to wave through.
 *
 * ADR-0001 holds the decision table; every table row names one scenario file and every file
 * is named by a row (checked below).
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../src/reconcile/plan-sync.js';
import {
  computeClientName,
  computeTree,
  computeVersionBytes,
  computeVersionLabels,
  createWorld,
  deleteUserFile,
  mustClient,
  planRound,
  setIgnoreRules,
  sync,
  syncRound,
  writeUserFile,
  type RoundStop,
  type World,
} from './support/world.js';

type Step = { readonly client: string } & (
  | { readonly write: { readonly path: string; readonly content: string; readonly mode?: number } }
  | { readonly delete: string }
  | { readonly deleteConflictCopies: string }
  | { readonly sync: true }
  | { readonly stop: RoundStop }
  | { expectPlan: string[] }
  | { readonly ignore: string }
  | { readonly subscriptions: string[] }
  | { readonly unreadable: string[] }
);

interface Expected {
  readonly trees: Record<string, Record<string, string>>;
  readonly conflicts: Record<string, string[]>;
  readonly notices: Record<string, string[]>;
  readonly log: string[];
}

interface Scenario {
  readonly description: string;
  readonly clients: string[];
  readonly steps: Step[];
  expect?: Expected;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.join(here, 'scenarios');
const adrFile = path.join(here, '..', '..', 'docs', 'adr', '0001-reconcile-decision-table.md');
const updateGolden = process.env['UPDATE_GOLDEN'] === '1';
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort();

function formatOps(plan: Plan): string[] {
  return plan.ops.map((o) => `${o.kind} ${o.path}`);
}

function formatLog(world: World): string[] {
  const label = computeVersionLabels(world);
  const name = computeClientName(world);
  return world.cloud.map((v) => {
    const bytes = computeVersionBytes(world, v);
    const content = bytes === undefined ? (v.type === 'tombstone' ? '' : ' (deleted)') : ` ${JSON.stringify(bytes)}`;
    const replaces = v.replaces.length > 0 ? ` replaces ${v.replaces.map(label).join(',')}` : '';
    return `${label(v.id)} ${name(v.client)} ${v.type} ${v.path}${content}${replaces}`;
  });
}

async function runStep(world: World, step: Step): Promise<void> {
  const client = mustClient(world, step.client);
  if ('write' in step) {
    if (!writeUserFile(world, step.client, step.write.path, step.write.content, step.write.mode))
      throw new Error(`cannot write ${step.write.path}: file/folder clash`);
  } else if ('delete' in step) {
    if (!deleteUserFile(world, step.client, step.delete)) throw new Error(`no file ${step.delete} to delete`);
  } else if ('deleteConflictCopies' in step) {
    const copies = [...client.base.values()].filter((b) => b.copyOf?.path === step.deleteConflictCopies);
    if (copies.length === 0) throw new Error(`no conflict copies of ${step.deleteConflictCopies}`);
    for (const c of copies) deleteUserFile(world, step.client, c.path);
  } else if ('sync' in step) {
    await sync(world, step.client);
  } else if ('stop' in step) {
    await syncRound(world, step.client, step.stop);
  } else if ('expectPlan' in step) {
    const actual = formatOps(planRound(world, step.client));
    if (updateGolden) step.expectPlan = actual;
    else expect(actual, `plan of ${step.client}`).toEqual(step.expectPlan);
  } else if ('ignore' in step) {
    setIgnoreRules(client, step.ignore);
  } else if ('subscriptions' in step) {
    client.subscriptions = [...step.subscriptions];
  } else if ('unreadable' in step) {
    client.unreadable = [...step.unreadable];
  } else {
    throw new Error(`unknown step ${JSON.stringify(step)}`);
  }
}

function computeExpected(world: World): Expected {
  const label = computeVersionLabels(world);
  const trees: Record<string, Record<string, string>> = {};
  const conflicts: Record<string, string[]> = {};
  const notices: Record<string, string[]> = {};
  for (const name of world.clients.keys()) {
    trees[name] = computeTree(world, name);
    const plan = planRound(world, name);
    expect(formatOps(plan), `${name} is not in sync at the end`).toEqual([]);
    conflicts[name] = plan.conflicts.map(
      (c) => `${c.kind} ${c.path}${c.heads.length > 0 ? `: ${c.heads.map((h) => label(h.id)).join(' > ')}` : ''}`,
    );
    notices[name] = plan.notices.map((n) => `${n.reason} ${n.path}`);
  }
  return { trees, conflicts, notices, log: formatLog(world) };
}

/** JSON with short arrays and objects on one line and non-ASCII escaped (NFC and NFD names stay visible). */
function formatJson(value: unknown, indent = ''): string {
  const flat = JSON.stringify(value).replace(/[\u007f-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (value === null || typeof value !== 'object' || indent.length + flat.length <= 110) return flat;
  const inner = `${indent}  `;
  const items = Array.isArray(value)
    ? value.map((v) => inner + formatJson(v, inner))
    : Object.entries(value).map(([k, v]) => `${inner}${formatJson(k)}: ${formatJson(v, inner)}`);
  const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  return `${open}\n${items.join(',\n')}\n${indent}${close}`;
}

describe('reconcile scenarios (golden files in test/reconcile/scenarios)', () => {
  it.each(files)('%s', async (file) => {
    const full = path.join(dir, file);
    const scenario = JSON.parse(readFileSync(full, 'utf8')) as Scenario;
    const world = createWorld(scenario.clients);
    for (const step of scenario.steps) await runStep(world, step);
    const actual = computeExpected(world);
    if (updateGolden) {
      scenario.expect = actual;
      writeFileSync(full, `${formatJson(scenario)}\n`);
      return;
    }
    expect(scenario.expect, `${file} has no expected result; run with UPDATE_GOLDEN=1`).toBeDefined();
    expect(actual).toEqual(scenario.expect);
  });

  it('every row of the ADR-0001 decision table names a scenario file, and every scenario file is named', () => {
    const adr = readFileSync(adrFile, 'utf8');
    const named = new Set([...adr.matchAll(/scenarios\/([a-z0-9-]+\.json)/g)].map((m) => m[1]));
    expect(
      [...named].filter((f) => !files.includes(f!)),
      'named in the ADR but missing',
    ).toEqual([]);
    expect(
      files.filter((f) => !named.has(f)),
      'scenario files the ADR does not name',
    ).toEqual([]);
  });
});
