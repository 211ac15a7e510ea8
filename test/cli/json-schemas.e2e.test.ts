/**
 * Every `--json` document (ADR-0026): docs/json/NAME.schema.json are what `npm run schemas`
 * writes from src/cli/json-schemas.ts, every document the built CLI prints carries
 * `"format": 1` and validates against its schema (ajv, JSON Schema 2020-12, closed objects),
 * and every command that takes --json has a schema.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { JSON_DOCUMENTS, type JsonDocumentName, renderJsonSchema } from '../../src/cli/json-schemas.js';
import { collectDocuments } from './json-documents.js';
import { EXIT, REPO_ROOT, expectExit, runCli, useWorlds } from './support/cli.js';

const { world } = useWorlds();
const DIR = path.join(REPO_ROOT, 'docs', 'json');
const NAMES = Object.keys(JSON_DOCUMENTS) as JsonDocumentName[];

function committed(name: string): string {
  return readFileSync(path.join(DIR, `${name}.schema.json`), 'utf8');
}

describe('--json schemas', () => {
  it('the committed docs/json files are what `npm run schemas` writes (run it after changing a schema)', () => {
    expect(
      readdirSync(DIR)
        .filter((f) => f.endsWith('.schema.json'))
        .sort(),
    ).toEqual(NAMES.map((n) => `${n}.schema.json`).sort());
    for (const name of NAMES)
      expect(committed(name), `docs/json/${name}.schema.json is stale: run npm run schemas`).toBe(renderJsonSchema(name));
  });

  it('every document the CLI prints carries format 1 and validates against its schema; every schema is exercised', async () => {
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    const validators = new Map(NAMES.map((n) => [n, ajv.compile(JSON.parse(committed(n)))]));
    const docs = await collectDocuments(await world());
    for (const d of docs) {
      const validate = validators.get(d.schema as JsonDocumentName);
      expect(validate, d.schema).toBeDefined();
      expect((d.json as { format?: unknown }).format, d.what).toBe(1);
      const ok = validate!(d.json);
      expect(ok ? [] : validate!.errors, `${d.what} against docs/json/${d.schema}.schema.json`).toEqual([]);
    }
    expect([...new Set(docs.map((d) => d.schema))].sort()).toEqual([...NAMES].sort());
    // The check is real: a document with a field the schema does not name, or without its format, fails.
    const log = docs.find((d) => d.schema === 'log')!.json as Record<string, unknown>;
    expect(validators.get('log')!({ ...log, extra: 1 })).toBe(false);
    const { format: _, ...unversioned } = log;
    expect(validators.get('log')!(unversioned)).toBe(false);
  }, 600_000);

  it('bm-log schema NAME prints the committed file; bm-log schema lists the names', async () => {
    for (const name of ['log', 'error'] as const) expect(expectExit(await runCli(['schema', name]), EXIT.ok).stdout).toBe(committed(name));
    const list = expectExit(await runCli(['schema']), EXIT.ok).stdout;
    expect(
      list
        .trimEnd()
        .split('\n')
        .map((l) => l.split(' ')[0]),
    ).toEqual(NAMES);
    expect(expectExit(await runCli(['schema', 'nope']), EXIT.usage).stderr).toMatch(/Allowed choices are init, sync/);
  });

  it('every command that takes --json names its schema', async () => {
    const help = expectExit(await runCli(['--help']), EXIT.ok).stdout;
    const commands = [...help.slice(help.indexOf('Commands:')).matchAll(/^ {2}([\w-]+)/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
    const documented = new Set(Object.values(JSON_DOCUMENTS).flatMap((d) => d.commands as readonly string[]));
    const withJson: string[] = [];
    for (const c of commands) {
      const sub = c === 'service' ? ['service', 'print'] : [c];
      if (/^ {2}--json\b/m.test(expectExit(await runCli([...sub, '--help']), EXIT.ok).stdout)) withJson.push(sub.join(' '));
    }
    expect(withJson.length).toBeGreaterThan(15);
    expect(withJson.filter((c) => !documented.has(c))).toEqual([]);
  }, 300_000);
});
