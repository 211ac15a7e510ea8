/**
 * `bm-log completion bash|zsh` (issue 24): the script printed by the built CLI, loaded into a
 * real bash, completes the commands and the flags that each command's own `--help` lists.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, expectExit, runCli } from './support/cli.js';

const HAS_ZSH = spawnSync('zsh', ['-c', 'true']).status === 0;
let dir = '';
let bashScript = '';

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bm-log-completion-'));
  await fs.writeFile(path.join(dir, 'notes.md'), '');
  await fs.mkdir(path.join(dir, 'notebook'));
  bashScript = path.join(dir, 'bm-log.bash');
  await fs.writeFile(bashScript, expectExit(await runCli(['completion', 'bash']), EXIT.ok).stdout);
});
afterAll(() => fs.rm(dir, { recursive: true, force: true }));

/** What bash offers for the command line `words` (the last word being completed), run in `dir`. */
function completeInBash(words: readonly string[]): string[] {
  const array = words.map((w) => `'${w}'`).join(' ');
  const script = `source '${bashScript}'; COMP_WORDS=(${array}); COMP_CWORD=${words.length - 1}; _bm_log; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync('bash', ['-c', script], { cwd: dir, encoding: 'utf8' }).split('\n').filter(Boolean).sort();
}

/** The long flags `bm-log CMD --help` lists. */
async function helpFlags(args: readonly string[]): Promise<string[]> {
  const help = expectExit(await runCli([...args, '--help']), EXIT.ok).stdout;
  return [...new Set([...help.matchAll(/^ {2}(?:-\w, )?(--[\w-]+)/gm)].map((m) => m[1]!))].sort();
}

/** The commands `bm-log --help` lists, with their aliases. */
async function helpCommands(): Promise<string[]> {
  const help = expectExit(await runCli(['--help']), EXIT.ok).stdout;
  const block = help.slice(help.indexOf('Commands:'));
  return [...block.matchAll(/^ {2}([\w|-]+)/gm)].flatMap((m) => m[1]!.split('|')).filter((c) => c !== 'help');
}

describe('completion bash', () => {
  it('registers _bm_log for bm-log, with file names as the fallback', () => {
    const out = execFileSync('bash', ['-c', `source '${bashScript}'; complete -p bm-log`], { encoding: 'utf8' });
    expect(out.trim()).toBe('complete -o default -o filenames -F _bm_log bm-log');
  });

  it('completes every command --help lists, by prefix', async () => {
    const commands = await helpCommands();
    expect(commands).toContain('completion');
    expect(completeInBash(['bm-log', ''])).toEqual([...commands, 'help', '--help', '--version'].sort());
    expect(completeInBash(['bm-log', 're'])).toEqual(['resolve', 'restore', 'retire']);
    expect(completeInBash(['bm-log', 'sta'])).toEqual(['status']);
  });

  it("completes each command's flags exactly as its --help lists them", async () => {
    for (const command of await helpCommands()) {
      expect(completeInBash(['bm-log', command, '--']), command).toEqual(await helpFlags([command]));
    }
    expect(completeInBash(['bm-log', 'log', '--s'])).toEqual(['--since']);
    expect(completeInBash(['bm-log', 'restore', 'notes.md', '--at', '2h', '--t'])).toEqual(['--to']);
  });

  it('after a flag taking a path: file names; after another valued flag: nothing; arguments: files or the choices', () => {
    expect(completeInBash(['bm-log', 'sync', '--dir', 'note'])).toEqual(['notebook', 'notes.md']);
    expect(completeInBash(['bm-log', 'restore', 'x', '--to', 'notes'])).toEqual(['notes.md']);
    expect(completeInBash(['bm-log', 'log', '--since', ''])).toEqual([]);
    expect(completeInBash(['bm-log', 'log', 'noteb'])).toEqual(['notebook']);
    expect(completeInBash(['bm-log', 'completion', ''])).toEqual(['bash', 'zsh']);
  });
});

describe('completion zsh', () => {
  it.skipIf(!HAS_ZSH)('parses, and registers _bm_log for bm-log after compinit (skipped where zsh is not installed)', async () => {
    const file = path.join(dir, '_bm-log');
    await fs.writeFile(file, expectExit(await runCli(['completion', 'zsh']), EXIT.ok).stdout);
    execFileSync('zsh', ['-n', file]);
    const out = execFileSync(
      'zsh',
      [
        '-f',
        '-c',
        `autoload -U compinit; compinit -u -d '${dir}/zcompdump'; source '${file}'; print -r -- \${_comps[bm-log]}; functions _bm_log`,
      ],
      {
        encoding: 'utf8',
      },
    );
    expect(out.split('\n')[0]).toBe('_bm_log');
    for (const command of await helpCommands()) expect(out).toContain(`'${command}:`);
    expect(out).toMatch(/'--since\[only events at or after this time/);
  });

  it('an unknown shell is a usage error', async () => {
    expect(expectExit(await runCli(['completion', 'fish']), EXIT.usage).stderr).toMatch(/Allowed choices are bash, zsh/);
  });
});
