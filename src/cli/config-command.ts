import { Option, type Command } from 'commander';
import { withClient } from '../client/client-queries.js';
import { executeSetMergePolicy, executeShowConfig, type MergePolicyChange, type VaultConfigView } from '../client/vault-config.js';
import { ExitCode } from './exit-codes.js';
import { parseNonNegativeInt, withFolderOptions, type FolderOptions } from './options.js';
import type { Output } from './output.js';

/** `bm-log config merge` flags. */
export interface MergeConfigFlags extends FolderOptions {
  readonly on?: boolean;
  readonly off?: boolean;
  readonly maxBytes?: number;
  readonly patterns?: string[];
  readonly markdownPatterns?: string[];
  readonly reset?: boolean;
}

function describePolicy(v: VaultConfigView): string[] {
  const m = v.merge;
  const from = v.from === null ? 'the defaults (no config event)' : `config event ${v.from.id} by ${v.from.client} (segment ${v.from.seq})`;
  return [
    `merge: ${m.enabled ? 'on' : 'off'}, up to ${m.maxBytes} bytes`,
    `  paths that merge: ${m.patterns.join(' ') || '(none)'}`,
    `  front matter key by key: ${m.markdownPatterns.join(' ') || '(none)'}`,
    `  from ${from}`,
  ];
}

/** `bm-log config`: the vault-wide settings in effect (ADR-0037). */
export async function runConfigShowCommand(o: FolderOptions, out: Output): Promise<number> {
  return withClient(o.dir, async (s) => {
    const v = await executeShowConfig(s.ctx);
    out.result(o.json, { ...v, published: null }, () => describePolicy(v));
    return ExitCode.ok;
  });
}

/** Pure: the change the flags ask for. */
export function computeMergeChange(o: MergeConfigFlags): MergePolicyChange {
  return {
    ...(o.on === true ? { enabled: true } : o.off === true ? { enabled: false } : {}),
    ...(o.maxBytes === undefined ? {} : { maxBytes: o.maxBytes }),
    ...(o.patterns === undefined ? {} : { patterns: o.patterns }),
    ...(o.markdownPatterns === undefined ? {} : { markdownPatterns: o.markdownPatterns }),
    ...(o.reset === true ? { reset: true } : {}),
  };
}

/** `bm-log config merge ...`: publishes a signed config event with the changed merge policy. */
export async function runConfigMergeCommand(o: MergeConfigFlags, out: Output): Promise<number> {
  return withClient(o.dir, async (s) => {
    const r = await executeSetMergePolicy(s.ctx, computeMergeChange(o));
    out.result(o.json, r, () => [
      r.published === null ? 'the merge policy is already so; nothing published' : `published config event ${r.published.id}`,
      ...describePolicy(r),
    ]);
    return ExitCode.ok;
  });
}

const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

/** The repeated `--pattern`/`--markdown-pattern` flags as the lists they replace. */
function withPatternLists(o: MergeConfigFlags & { pattern?: string[]; markdownPattern?: string[] }): MergeConfigFlags {
  return {
    ...o,
    ...(o.pattern === undefined ? {} : { patterns: o.pattern }),
    ...(o.markdownPattern === undefined ? {} : { markdownPatterns: o.markdownPattern }),
  };
}

/** Registers `config` (`config show`) and `config merge`. */
export function registerConfigCommands(program: Command, out: Output, finish: (code: number) => void): void {
  const config = program.command('config').description('vault-wide settings every client follows (signed config events): the merge policy');
  withFolderOptions(config.command('show', { isDefault: true }).description('the settings in effect (the default)')).action(
    async (o: FolderOptions) => finish(await runConfigShowCommand(o, out)),
  );
  withFolderOptions(
    config
      .command('merge')
      .description('change which files merge (published for every client; in a vault with members, admins only)')
      .addOption(new Option('--on', 'merge text files that match the patterns').conflicts('off'))
      .addOption(new Option('--off', 'merge nothing: every concurrent edit stays a conflict'))
      .option('--max-bytes <n>', 'the largest file (ancestor or version) that merges', parseNonNegativeInt('--max-bytes'))
      .option('--pattern <glob>', 'a path that merges (gitignore syntax, `!` excludes); repeat; replaces the list', collect)
      .option('--markdown-pattern <glob>', 'a merging path whose front matter merges key by key; repeat; replaces the list', collect)
      .option('--reset', 'start from the default policy (Markdown and text, 1 MiB)'),
  ).action(async (o: MergeConfigFlags & { pattern?: string[]; markdownPattern?: string[] }) =>
    finish(await runConfigMergeCommand(withPatternLists(o), out)),
  );
}
