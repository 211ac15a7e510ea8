// `npm run schemas`: writes docs/json/NAME.schema.json for every --json document, from the zod
// schemas in src/cli/json-schemas.ts (ADR-0026), and removes files no document has any more.
// test/cli/json-schemas.e2e.test.ts fails while the committed files differ from what this writes.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { JSON_DOCUMENTS, renderJsonSchema } from '../dist/cli/json-schemas.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'json');
mkdirSync(dir, { recursive: true });
const names = Object.keys(JSON_DOCUMENTS);
for (const name of names) writeFileSync(path.join(dir, `${name}.schema.json`), renderJsonSchema(name));
for (const file of readdirSync(dir))
  if (file.endsWith('.schema.json') && !names.includes(file.slice(0, -'.schema.json'.length))) rmSync(path.join(dir, file));
console.log(`wrote ${names.length} schemas to ${path.relative(process.cwd(), dir) || '.'}`);
