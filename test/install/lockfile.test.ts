/**
 * package-lock.json is complete and matches package.json, so `npm ci` on a fresh clone
 * installs without complaint and `npm install` has nothing to rewrite (issue 24, ADR-0018).
 * npm 11's `npm ci` checks every optional dependency a locked package names, for every
 * platform, and the root entry against package.json; a lock written by an `npm install`
 * over an existing node_modules (npm/cli#4828) recorded only the platforms installed here.
 * `.ci/run` proves the same with a real `npm ci` on a fresh clone; this test needs no network.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../cli/support/cli.js';

interface LockEntry {
  readonly version?: string;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
  readonly peerDependencies?: Readonly<Record<string, string>>;
  readonly peerDependenciesMeta?: Readonly<Record<string, { optional?: boolean }>>;
  readonly [k: string]: unknown;
}

const readJson = (file: string): any => JSON.parse(readFileSync(path.join(REPO_ROOT, file), 'utf8'));
const pkg = readJson('package.json');
const lock = readJson('package-lock.json') as { lockfileVersion: number; packages: Record<string, LockEntry> };

/** Where Node (and npm) find `name` required from the package at lock key `from`: the nearest node_modules up the tree. */
function resolveInLock(from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const key = base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`;
    if (lock.packages[key] !== undefined) return key;
    if (base === '') return undefined;
    const cut = base.lastIndexOf('/node_modules/');
    base = cut < 0 ? '' : base.slice(0, cut);
  }
}

/** `./bin/x` and `bin/x` name the same file; npm records the latter. */
const normalizeBin = (bin: Record<string, string>) => Object.fromEntries(Object.entries(bin).map(([k, v]) => [k, v.replace(/^\.\//, '')]));

describe('package-lock.json', () => {
  it('is a v3 lock whose root entry is package.json (dependencies, bin, engines)', () => {
    expect(lock.lockfileVersion).toBe(3);
    const root = lock.packages[''] as Record<string, unknown>;
    expect(root['name']).toBe(pkg.name);
    expect(root['version']).toBe(pkg.version);
    expect(root['dependencies']).toEqual(pkg.dependencies);
    expect(root['devDependencies']).toEqual(pkg.devDependencies);
    expect(root['engines']).toEqual(pkg.engines);
    expect(normalizeBin(root['bin'] as Record<string, string>)).toEqual(normalizeBin(pkg.bin));
  });

  it('records every dependency a locked package names, optional platform packages of every platform included', () => {
    const missing: string[] = [];
    let optionalChecked = 0;
    for (const [key, entry] of Object.entries(lock.packages)) {
      if (key.startsWith('node_modules/') === false && key !== '') continue; // links and workspaces: none here
      const optional = Object.keys(entry.optionalDependencies ?? {});
      optionalChecked += optional.length;
      const optionalPeers = new Set(
        Object.entries(entry.peerDependenciesMeta ?? {})
          .filter(([, m]) => m.optional === true)
          .map(([n]) => n),
      );
      const required = [
        ...Object.keys(entry.dependencies ?? {}),
        ...optional,
        ...Object.keys(entry.peerDependencies ?? {}).filter((n) => !optionalPeers.has(n)),
      ];
      for (const name of required) if (resolveInLock(key, name) === undefined) missing.push(`${name} (named by ${key || 'the root'})`);
    }
    // rollup, esbuild and msgpackr-extract name dozens of platform packages between them.
    expect(optionalChecked).toBeGreaterThan(40);
    expect(missing).toEqual([]);
  });
});
