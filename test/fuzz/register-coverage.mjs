// `node --import tsx --import ./test/fuzz/register-coverage.mjs ...`: coverage counters for the fuzzer.
import { register } from 'node:module';

register('./coverage-hooks.mjs', import.meta.url);
