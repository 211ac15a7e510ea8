// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function and per
// file, and inclusive time of chosen functions. Usable as a CLI:
//   node bench/lib/cpuprofile.js FILE.cpuprofile [TOP]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

function shortUrl(url) {
  if (!url) return '(native)';
  const u = url.replace(/^file:\/\//, '');
  const i = u.lastIndexOf('/dist/');
  if (i >= 0) return u.slice(i + 1);
  const j = u.lastIndexOf('/node_modules/');
  if (j >= 0) return u.slice(j + 1);
  return u.startsWith('node:') ? u : path.basename(u);
}

/** { totalMs, byFunction: [{ name, file, line, selfMs, pct }], byFile: [{ file, selfMs, pct }], inclusive(nameRegex) }. */
export function summariseCpuProfile(profile) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Self time from samples and time deltas (more precise than hitCount × interval).
  const self = new Map();
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = (deltas[i + 1] ?? deltas[i] ?? 0) / 1000;
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + dt);
  }
  const totalMs = [...self.values()].reduce((a, b) => a + b, 0);
  const byFn = new Map();
  const byFile = new Map();
  for (const [id, ms] of self) {
    const cf = nodes.get(id).callFrame;
    const name = cf.functionName || '(anonymous)';
    const file = shortUrl(cf.url);
    const key = `${name}\0${file}\0${cf.lineNumber}`;
    const e = byFn.get(key) ?? { name, file, line: cf.lineNumber + 1, selfMs: 0 };
    e.selfMs += ms;
    byFn.set(key, e);
    byFile.set(file, (byFile.get(file) ?? 0) + ms);
  }
  const pct = (ms) => (100 * ms) / totalMs;
  /** Inclusive time of functions whose name matches `re`: samples with such a frame on the stack. */
  const inclusive = (re) => {
    let ms = 0;
    for (const [id, t] of self) {
      for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
        if (re.test(nodes.get(cur).callFrame.functionName)) {
          ms += t;
          break;
        }
      }
    }
    return { ms, pct: pct(ms) };
  };
  return {
    totalMs,
    byFunction: [...byFn.values()].sort((a, b) => b.selfMs - a.selfMs).map((e) => ({ ...e, pct: pct(e.selfMs) })),
    byFile: [...byFile].map(([file, selfMs]) => ({ file, selfMs, pct: pct(selfMs) })).sort((a, b) => b.selfMs - a.selfMs),
    inclusive,
  };
}

export function formatSummary(s, top = 15) {
  const lines = [`  profile: ${s.totalMs.toFixed(0)} ms sampled`, '  top self time by function:'];
  for (const f of s.byFunction.slice(0, top))
    lines.push(`    ${f.selfMs.toFixed(0).padStart(7)} ms ${f.pct.toFixed(1).padStart(5)}%  ${f.name}  ${f.file}:${f.line}`);
  lines.push('  self time by file:');
  for (const f of s.byFile.slice(0, 10))
    lines.push(`    ${f.selfMs.toFixed(0).padStart(7)} ms ${f.pct.toFixed(1).padStart(5)}%  ${f.file}`);
  return lines.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const s = summariseCpuProfile(JSON.parse(fs.readFileSync(process.argv[2], 'utf8')));
  console.log(formatSummary(s, Number(process.argv[3] ?? 25)));
  for (const re of (process.argv[4] ?? '').split(',').filter(Boolean)) {
    const r = s.inclusive(new RegExp(re));
    console.log(`  inclusive ${re}: ${r.ms.toFixed(0)} ms (${r.pct.toFixed(1)}%)`);
  }
}
