/**
 * Every `--json` document the CLI prints, from a real run (the built CLI as a child process on
 * a directory remote): what json-schemas.e2e validates against docs/json/*.schema.json. Each
 * entry names its schema (the command) and what made it, for the failure message.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { expect } from 'vitest';
import { type Client, type CliResult, EXIT, World, expectExit } from './support/cli.js';

export interface Document {
  readonly schema: string;
  readonly what: string;
  readonly json: unknown;
}

/** Runs `args` on `c` with --json, expecting `code`, and records its document for `schema`. */
async function collect(docs: Document[], schema: string, c: Client, args: readonly string[], code: number = EXIT.ok): Promise<CliResult> {
  const r = expectExit(await c.run(...args, '--json'), code);
  expect(r.json, `${args.join(' ')}: one JSON document`).toBeDefined();
  docs.push({ schema, what: `bm-log ${args.join(' ')} --json (exit ${code})`, json: r.json });
  return r;
}

/** Every document kind, from one history on world `w`: init, syncs with a conflict and a resolve, history, gc, service. */
export async function collectDocuments(w: World): Promise<Document[]> {
  const docs: Document[] = [];
  const a = w.client('alice');
  await a.write('notes/plan.md', 'plan v1\n');
  await a.write('bin.dat', Buffer.from([0xff, 0x00, 0x80]));
  await fs.mkdir(a.dir, { recursive: true });
  await collect(docs, 'init', a, ['init', '--create', '--remote', w.remoteUrl, '--name', 'alice', '--no-sync']);
  await collect(docs, 'sync', a, ['sync', '--dry-run']);
  await collect(docs, 'sync', a, ['sync']);
  const b = w.client('bob');
  await fs.mkdir(b.dir, { recursive: true });
  await collect(docs, 'init', b, ['init', '--remote', w.remoteUrl, '--name', 'bob']);
  // Alice created the vault, so she is its admin (ADR-0032): her sync shows bob asking to join; she admits him.
  await collect(docs, 'members', a, ['members']);
  await collect(docs, 'sync', a, ['sync']);
  await collect(docs, 'members-change', a, ['members', 'add', 'bob']);
  // A conflict, seen by status, conflicts and sync, then resolved.
  await a.write('notes/plan.md', 'plan by alice\n');
  await b.write('notes/plan.md', 'plan by bob\n');
  await a.syncOk();
  await collect(docs, 'sync', b, ['sync']);
  await b.write('new.md', 'new\n');
  await collect(docs, 'status', b, ['status']);
  await collect(docs, 'conflicts', b, ['conflicts']);
  await collect(docs, 'sync', b, ['resolve', 'notes/plan.md']);
  await a.rm('bin.dat');
  await a.syncOk();
  await b.syncOk();
  // History.
  const log = await collect(docs, 'log', b, ['log']);
  const events = (log.json as { events: { path: string; version: string; type: string }[] }).events;
  const plan = events.filter((e) => e.path === 'notes/plan.md').at(-1)!;
  const bin = events.find((e) => e.path === 'bin.dat' && e.type === 'put')!;
  await collect(docs, 'log', b, ['log', 'notes/plan.md', '--since', '1h']);
  await collect(docs, 'show', b, ['show', plan.version]);
  await collect(docs, 'diff', b, ['diff', events.filter((e) => e.path === 'notes/plan.md').at(-2)!.version, plan.version]);
  await b.write('notes/plan.md', 'plan by bob, edited here\n');
  await collect(docs, 'diff', b, ['diff', 'notes/plan.md']);
  await b.syncOk();
  // Edits of different lines: a merge, in the sync's plan and in the log.
  await a.syncOk();
  await a.write('merged.md', 'one\ntwo\nthree\nfour\nfive\n');
  await a.syncOk();
  await b.syncOk();
  await a.write('merged.md', 'one by alice\ntwo\nthree\nfour\nfive\n');
  await b.write('merged.md', 'one\ntwo\nthree\nfour\nfive by bob\n');
  await a.syncOk();
  await collect(docs, 'sync', b, ['sync']);
  await collect(docs, 'log', b, ['log', 'merged.md']);
  // A rename on alice while bob edits: a move, and bob's edit sent on to the new name (ADR-0020).
  await a.syncOk();
  await fs.rename(a.abs('merged.md'), a.abs('moved.md'));
  await b.write('merged.md', 'one by alice\ntwo\nthree, by bob\nfour\nfive by bob\n');
  await a.syncOk();
  await collect(docs, 'sync', b, ['sync']);
  await collect(docs, 'log', b, ['log', 'moved.md']);
  await collect(docs, 'show', b, ['show', bin.version]);
  await collect(docs, 'ls', b, ['ls']);
  await collect(docs, 'ls', b, ['ls', '--at', plan.version]);
  await collect(docs, 'restore', b, ['restore', 'notes/plan.md', '--at', plan.version, '--to', path.join(w.base, 'plan-v1.md')]);
  await collect(docs, 'restore', b, ['restore', 'notes/', '--at', 'now', '--dry-run']);
  await collect(docs, 'restore', b, ['restore', 'bin.dat', '--at', bin.version]);
  // Folders, checks, gc.
  await collect(docs, 'unsubscribe', b, ['unsubscribe', 'notes']);
  await collect(docs, 'sync', b, ['subscribe', 'notes']);
  await collect(docs, 'verify', b, ['verify']);
  await collect(docs, 'doctor', b, ['doctor']);
  await collect(docs, 'clients', a, ['clients']);
  await collect(docs, 'gc', a, ['gc', '--dry-run', '--retention', '0s', '--grace', '0s']);
  await collect(docs, 'gc', a, ['gc', '--retention', '0s', '--grace', '0s']);
  await collect(docs, 'checkpoint', a, ['checkpoint']);
  // Members (ADR-0021): in a vault an earlier release made, erin becomes the root admin; carol joins pending here.
  const old = await World.create({ openVault: true });
  try {
    const erin = await old.init('erin');
    await collect(docs, 'members', erin, ['members']);
    await collect(docs, 'members-init', erin, ['members', 'init']);
  } finally {
    await old.cleanup();
  }
  const c = w.client('carol');
  await fs.mkdir(c.dir, { recursive: true });
  expectExit(await c.run('init', '--remote', w.remoteUrl, '--name', 'carol'), EXIT.ok);
  await collect(docs, 'members', a, ['members', 'list']);
  await collect(docs, 'members-change', a, ['members', 'add', 'carol', '--role', 'reader']);
  await collect(docs, 'members-change', a, ['members', 'role', 'carol', 'writer']);
  await collect(docs, 'members-change', a, ['members', 'remove', 'carol']);
  await collect(docs, 'members-invite', a, ['members', 'invite', 'dave']);
  await collect(docs, 'retire', a, ['retire', 'bob']);
  await collect(docs, 'config', a, ['config']);
  await collect(docs, 'config', a, ['config', 'merge', '--pattern', '*.md', '--max-bytes', '4096']);
  await collect(docs, 'service', a, ['service', 'print', 'systemd']);
  await collect(docs, 'service', a, ['service', 'print', 'launchd']);
  // Errors: a usage error (commander's and bm-log's) and a typed failure.
  await collect(docs, 'error', a, ['log', '--since', 'last tuesday'], EXIT.usage);
  await collect(docs, 'error', a, ['sync', '--no-such-flag'], EXIT.usage);
  await collect(docs, 'error', a, ['show', '0000000Z'], EXIT.usage);
  return docs;
}
