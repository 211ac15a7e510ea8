#!/usr/bin/env node
// msgpackr's native decoder returns short strings as slices of one long string per run of
// strings, and each slice keeps its whole run alive: a new client's fold of 100,000 events
// kept ~37 MB of them for the whole sync. Decoded in JavaScript, each string is its own
// (ADR-0010). Set before msgpackr loads, so the import below is dynamic.
process.env.MSGPACKR_NATIVE_ACCELERATION_DISABLED ??= 'true';
const { main } = await import('../dist/cli/main.js');

process.exitCode = await main(process.argv);
