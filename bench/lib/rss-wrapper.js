// Fallback when GNU time is missing: `node rss-wrapper.js OUTFILE bin/bm-log.js ARGS...`
// runs the script in this process and writes "maxRSS_KB user_s sys_s" to OUTFILE at exit.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const [outFile, script, ...args] = process.argv.slice(2);
process.on('exit', () => {
  const u = process.resourceUsage();
  fs.writeFileSync(outFile, `${u.maxRSS} ${u.userCPUTime / 1e6} ${u.systemCPUTime / 1e6}\n`);
});
process.argv = [process.argv[0], path.resolve(script), ...args];
await import(pathToFileURL(path.resolve(script)).href);
