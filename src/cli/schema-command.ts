import { Argument, type Command } from 'commander';
import { JSON_DOCUMENTS, type JsonDocumentName, renderJsonSchema } from './json-schemas.js';
import type { Output } from './output.js';

/** Registers `schema [NAME]`: the JSON Schema of a `--json` document (docs/json/NAME.schema.json), or the list of names. */
export function registerSchemaCommand(program: Command, out: Output): void {
  const names = Object.keys(JSON_DOCUMENTS) as JsonDocumentName[];
  program
    .command('schema')
    .description('print the JSON Schema of a --json document (format 1), as docs/json/NAME.schema.json; without NAME, the names')
    .addArgument(new Argument('[name]', 'the document: a command name, or error').choices(names))
    .action((name: JsonDocumentName | undefined) => {
      if (name !== undefined) out.stdout(renderJsonSchema(name));
      else
        for (const n of names)
          out.line(`${n.padEnd(12)} ${JSON_DOCUMENTS[n].commands.map((c) => ['bm-log', c, '--json'].join(' ')).join(', ')}`);
    });
}
