import { type Command, Argument } from 'commander';
import { BmError, ErrorCode } from '../errors.js';
import type { Output } from './output.js';

// `bm-log completion bash|zsh`: a completion script generated from the commander program
// itself, so a new command or flag is completed as soon as it is registered. The spec is
// read from the program; the scripts are rendered from the spec (pure).

/** One option as completion needs it. */
export interface OptionSpec {
  readonly flag: string;
  readonly description: string;
  /** Takes a value (`--dir <path>`). */
  readonly takesValue: boolean;
  /** The value is a file or folder name (complete file names). */
  readonly isPath: boolean;
}

/** One positional argument. */
export interface ArgumentSpec {
  readonly name: string;
  readonly required: boolean;
  readonly choices: readonly string[] | undefined;
}

/** One command: its names, options and positional arguments. */
export interface CommandSpec {
  readonly name: string;
  readonly aliases: readonly string[];
  readonly description: string;
  readonly options: readonly OptionSpec[];
  readonly args: readonly ArgumentSpec[];
}

/** Values that name files or folders: completed as file names. */
const PATH_VALUE = /^<(path|file|folder|dir)>$/;

/** Commander adds `--help` to every command without listing it among the options. */
const HELP_OPTION: OptionSpec = { flag: '--help', description: 'display help for command', takesValue: false, isPath: false };

/** The commands of `program` as completion sees them (help included, hidden options not). */
export function computeCompletionSpec(program: Command): CommandSpec[] {
  return program.commands.map((c) => ({
    name: c.name(),
    aliases: c.aliases(),
    description: c.description(),
    options: [
      ...c.options
        .filter((o) => !o.hidden && o.long !== undefined)
        .map((o) => {
          const value = /<[^>]+>|\[[^\]]+\]/.exec(o.flags)?.[0];
          return {
            flag: o.long!,
            description: o.description,
            takesValue: value !== undefined,
            isPath: value !== undefined && PATH_VALUE.test(value),
          };
        }),
      HELP_OPTION,
    ],
    args: c.registeredArguments.map((a) => ({ name: a.name(), required: a.required, choices: a.argChoices })),
  }));
}

/** A word list for a bash `compgen -W` in double quotes: the names are plain (commander flags). */
function words(list: readonly string[]): string {
  return list.join(' ');
}

/** The bash script: `complete -F _bm_log bm-log`, file names where nothing else fits. */
export function renderBashCompletion(spec: readonly CommandSpec[]): string {
  const names = spec.flatMap((c) => [c.name, ...c.aliases]);
  const cases = spec.map((c) => {
    const valued = c.options.filter((o) => o.takesValue);
    const choices = c.args.find((a) => a.choices)?.choices;
    return [
      `    ${[c.name, ...c.aliases].join('|')})`,
      `      opts="${words(c.options.map((o) => o.flag))}"`,
      `      valued="${words(valued.map((o) => o.flag))}"`,
      `      paths="${words(valued.filter((o) => o.isPath).map((o) => o.flag))}"`,
      `      choices="${words(choices ?? [])}"`,
      '      ;;',
    ].join('\n');
  });
  return `# bash completion for bm-log. Load it with: eval "$(bm-log completion bash)" (e.g. in ~/.bashrc),
# or save it as ~/.local/share/bash-completion/completions/bm-log
_bm_log() {
  local cur prev cmd i opts valued paths choices
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  cmd=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in -*) ;; *) cmd="\${COMP_WORDS[i]}"; break ;; esac
  done
  if [[ -z "$cmd" ]]; then
    COMPREPLY=($(compgen -W "${words(names)} help --help --version" -- "$cur"))
    return
  fi
  case "$cmd" in
${cases.join('\n')}
    *) return ;;
  esac
  if [[ " $valued " == *" $prev "* ]]; then
    if [[ " $paths " == *" $prev "* ]]; then COMPREPLY=($(compgen -f -- "$cur")); else COMPREPLY=(); fi
    return
  fi
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif [[ -n "$choices" ]]; then
    COMPREPLY=($(compgen -W "$choices" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -o default -o filenames -F _bm_log bm-log
`;
}

/** Text for inside a zsh `[...]` description or a `name:description` pair, in single quotes. */
function zshText(s: string): string {
  return s.replace(/([[\]:\\])/g, '\\$1').replace(/'/g, `'\\''`);
}

function zshOption(o: OptionSpec): string {
  const value = o.takesValue ? `:${o.flag.slice(2)}:${o.isPath ? '_files' : ' '}` : '';
  return `'${o.flag}[${zshText(o.description)}]${value}'`;
}

function zshArgument(a: ArgumentSpec): string {
  const action = a.choices ? `(${a.choices.join(' ')})` : '_files';
  return `'${a.required ? ':' : '::'}${a.name}:${action}'`;
}

/** The zsh script: `#compdef bm-log` (for fpath) that also registers itself when sourced. */
export function renderZshCompletion(spec: readonly CommandSpec[]): string {
  const described = spec.flatMap((c) => [c.name, ...c.aliases].map((n) => `    '${zshText(n)}:${zshText(c.description)}'`));
  const cases = spec.map((c) =>
    [
      `    ${[c.name, ...c.aliases].join('|')})`,
      `      _arguments -s ${[...c.options.map(zshOption), ...c.args.map(zshArgument)].join(' ')}`,
      '      ;;',
    ].join('\n'),
  );
  return `#compdef bm-log
# zsh completion for bm-log. Load it with: eval "$(bm-log completion zsh)" after compinit (e.g. in ~/.zshrc),
# or save it as _bm-log in a folder of your $fpath
_bm_log() {
  local -a commands
  commands=(
${described.join('\n')}
  )
  if (( CURRENT == 2 )); then
    _describe -t commands 'bm-log command' commands
    return
  fi
  local cmd=$words[2]
  shift words
  (( CURRENT-- ))
  case $cmd in
${cases.join('\n')}
  esac
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _bm_log "$@"
else
  compdef _bm_log bm-log
fi
`;
}

/** The shells `completion` knows. */
export const COMPLETION_SHELLS = ['bash', 'zsh'] as const;

/** Registers `completion bash|zsh`: it prints the script for the program it is part of. */
export function registerCompletion(program: Command, out: Output): void {
  program
    .command('completion')
    .description('print a shell completion script: eval "$(bm-log completion bash)" in ~/.bashrc, or zsh in ~/.zshrc')
    .addArgument(new Argument('<shell>', 'bash or zsh').choices(COMPLETION_SHELLS))
    .action((shell: string) => {
      const spec = computeCompletionSpec(program);
      if (shell === 'bash') out.stdout(renderBashCompletion(spec));
      else if (shell === 'zsh') out.stdout(renderZshCompletion(spec));
      else throw new BmError(ErrorCode.usage, `no completion for ${JSON.stringify(shell)}`, 'use bash or zsh');
    });
}
