import type { ClientId } from './ids.js';

/**
 * Where every object lives in the bucket (or remote directory), relative to the remote's
 * prefix. See ADR-0004 for the diagram and who writes what. Every object is create-only
 * and has exactly one writer:
 *
 *   vault                      the vault marker (first client)
 *   keys/<client>              a client's self-signed public key (that client)
 *   log/<client>/<seq:12>      a client's signed segments, seq 1, 2, ... (that client)
 *   blobs/<hh>/<sha256>        content, named by its hash (any client; same name = same bytes)
 *   packs/<client>/<id>        small contents of one sync, concatenated (that client; ADR-0022)
 *   checkpoints/<client>/<seq:12>  format-1 checkpoints (ADR-0007; no longer written or adopted)
 *   writer-checkpoints/<client>/<seq:12>  a writer's signed checkpoint of its own log up to seq (that client; ADR-0014)
 *
 * Discovering clients lists `keys/` (one key per client, independent of history); fetching
 * lists `log/<client>/` after the last seq already held, so a sync with nothing new costs
 * 1 + (number of clients) list requests whatever the size of the tree or the history.
 */
export const VAULT_KEY = 'vault';
export const KEYS_PREFIX = 'keys/';
export const BLOBS_PREFIX = 'blobs/';
export const PACKS_PREFIX = 'packs/';
export const CHECKPOINTS_PREFIX = 'checkpoints/';
export const WRITER_CHECKPOINTS_PREFIX = 'writer-checkpoints/';

const SEQ_WIDTH = 12;

export function keyOfIdentity(client: ClientId | string): string {
  return `${KEYS_PREFIX}${client}`;
}

export function prefixOfLog(client: ClientId | string): string {
  return `log/${client}/`;
}

export function keyOfSegment(client: ClientId | string, seq: number): string {
  return `${prefixOfLog(client)}${String(seq).padStart(SEQ_WIDTH, '0')}`;
}

/** The seq a log object key names, or undefined for a key that is not a segment. */
export function parseSegmentKey(client: string, key: string): number | undefined {
  const prefix = prefixOfLog(client);
  if (!key.startsWith(prefix)) return undefined;
  const rest = key.slice(prefix.length);
  if (!/^[0-9]{12}$/.test(rest)) return undefined;
  const seq = Number(rest);
  return seq >= 1 ? seq : undefined;
}

export function keyOfBlob(hash: string): string {
  return `${BLOBS_PREFIX}${hash.slice(0, 2)}/${hash}`;
}

/** A pack object (ADR-0022): `id` is a ULID its writer chose. */
export function keyOfPack(client: ClientId | string, id: string): string {
  return `${PACKS_PREFIX}${client}/${id}`;
}

export function keyOfCheckpoint(client: ClientId | string, seq: number): string {
  return `${CHECKPOINTS_PREFIX}${client}/${String(seq).padStart(SEQ_WIDTH, '0')}`;
}

export function keyOfWriterCheckpoint(client: ClientId | string, seq: number): string {
  return `${WRITER_CHECKPOINTS_PREFIX}${client}/${String(seq).padStart(SEQ_WIDTH, '0')}`;
}
