import { probeStore } from '../events/store/probe-store.js';
import type { ClientSession } from '../client/client-session.js';
import { verifyLogs } from '../client/verify-logs.js';
import { verifyMerges } from '../client/verify-merges.js';
import { verifyBlobs, verifyVaultMarker } from '../client/verify-remote.js';

/** What `verify` found: `ok` when nothing; every finding names the object and what is wrong. */
export interface VerifyResult {
  readonly ok: boolean;
  readonly segments: number;
  readonly blobs: number;
  readonly clients: number;
  readonly findings: readonly { readonly code: string; readonly object: string; readonly message: string }[];
  readonly repaired: readonly string[];
}

/**
 * Re-reads every log from seq 1 and every referenced blob on the remote, checking what a sync
 * checks (signatures against the pinned keys, chains, schemas) plus what it cannot see
 * cheaply: replaced keys, rollback against this client's cache, missing and corrupt blobs.
 * `repair` puts back missing blobs a file in the folder still holds.
 */
export async function executeVerify(s: ClientSession, repair = false): Promise<VerifyResult> {
  const logs = await verifyLogs(s);
  const findings = [...logs.findings, ...(await verifyVaultMarker(s))];
  const blobs = await verifyBlobs(s, logs.segments, repair);
  findings.push(...blobs.findings, ...(await verifyMerges(s.store, logs.segments)));
  return {
    ok: findings.length === 0,
    segments: logs.segments.length,
    blobs: blobs.checked,
    clients: logs.clients,
    findings,
    repaired: blobs.repaired,
  };
}

/** What the remote supports (`bm-log doctor`): create-only writes, versioning, snapshots; and which remote it is. */
export async function probeRemote(s: ClientSession): Promise<{ remote: string } & Awaited<ReturnType<typeof probeStore>>> {
  return { remote: s.store.description, ...(await probeStore(s.store)) };
}
