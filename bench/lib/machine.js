// Machine description and a measure of how busy the machine is with *other* work.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';

function sh(cmd) {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

export function describeMachine(tmpDir) {
  const cpuinfo = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    shaNi: /\bsha_ni\b/.test(cpuinfo),
    memGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    kernel: `${os.type()} ${os.release()}`,
    virtualisation:
      sh('systemd-detect-virt 2>/dev/null') ?? (/\bhypervisor\b/.test(cpuinfo) ? 'hypervisor (flag in /proc/cpuinfo)' : 'none detected'),
    os: sh('. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"') ?? os.platform(),
    node: process.version,
    openssl: process.versions.openssl,
    tmpDir,
    tmpFs: sh(`df -T ${JSON.stringify(tmpDir)} | awk 'NR==2 {print $2" on "$1}'`),
    loadavgAtStart: os.loadavg().map((x) => +x.toFixed(2)),
  };
}

/** Machine-wide busy CPU time so far, in seconds (from /proc/stat), or null off Linux. */
export function machineBusySeconds() {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal guest guest_nice
    const busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    return busy / 100; // USER_HZ
  } catch {
    return null;
  }
}

/** This process's own CPU seconds (the bench also hosts the S3 server). */
export function selfCpuSeconds() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * Samples the machine for `ms` and returns the share of all cores used by other processes
 * (0..1), i.e. not by this process.
 */
export async function othersShare(ms = 500) {
  const b0 = machineBusySeconds();
  const s0 = selfCpuSeconds();
  await new Promise((r) => setTimeout(r, ms));
  const b1 = machineBusySeconds();
  if (b0 === null || b1 === null) return null;
  return Math.max(0, (b1 - b0 - (selfCpuSeconds() - s0)) / ((ms / 1000) * os.cpus().length));
}
