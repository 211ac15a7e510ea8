// The fuzzing thread's entry: TypeScript through tsx first, then the coverage hooks after it
// (a later hook sees the earlier one's output: JavaScript), then the fuzz loop itself.
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

registerTsx();
register('./coverage-hooks.mjs', import.meta.url);
await import('./fuzz-worker.ts');
