// Command-line options of the benches: `--name` flags and `--name value` options, and
// `--help`, which prints the script's header comment (its manual) and exits.
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';

/** { flag(name), opt(name, default) } over `argv`; exits after printing the manual on --help. */
export function parseBenchArgs(scriptUrl, argv = process.argv.slice(2)) {
  const flag = (n) => argv.includes(n);
  const opt = (n, d) => {
    const i = argv.indexOf(n);
    return i < 0 ? d : argv[i + 1];
  };
  if (flag('--help') || flag('-h')) {
    const head = fs
      .readFileSync(fileURLToPath(scriptUrl), 'utf8')
      .split('\n')
      .filter((l, i) => !(i === 0 && l.startsWith('#!')));
    console.log(
      head
        .slice(
          0,
          head.findIndex((l) => !l.startsWith('//')),
        )
        .map((l) => l.replace(/^\/\/ ?/, ''))
        .join('\n'),
    );
    process.exit(0);
  }
  return { flag, opt };
}
