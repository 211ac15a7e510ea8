// Runs one command and measures it: wall time (from this process), and peak RSS / CPU time
// of the child (from GNU time, or, for node commands without GNU time, from a wrapper that
// prints process.resourceUsage() at exit).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
/** The CLI the bench runs; run.js points it at a snapshot of dist/ (see snapshotBuild). */
export let bmLogBin = path.join(repoRoot, 'bin', 'bm-log.js');
/** The launcher users run (`bm-log`, the package's bin: malloc settings, then Node on bmLogBin; ADR-0012). */
export let bmLogLauncher = path.join(repoRoot, 'bin', 'bm-log');

/**
 * Copies the freshly built dist/ and bin/ to `dir` (node_modules linked) and makes every
 * later bm-log run use that copy, so a rebuild of dist/ by someone else's `npm test`
 * during a long bench cannot change the code being measured half-way. Returns a short
 * content hash of the copied dist/.
 */
export function snapshotBuild(dir) {
  fs.mkdirSync(dir, { recursive: true });
  fs.cpSync(path.join(repoRoot, 'dist'), path.join(dir, 'dist'), { recursive: true });
  fs.cpSync(path.join(repoRoot, 'bin'), path.join(dir, 'bin'), { recursive: true });
  fs.copyFileSync(path.join(repoRoot, 'package.json'), path.join(dir, 'package.json'));
  fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'));
  bmLogBin = path.join(dir, 'bin', 'bm-log.js');
  bmLogLauncher = path.join(dir, 'bin', 'bm-log');
  process.env.BM_LOG_DIST = path.join(dir, 'dist');
  const h = createHash('sha256');
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const f = path.join(d, e.name);
      if (e.isDirectory()) walk(f);
      else if (e.name.endsWith('.js')) h.update(`${path.relative(dir, f)}\0`).update(fs.readFileSync(f));
    }
  };
  walk(path.join(dir, 'dist'));
  return h.digest('hex').slice(0, 12);
}
const rssWrapper = path.join(here, 'rss-wrapper.js');

export const gnuTime = (() => {
  for (const p of ['/usr/bin/time', '/bin/time']) {
    if (fs.existsSync(p) && spawnSync(p, ['-f', '%M', 'true'], { encoding: 'utf8' }).status === 0) return p;
  }
  return null;
})();

export function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

let seq = 0;

/**
 * Runs `cmd args` with stdout and stderr going to files under `logDir` and returns
 * { ms, rssKB, userS, sysS, code, stdoutTail, stderrTail, log }. Throws when the exit code
 * is not in `okCodes`.
 */
export async function runMeasured(
  cmd,
  args,
  { env = process.env, cwd = repoRoot, logDir, label = 'cmd', okCodes = [0], nodeArgs = [] } = {},
) {
  const n = ++seq;
  const base = path.join(logDir, `${String(n).padStart(4, '0')}-${label.replace(/[^a-z0-9.-]+/gi, '_')}`);
  const timeFile = `${base}.time`;
  const outFile = `${base}.out`;
  const errFile = `${base}.err`;
  let argv;
  const isNode = cmd === 'node';
  if (gnuTime) {
    argv = [gnuTime, ['-f', '%M %U %S', '-o', timeFile, cmd === 'node' ? process.execPath : cmd, ...(isNode ? nodeArgs : []), ...args]];
  } else if (isNode) {
    argv = [process.execPath, [...nodeArgs, rssWrapper, timeFile, ...args]];
  } else {
    argv = [cmd, args];
  }
  const out = fs.openSync(outFile, 'w');
  const err = fs.openSync(errFile, 'w');
  const t0 = process.hrtime.bigint();
  const code = await new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv[1], { cwd, env, stdio: ['ignore', out, err] });
    child.on('error', reject);
    child.on('close', (c, sig) => resolve(c ?? (sig ? 128 : 1)));
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  fs.closeSync(out);
  fs.closeSync(err);
  let rssKB = null;
  let userS = null;
  let sysS = null;
  if (fs.existsSync(timeFile)) {
    const lines = fs.readFileSync(timeFile, 'utf8').trim().split('\n');
    const m = lines.at(-1).trim().split(/\s+/).map(Number);
    if (m.length >= 3 && m.every(Number.isFinite)) [rssKB, userS, sysS] = m;
  }
  const tail = (f) => {
    const s = fs.readFileSync(f, 'utf8');
    return s.length > 2000 ? s.slice(-2000) : s;
  };
  const result = { ms, rssKB, userS, sysS, code, stdoutTail: tail(outFile), stderrTail: tail(errFile), log: base };
  if (!okCodes.includes(code)) {
    const e = new Error(
      `${label}: ${cmd} ${args.join(' ')} exited ${code}\n--- stdout (tail)\n${result.stdoutTail}\n--- stderr (tail)\n${result.stderrTail}`,
    );
    e.result = result;
    throw e;
  }
  return result;
}

/** bm-log CLI in a child process, as a user would run it (`bm-log ...`: the launcher). */
export function runBmLog(args, opts = {}) {
  return runMeasured(bmLogLauncher, args, opts);
}

/** Flushes dirty pages and drops the page cache; returns false where the kernel refuses. */
export function dropCaches() {
  try {
    spawnSync('sync');
    fs.writeFileSync('/proc/sys/vm/drop_caches', '3\n');
    return true;
  } catch {
    return false;
  }
}

const VERSION_ARGS = { rclone: ['version'], unison: ['-version'] };

function toolVersion(cmd) {
  const r = spawnSync(cmd, VERSION_ARGS[cmd] ?? ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? (r.stdout || r.stderr).split('\n')[0].trim() : null;
}

/**
 * Installs the peer tools in `wanted` that are missing (Debian packages of the same name,
 * with apt-get, when running as root) and returns { tool: first line of its version, or
 * null when it is still missing }. `say` prints what it does.
 */
export function ensureTools(wanted, say) {
  const missing = wanted.filter((t) => which(t) === null);
  if (missing.length > 0) {
    const root = process.getuid?.() === 0;
    if (root && which('apt-get')) {
      say(`peers: ${missing.join(', ')} not installed; running: apt-get update && apt-get install -y ${missing.join(' ')}`);
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      const u = spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
      const i = u.status === 0 ? spawnSync('apt-get', ['install', '-y', ...missing], { stdio: 'inherit', env }) : u;
      if (i.status !== 0) say('peers: apt-get failed; the missing tools are skipped');
    } else {
      say(
        `peers: ${missing.join(', ')} not installed and not root (or no apt-get): skipped. Install them with: sudo apt-get install -y ${missing.join(' ')}`,
      );
    }
  }
  return Object.fromEntries(['rclone', 'unison'].map((t) => [t, which(t) ? toolVersion(t) : null]));
}
