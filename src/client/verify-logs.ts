import { ErrorCode, isBmError } from '../errors.js';
import { decodeSegment } from '../events/codec.js';
import type { ClientId } from '../events/ids.js';
import { fetchLogs, readIdentity, type ClientKey, type FetchedSegment, type LogFault } from '../events/log.js';
import { importPublicKeyHex } from '../events/signing.js';
import { verifyCheckpoints } from '../reconcile/check-checkpoints.js';
import type { ClientSession } from './client-session.js';
import type { Finding } from './verify-remote.js';

// The log checks of `bm-log verify`: published keys, every log from seq 1, the checkpoints,
// and the remote's logs against what this client fetched before (equivocation, rollback).

type PinnedKeys = Awaited<ReturnType<ClientSession['index']['getPinnedKeys']>>;

/** What the log checks found, and what the blob checks go on to read. */
export interface VerifiedLogs {
  readonly findings: Finding[];
  readonly segments: readonly FetchedSegment[];
  /** Clients whose keys this client pinned. */
  readonly clients: number;
}

/** The note on a fault in this client's own log: its next sync puts its own segments back (ADR-0015). */
function ownLogNote(s: ClientSession, client: string): string {
  return client === s.config.clientId ? "; `bm-log sync` here puts back this client's own segments" : '';
}

/** Each pinned key against the key its client publishes now. A network failure is no finding: it throws. */
async function verifyPublishedKeys(s: ClientSession, pinned: PinnedKeys): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const [c, k] of pinned) {
    try {
      const id = await readIdentity(s.store, s.config.vaultId, c);
      if (id.publicKeyHex !== k.publicKey) {
        findings.push({
          object: `keys/${c}`,
          code: ErrorCode.keyMismatch,
          message: `the published key of ${k.name} was replaced after it was first seen`,
        });
      }
    } catch (e) {
      // verify stops with the retryable exit code.
      if (!isBmError(e) || e.code === ErrorCode.remoteUnavailable) throw e;
      findings.push({ object: `keys/${c}`, code: e.code, message: e.message });
    }
  }
  return findings;
}

function computeFaultFindings(s: ClientSession, faults: readonly LogFault[]): Finding[] {
  return faults.map((f) => ({
    object: f.key,
    code: f.error.code,
    message: `${f.error.message}${f.error.code === ErrorCode.brokenChain ? ownLogNote(s, f.client) : ''}`,
  }));
}

/** Each fetched segment against the one this client cached when it fetched it before. */
async function verifyCachedSegments(s: ClientSession, pinned: PinnedKeys, segments: readonly FetchedSegment[]): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const seg of segments) {
    const cached = await s.index.getSegment(seg.client, seg.seq);
    const pk = pinned.get(seg.client);
    if (cached === undefined || pk === undefined) continue;
    const local = decodeSegment(cached, {
      vault: s.config.vaultId,
      client: seg.client,
      seq: seg.seq,
      publicKey: importPublicKeyHex(pk.publicKey),
    });
    if (local.hash === seg.segment.hash) continue;
    const message = `two different segments ${seg.seq} of ${pk.name}: the remote's differs from the one fetched before`;
    findings.push({ object: `log/${seg.client}/${seg.seq}`, code: ErrorCode.equivocation, message });
  }
  return findings;
}

/** Logs that end before the seq this client fetched before (truncated or rolled back). Pure. */
function computeRollbackFindings(
  s: ClientSession,
  cursors: ReadonlyMap<ClientId, { readonly seq: number }>,
  fetched: { readonly segments: readonly FetchedSegment[]; readonly faults: readonly LogFault[] },
  pinned: PinnedKeys,
): Finding[] {
  const remoteSeqs = new Map<string, number>();
  for (const seg of fetched.segments) remoteSeqs.set(seg.client, Math.max(remoteSeqs.get(seg.client) ?? 0, seg.seq));
  const findings: Finding[] = [];
  for (const [c, cur] of cursors) {
    const faulted = fetched.faults.some((f) => f.client === c);
    const last = remoteSeqs.get(c) ?? 0;
    if (faulted || last >= cur.seq) continue;
    const message = `the remote log of ${pinned.get(c)?.name ?? c} ends at seq ${last}, but seq ${cur.seq} was fetched before (truncated or rolled back)`;
    findings.push({ object: `log/${c}/`, code: ErrorCode.brokenChain, message: `${message}${ownLogNote(s, c)}` });
  }
  return findings;
}

/**
 * Re-reads every log from seq 1, checking what a sync checks (signatures against the pinned
 * keys, chains, schemas) plus replaced keys, every writer's latest checkpoint of both formats
 * against the whole log (ADR-0014), and rollback or equivocation against this client's cache.
 */
export async function verifyLogs(s: ClientSession): Promise<VerifiedLogs> {
  const pinned = await s.index.getPinnedKeys();
  const pinnedKeys = new Map<string, ClientKey>([...pinned].map(([c, k]) => [c, { client: c, name: k.name, publicKeyHex: k.publicKey }]));
  const findings = await verifyPublishedKeys(s, pinned);
  const fetched = await fetchLogs(s.store, { vault: s.config.vaultId, cursors: new Map(), pinnedKeys });
  findings.push(...computeFaultFindings(s, fetched.faults));
  for (const f of await verifyCheckpoints(
    s.store,
    s.config.vaultId,
    pinnedKeys,
    fetched.segments.map((seg) => seg.segment),
  )) {
    const message = `checkpoint ${f.client}/${f.seq} is not what its writer's log says: ${f.problems.join('; ')}`;
    findings.push({ object: f.key, code: ErrorCode.unsupportedCheckpoint, message });
  }
  const cursors = await s.index.getCursors();
  findings.push(...(await verifyCachedSegments(s, pinned, fetched.segments)));
  findings.push(...computeRollbackFindings(s, cursors, fetched, pinned));
  return { findings, segments: fetched.segments, clients: pinned.size };
}
