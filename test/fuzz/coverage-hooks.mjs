// ESM loader hooks for the decoder fuzzer (ADR-0017): instruments the modules the decoders
// run (bm-log's src/events and src/errors, msgpackr, zod) with istanbul counters under
// `globalThis.__bmFuzzCoverage`, which the fuzz loop reads as its coverage signal. Chained
// after tsx's hooks, so TypeScript arrives here as JavaScript.
import { createInstrumenter } from 'istanbul-lib-instrument';

const instrumenter = createInstrumenter({
  esModules: true,
  coverageVariable: '__bmFuzzCoverage',
  compact: true,
  produceSourceMap: false,
  autoWrap: true,
});
const TARGETS = [
  /\/src\/events\/[^/]+\.ts$/,
  /\/src\/errors\.ts$/,
  /\/node_modules\/msgpackr\/unpack\.js$/,
  /\/node_modules\/zod\/v3\/types\.js$/,
  /\/node_modules\/zod\/lib\/types\.js$/,
];

export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context);
  if (!url.startsWith('file:') || !TARGETS.some((re) => re.test(url)) || result.source == null) return result;
  const source = typeof result.source === 'string' ? result.source : Buffer.from(result.source).toString('utf8');
  if (result.format !== 'module') return result;
  return { ...result, source: instrumenter.instrumentSync(source, new URL(url).pathname) };
}
