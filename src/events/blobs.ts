import { BmError, ErrorCode, isBmError } from '../errors.js';
import { keyOfBlob } from './layout.js';
import type { ObjectStore, StreamBody } from './store/object-store.js';
import type { Chunks } from './store/lent-chunks.js';

/**
 * Up to this size a blob is written without asking first whether it exists: the create-only
 * write itself says so (S3: a 412 to `If-None-Match: *`, then one read to compare), which
 * saves a round trip per new file and costs at most this many bytes sent for nothing when the
 * blob was there. Larger blobs are HEADed first, so existing large content is never re-sent.
 */
export const WRITE_WITHOUT_HEAD_BYTES = 1024 * 1024;

/**
 * Uploads content under its hash unless the blob already exists. The store checks the
 * streamed bytes against `body.sha256`, so a file edited during the upload is refused
 * (local-io) instead of being stored under the wrong name.
 * Returns 'exists' when no upload was needed (a small blob: its bytes were sent and found
 * identical to the stored ones; both count as "found on the remote" for ADR-0007's rule iii).
 */
export async function writeBlob(store: ObjectStore, body: StreamBody): Promise<'created' | 'exists'> {
  const key = keyOfBlob(body.sha256);
  if (body.size > WRITE_WITHOUT_HEAD_BYTES) {
    const head = await store.head(key);
    if (head !== undefined && head.size === body.size) return 'exists';
  }
  try {
    const r = await store.putIfAbsent(key, body);
    return r === 'created' ? 'created' : 'exists';
  } catch (e) {
    if (isBmError(e, ErrorCode.objectExists)) {
      throw new BmError(
        ErrorCode.blobCorrupt,
        `blob ${body.sha256} on the remote does not hold the bytes its name says`,
        'run `bm-log verify`; nothing was published for this file',
        { key },
        { cause: e },
      );
    }
    throw e;
  }
}

/**
 * Streams a blob's bytes as lent chunks (see `Chunks`). The reader verifies them against the
 * hash before using them.
 */
export async function readBlob(store: ObjectStore, hash: string, size?: number): Promise<Chunks> {
  const stream = await store.getChunks(keyOfBlob(hash), size);
  if (stream === undefined) {
    throw new BmError(ErrorCode.blobMissing, `blob ${hash} is missing from the remote`, 'the file was not written; run `bm-log verify`', {
      hash,
    });
  }
  return (async function* () {
    try {
      yield* stream;
    } catch (e) {
      // A transfer cut by the network is the remote's failure, not the local disk's.
      if (e instanceof BmError) throw e;
      throw new BmError(
        ErrorCode.remoteUnavailable,
        `reading blob ${hash} from the remote was cut (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
        'the local file was left as it was; sync again',
        { hash },
        { cause: e },
      );
    }
  })();
}
