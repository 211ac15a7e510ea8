import { Argument, type Command } from 'commander';
import { BmError, ErrorCode } from '../errors.js';
import type { Output } from './output.js';

/**
 * Registers `schema [NAME]`: the JSON Schema of a `--json` document (docs/json/NAME.schema.json),
 * or the list of names. The schemas (zod and the engine's enumerations) load only when it runs,
 * so the other commands' start-up does not pay for them (lazy-commands.ts).
 */
export function registerSchemaCommand(program: Command, out: Output): void {
  program
    .command('schema')
    .description('print the JSON Schema of a --json document (format 1), as docs/json/NAME.schema.json; without NAME, the names')
    .addArgument(new Argument('[name]', 'the document: a command name, or error'))
    .action(async (name: string | undefined) => {
      const { JSON_DOCUMENTS, renderJsonSchema } = await import('./json-schemas.js');
      const names = Object.keys(JSON_DOCUMENTS) as (keyof typeof JSON_DOCUMENTS)[];
      if (name === undefined) {
        for (const n of names)
          out.line(`${n.padEnd(12)} ${JSON_DOCUMENTS[n].commands.map((c) => ['bm-log', c, '--json'].join(' ')).join(', ')}`);
        return;
      }
      const known = names.find((n) => n === name);
      if (known === undefined)
        throw new BmError(
          ErrorCode.usage,
          `no --json document is named ${JSON.stringify(name)}`,
          `Allowed choices are ${names.join(', ')}`,
        );
      out.stdout(renderJsonSchema(known));
    });
}
