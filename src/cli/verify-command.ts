import type { ErrorCode } from '../errors.js';
import { executeVerify, probeRemote } from '../api/verify-folder.js';
import { withClient } from '../client/client-queries.js';
import { ExitCode, computeFaultsExitCode } from './exit-codes.js';
import { displayName } from '../client/human-text.js';
import type { FolderOptions, VerifyFlags } from './options.js';
import type { Output } from './output.js';

/**
 * `bm-log verify [--repair]`: re-reads every log from seq 1 and every referenced blob on the
 * remote, checking what a sync checks (signatures against the pinned keys, chains, schemas)
 * plus what it cannot see cheaply: replaced keys, rollback against this client's cache,
 * missing and corrupt blobs. Exit 0 when nothing was found, the integrity code otherwise.
 */
export async function runVerifyCommand(o: VerifyFlags, out: Output): Promise<number> {
  return withClient(o.dir, async (s) => {
    const data = await executeVerify(s, o.repair === true);
    const findings = data.findings;
    out.result(o.json, data, () => [
      `checked ${data.clients} client(s), ${data.segments} segment(s), ${data.blobs} blob(s)`,
      ...data.repaired.map((r) => `  repaired       ${displayName(r)}: put back from a file in this folder`),
      ...(findings.length === 0
        ? ['no problems found']
        : findings.map((f) => `  ${f.code.padEnd(14)} ${displayName(f.object)}: ${f.message}`)),
    ]);
    return computeFaultsExitCode(findings.map((f) => ({ error: { code: f.code as ErrorCode } }))) ?? ExitCode.ok;
  });
}

/** `bm-log doctor`: what the remote supports (create-only writes, versioning, snapshots). */
export async function runDoctorCommand(o: FolderOptions, out: Output): Promise<number> {
  return withClient(o.dir, async (s) => {
    const caps = await probeRemote(s);
    const createOnly = caps.createOnlyEnforced
      ? 'yes'
      : 'no (bm-log checks before writing; safe because every client writes only its own objects)';
    out.result(o.json, caps, () => [
      `remote ${caps.remote}`,
      `  create-only writes enforced by the server: ${createOnly}`,
      `  bucket versioning: ${caps.versioning ? 'yes' : 'no'}`,
      `  bucket snapshots (Tigris): ${caps.snapshots ? 'yes' : 'no (the log frontier is recorded instead)'}`,
    ]);
    return ExitCode.ok;
  });
}
