#!/usr/bin/env node
// msgpackr's native decoder returns short strings as slices of one long string per run of
// strings, and each slice keeps its whole run alive: a new client's fold of 100,000 events
// kept ~37 MB of them for the whole sync. Decoded in JavaScript, each string is its own
// (ADR-0010). Set before msgpackr loads, so the import below is dynamic.
process.env.MSGPACKR_NATIVE_ACCELERATION_DISABLED ??= 'true';
// The AWS SDK prints an 8-line notice on every S3 command under Node 20 (its releases after
// January 2027 will require Node 22). It is for bm-log's maintainers, who track it (ADR-0018),
// not for its users; this is the SDK's documented switch (aws/aws-sdk-js-v3#7983). A user's own
// setting wins.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { main } = await import('../dist/cli/main.js');

process.exitCode = await main(process.argv);
