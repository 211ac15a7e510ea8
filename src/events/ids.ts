import { monotonicFactory } from 'ulid';

/** Branded identifiers: a ClientId cannot be passed where a VersionId is expected. */
export type ClientId = string & { readonly __brand: 'ClientId' };
/** The id of one event; a put/tombstone/resolve event's id is also the id of the version it creates. */
export type VersionId = string & { readonly __brand: 'VersionId' };
/** Lowercase hex SHA-256 of a blob's bytes. */
export type ContentHash = string & { readonly __brand: 'ContentHash' };
export type VaultId = string & { readonly __brand: 'VaultId' };

export const ULID_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/;
export const HASH_RE = /^[0-9a-f]{64}$/;

/** Produces unique, sortable ids. Production: monotonic ULIDs. Tests: a counter. */
export type IdFactory = () => string;

/** Monotonic ULID factory (ids from one process sort in creation order). */
export function ulidFactory(now: () => number = Date.now): IdFactory {
  const next = monotonicFactory();
  return () => next(now());
}

/** Deterministic ids for tests: valid ULIDs built from a counter and a fixed prefix. */
export function counterIdFactory(prefix = '01TEST'): IdFactory {
  let n = 0;
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  return () => {
    n += 1;
    let s = '';
    let v = n;
    for (let i = 0; i < 26 - prefix.length; i++) {
      s = alphabet[v % 32] + s;
      v = Math.floor(v / 32);
    }
    return prefix + s;
  };
}
