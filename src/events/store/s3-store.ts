import { createHash } from 'node:crypto';
import { PassThrough, Readable, Transform, type TransformCallback } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { BmError, ErrorCode } from '../../errors.js';
import type { ServerCapabilityProbe } from './probe-store.js';
import type { SnapshotPort } from './snapshot-port.js';
import { collectChunks, copyChunks, type Chunks } from './lent-chunks.js';
import {
  bytesEqual,
  isStreamBody,
  mustListPrefix,
  mustObjectKey,
  objectExistsError,
  type Body,
  type ListPage,
  type ObjectStore,
  type StreamBody,
} from './object-store.js';

/** Stream bodies above this size go through a multipart upload. */
export const MULTIPART_THRESHOLD = 16 * 1024 * 1024;
/** Socket inactivity after which an attempt fails as transient and is retried. */
export const DEFAULT_SOCKET_TIMEOUT_MS = 120_000;
const PART_SIZE = 8 * 1024 * 1024;
/**
 * Parts of one multipart upload sent at once. Each is held in memory while it is sent (and
 * the SDK copies the chunks it gathers into it): at 4, the SDK's default, a 10k-file first
 * sync with three 50 MiB files peaked at 173 MB, at 2 at 152 MB (bench, fauxqs).
 */
const PART_QUEUE_SIZE = 2;
const SNAPSHOT_VERSION_HEADER = 'x-tigris-snapshot-version';

export interface S3StoreOptions {
  readonly bucket: string;
  /** Key prefix inside the bucket ('' or ending in '/'); every key lives under it. */
  readonly prefix?: string;
  /** For S3-compatible servers (Tigris, MinIO, ...). Default: AWS, or AWS_ENDPOINT_URL(_S3). */
  readonly endpoint?: string;
  /** Default: AWS_REGION, then AWS_DEFAULT_REGION, then 'us-east-1'. */
  readonly region?: string;
  /** Path-style URLs (http://host/bucket/key); most local servers need it. */
  readonly forcePathStyle?: boolean;
  /** Default: the standard AWS credential chain (env vars, profile, SSO, instance role). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
  /** Attempts per request, including the first, for 5xx, throttling and network faults. Default 5. */
  readonly maxAttempts?: number;
  /**
   * An attempt that sees no activity on its socket for this long fails as transient (and is
   * retried): the NodeHttpHandler's socket inactivity timeout, so a large transfer that keeps
   * moving is never cut. Default: DEFAULT_SOCKET_TIMEOUT_MS (2 minutes), so a server that
   * accepts a request and never answers cannot hang a sync.
   */
  readonly requestTimeoutMs?: number;
  /**
   * Whether the server refuses `If-None-Match: *` writes to an existing key (AWS S3 and
   * Tigris do; many local emulators ignore the header). Undefined means "assume it does";
   * set it from `probeStore` (see probe-store.ts). When false, `putIfAbsent` HEADs first.
   */
  readonly createOnlyEnforced?: boolean | undefined;
  /** Tigris snapshot support. Default: guessed from the endpoint host (*.storage.dev, *.tigris.dev). */
  readonly tigris?: boolean;
}

/** Read-only access to a bucket as it was at one Tigris snapshot version. */
export interface SnapshotReader {
  get(key: string): Promise<Uint8Array | undefined>;
  getStream(key: string): Promise<Readable | undefined>;
  head(key: string): Promise<{ size: number } | undefined>;
  list(prefix: string, options?: { startAfter?: string; limit?: number }): Promise<ListPage>;
}

type Headers = Readonly<Record<string, string>>;

/**
 * ObjectStore over S3 or an S3-compatible server.
 *
 * Create-only: every write carries `If-None-Match: *` (PutObject, and CompleteMultipartUpload
 * for large blobs); a 412 or 409 answer means the key exists, and the existing bytes are
 * compared with ours to tell a retried write from a different object. On servers that do
 * not enforce the header (`createOnlyEnforced: false`) a HEAD pre-check runs first. That
 * check is racy (two writers can both see "absent" and the later PUT replaces the earlier),
 * and is acceptable only because each client writes under its own prefix and blobs are
 * content-addressed, so a lost race replaces an object with identical bytes.
 *
 * Retries: the SDK retries 5xx, throttling and network faults (standard mode, exponential
 * backoff with jitter) up to `maxAttempts`; stream uploads, which the SDK cannot replay,
 * are retried here by reopening the source. What still fails becomes remote-unavailable.
 */
export class S3Store implements ObjectStore, ServerCapabilityProbe {
  readonly description: string;
  readonly bucket: string;
  readonly prefix: string;
  private readonly client: S3Client;
  private readonly maxAttempts: number;
  private readonly createOnlyEnforced: boolean;
  private readonly tigris: boolean;
  /**
   * Multipart uploads run one at a time: each holds up to PART_QUEUE_SIZE parts of PART_SIZE
   * in memory (plus the SDK's copies), and a sync uploads up to 8 files at once. Small
   * bodies are not held back by it.
   */
  private multipartTail: Promise<unknown> = Promise.resolve();

  constructor(options: S3StoreOptions) {
    if (options.bucket.length === 0)
      throw new BmError(ErrorCode.config, 'the S3 bucket name is empty', 'set the bucket in the remote configuration');
    this.bucket = options.bucket;
    this.prefix = mustListPrefix(options.prefix ?? '');
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.createOnlyEnforced = options.createOnlyEnforced ?? true;
    const endpointUrl = options.endpoint === undefined ? undefined : parseEndpoint(options.endpoint);
    this.tigris = options.tigris ?? (endpointUrl !== undefined && /(^|\.)(storage|tigris)\.dev$/.test(endpointUrl.hostname));
    this.description = `s3://${this.bucket}/${this.prefix}${endpointUrl === undefined ? '' : ` (${endpointUrl.origin}${endpointUrl.pathname.replace(/\/$/, '')})`}`;
    const config: S3ClientConfig = {
      region: options.region || process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1',
      maxAttempts: this.maxAttempts,
      retryMode: 'standard',
      // Fail fast on a black-holed host; no overall request timeout, large parts take a while.
      requestHandler: { connectionTimeout: 10_000, socketTimeout: options.requestTimeoutMs ?? DEFAULT_SOCKET_TIMEOUT_MS },
      // The SDK would otherwise print to the console; failures reach callers as BmErrors.
      logger: silentLogger,
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(options.forcePathStyle === undefined ? {} : { forcePathStyle: options.forcePathStyle }),
      ...(options.credentials === undefined ? {} : { credentials: { ...options.credentials } }),
    };
    this.client = new S3Client(config);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    return this.readBytes(key, {});
  }

  /** The object's bytes as a stream of fresh chunks (which satisfy `getChunks`' contract too). */
  async getStream(key: string): Promise<Readable | undefined> {
    return this.readStream(key, {});
  }

  async getChunks(key: string): Promise<Chunks | undefined> {
    return this.readStream(key, {});
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array | undefined> {
    if (length === 0) return (await this.head(key)) === undefined ? undefined : new Uint8Array(0);
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: this.remoteKey(key),
      Range: `bytes=${offset}-${offset + length - 1}`,
    });
    let body: Readable;
    try {
      body = (await this.client.send(command)).Body as Readable;
    } catch (e) {
      const kind = classify(e);
      if (kind === 'missing') return undefined;
      // 416: the range starts past the object's end.
      if ((e as SdkErrorShape).$metadata?.httpStatusCode === 416) return new Uint8Array(0);
      throw this.failure(e, `reading ${key}`);
    }
    try {
      const bytes = await collectChunks(body);
      // A server that ignores Range answers the whole object.
      return bytes.length > length ? bytes.subarray(offset, offset + length) : bytes;
    } catch (e) {
      throw this.failure(e, `reading ${key}`);
    }
  }

  /** Note: S3 answers HEAD in a missing bucket with a bare 404, so this returns undefined there. */
  async head(key: string): Promise<{ size: number } | undefined> {
    return this.readHead(key, {});
  }

  async putIfAbsent(key: string, body: Body): Promise<'created' | 'identical'> {
    mustObjectKey(key);
    // A few rounds only matter when someone deletes the key between our write and our read.
    for (let round = 0; round < 3; round++) {
      const taken = !this.createOnlyEnforced && (await this.head(key)) !== undefined;
      if (!taken && (await this.createOnly(key, body)) === 'created') return 'created';
      const same = await this.sameContent(key, body);
      if (same === undefined) continue;
      if (same) return 'identical';
      throw objectExistsError(key);
    }
    throw new BmError(
      ErrorCode.remoteUnavailable,
      `object ${key} kept appearing and vanishing while it was written`,
      'another client is deleting it; retry later',
      { key },
    );
  }

  async list(prefix: string, options: { startAfter?: string; limit?: number } = {}): Promise<ListPage> {
    return this.listPage(prefix, options, {});
  }

  async delete(key: string): Promise<void> {
    const remote = this.remoteKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: remote }));
    } catch (e) {
      if (classify(e) === 'missing') return;
      throw this.failure(e, `deleting ${key}`);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  // --- ServerCapabilityProbe (used by probeStore) ---

  /** One create-only PUT with no HEAD pre-check: 'refused' only if the server itself refused. */
  async createOnlyServerSide(key: string, bytes: Uint8Array): Promise<'created' | 'refused'> {
    mustObjectKey(key);
    return (await this.createOnly(key, bytes)) === 'created' ? 'created' : 'refused';
  }

  /** GetBucketVersioning says Enabled. Servers without the call (emulators) count as false. */
  async versioningEnabled(): Promise<boolean> {
    try {
      const out = await this.client.send(new GetBucketVersioningCommand({ Bucket: this.bucket }));
      return out.Status === 'Enabled';
    } catch (e) {
      const kind = classify(e);
      if (kind === 'transient' || kind === 'noBucket') throw this.failure(e, 'reading the bucket versioning state');
      return false;
    }
  }

  /**
   * Only on Tigris endpoints, and by taking a snapshot named 'bm-log-probe' (snapshots are
   * O(1) and free on Tigris, but this does add one to the bucket's list).
   */
  async snapshotsAvailable(): Promise<boolean> {
    if (!this.tigris) return false;
    try {
      return (await this.takeSnapshot('bm-log-probe')) !== undefined;
    } catch (e) {
      if (e instanceof BmError && e.code === ErrorCode.remoteUnavailable) throw e;
      return false;
    }
  }

  // --- Tigris snapshots ---
  //
  // Implemented from the Tigris docs ("Bucket snapshots and forks"), not exercised against
  // real Tigris here (the tests only check that fauxqs ignores the headers):
  // - the bucket must have been created with `X-Tigris-Enable-Snapshot: true`;
  // - a snapshot is taken by CreateBucket on the existing bucket with
  //   `X-Tigris-Snapshot: true` or `true; name=<name>`, and its version comes back in the
  //   `X-Tigris-Snapshot-Version` response header;
  // - GetObject, HeadObject and ListObjectsV2 with `X-Tigris-Snapshot-Version: <version>`
  //   read the bucket as of that snapshot.
  // Not implemented: listing snapshots (ListBuckets with `X-Tigris-Snapshot: <bucket>`), forks.

  /**
   * Takes a bucket snapshot and returns its version, or undefined where snapshots are not
   * supported. On non-Tigris endpoints it sends nothing: CreateBucket on an existing AWS
   * bucket is not a harmless no-op.
   */
  async takeSnapshot(name?: string): Promise<string | undefined> {
    if (!this.tigris) return undefined;
    if (name !== undefined && !/^[\w .-]{1,100}$/.test(name)) {
      throw new BmError(
        ErrorCode.usage,
        `invalid snapshot name ${JSON.stringify(name)}`,
        'use letters, digits, spaces, dots, dashes and underscores',
      );
    }
    const command = new CreateBucketCommand({ Bucket: this.bucket });
    addRequestHeaders(command, { 'X-Tigris-Snapshot': name === undefined ? 'true' : `true; name=${name}` });
    const response = captureResponseHeaders(command);
    try {
      await this.client.send(command);
    } catch (e) {
      const code = errorCode(e);
      if (code === 'BucketAlreadyOwnedByYou' || code === 'BucketAlreadyExists') return undefined;
      throw this.failure(e, 'taking a snapshot');
    }
    return response.headers[SNAPSHOT_VERSION_HEADER] || undefined;
  }

  /**
   * The snapshot port of this bucket (ADR-0034): undefined off Tigris. Snapshots are taken
   * unnamed; a bucket that refuses them (created without `X-Tigris-Enable-Snapshot`) takes
   * none (undefined), as `snapshotsAvailable` says; `get` reads through `readAtSnapshot`.
   */
  snapshotPort(): SnapshotPort | undefined {
    if (!this.tigris) return undefined;
    const take = async (): Promise<string | undefined> => {
      try {
        return await this.takeSnapshot();
      } catch (e) {
        if (e instanceof BmError && e.code === ErrorCode.remoteUnavailable) throw e;
        return undefined;
      }
    };
    return { take, get: (version, key) => this.readAtSnapshot(version).get(key) };
  }

  /** Reads and lists the bucket as of a Tigris snapshot version (see takeSnapshot). */
  readAtSnapshot(version: string): SnapshotReader {
    if (!/^\d+$/.test(version))
      throw new BmError(
        ErrorCode.usage,
        `invalid snapshot version ${JSON.stringify(version)}`,
        'a Tigris snapshot version is a decimal timestamp',
      );
    const headers = { 'X-Tigris-Snapshot-Version': version };
    return {
      get: (key) => this.readBytes(key, headers),
      getStream: (key) => this.readStream(key, headers),
      head: (key) => this.readHead(key, headers),
      list: (prefix, options = {}) => this.listPage(prefix, options, headers),
    };
  }

  // --- internals ---

  private remoteKey(key: string): string {
    return this.prefix + mustObjectKey(key);
  }

  private async readBytes(key: string, headers: Headers): Promise<Uint8Array | undefined> {
    const stream = await this.readStream(key, headers);
    if (stream === undefined) return undefined;
    try {
      return await collectChunks(stream);
    } catch (e) {
      throw this.failure(e, `reading ${key}`);
    }
  }

  private async readStream(key: string, headers: Headers): Promise<Readable | undefined> {
    const command = new GetObjectCommand({ Bucket: this.bucket, Key: this.remoteKey(key) });
    addRequestHeaders(command, headers);
    try {
      const out = await this.client.send(command);
      // In Node the body is an http.IncomingMessage with the SDK's stream mixin.
      return out.Body as Readable;
    } catch (e) {
      if (classify(e) === 'missing') return undefined;
      throw this.failure(e, `reading ${key}`);
    }
  }

  private async readHead(key: string, headers: Headers): Promise<{ size: number } | undefined> {
    const command = new HeadObjectCommand({ Bucket: this.bucket, Key: this.remoteKey(key) });
    addRequestHeaders(command, headers);
    try {
      const out = await this.client.send(command);
      return { size: out.ContentLength ?? 0 };
    } catch (e) {
      if (classify(e) === 'missing') return undefined;
      throw this.failure(e, `checking ${key}`);
    }
  }

  private async listPage(prefix: string, options: { startAfter?: string; limit?: number }, headers: Headers): Promise<ListPage> {
    mustListPrefix(prefix);
    const limit = Math.max(1, Math.min(options.limit ?? 1000, 1000));
    const command = new ListObjectsV2Command({
      Bucket: this.bucket,
      Prefix: this.prefix + prefix,
      MaxKeys: limit,
      ...(options.startAfter ? { StartAfter: this.prefix + options.startAfter } : {}),
    });
    addRequestHeaders(command, headers);
    try {
      const out = await this.client.send(command);
      const objects = (out.Contents ?? []).flatMap((o) =>
        o.Key?.startsWith(this.prefix)
          ? [{ key: o.Key.slice(this.prefix.length), size: o.Size ?? 0, ...(o.ETag ? { tag: o.ETag } : {}) }]
          : [],
      );
      return { objects, truncated: out.IsTruncated === true };
    } catch (e) {
      throw this.failure(e, `listing ${prefix || '(root)'}`);
    }
  }

  private oneMultipartAtATime<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.multipartTail.then(fn);
    this.multipartTail = run.catch(() => undefined);
    return run;
  }

  /** One create-only write; 'exists' when the server refused because the key is taken. */
  private async createOnly(key: string, body: Body): Promise<'created' | 'exists'> {
    if (isStreamBody(body))
      return body.size > MULTIPART_THRESHOLD
        ? this.oneMultipartAtATime(() => this.createFromStream(key, body))
        : this.createFromStream(key, body);
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: this.remoteKey(key), Body: body, ContentLength: body.length, IfNoneMatch: '*' }),
      );
      return 'created';
    } catch (e) {
      if (classify(e) === 'exists') return 'exists';
      throw this.failure(e, `writing ${key}`);
    }
  }

  /**
   * Streams the source through a hashing check into PutObject, or a multipart Upload above
   * MULTIPART_THRESHOLD (which holds at most PART_QUEUE_SIZE parts in memory). A source
   * that no longer matches its size and SHA-256 fails the stream before the body ends, so
   * the request is aborted (multipart uploads are aborted, never completed).
   */
  private async createFromStream(key: string, body: StreamBody): Promise<'created' | 'exists'> {
    const remote = this.remoteKey(key);
    for (let attempt = 1; ; attempt++) {
      // The SDK keeps what it is given (a multipart upload gathers whole parts), so the lent
      // chunks are copied.
      const source = Readable.from(copyChunks(body.open()), { objectMode: false });
      const check = new VerifyingStream(body);
      let sourceError: unknown;
      source.once('error', (e) => {
        sourceError = e;
        check.destroy(e);
      });
      const verified = source.pipe(check);
      // A failed check must stop the request before its body completes. Upload reads the
      // stream itself and aborts on its error; for a plain PUT the error is not passed on
      // (the SDK's body wrapper would rethrow it unhandled): the request is aborted instead.
      const abort = new AbortController();
      check.on('error', () => abort.abort());
      try {
        if (body.size > MULTIPART_THRESHOLD) {
          const upload = new Upload({
            client: this.client,
            params: { Bucket: this.bucket, Key: remote, Body: verified, ContentLength: body.size, IfNoneMatch: '*' },
            partSize: PART_SIZE,
            queueSize: PART_QUEUE_SIZE,
            leavePartsOnError: false,
          });
          await upload.done();
        } else {
          await this.client.send(
            new PutObjectCommand({
              Bucket: this.bucket,
              Key: remote,
              Body: verified.pipe(new PassThrough()),
              ContentLength: body.size,
              IfNoneMatch: '*',
            }),
            { abortSignal: abort.signal },
          );
        }
        if (check.result === 'match') return 'created';
      } catch (e) {
        source.destroy();
        check.destroy();
        if (sourceError !== undefined) {
          throw new BmError(
            ErrorCode.localIo,
            `reading the source for ${key} failed while uploading`,
            'nothing was stored; check the local file, the next sync retries',
            { key },
            { cause: sourceError },
          );
        }
        if (check.result !== 'mismatch') {
          const kind = classify(e);
          if (kind === 'exists') return 'exists';
          if (kind === 'transient' && attempt < this.maxAttempts) {
            await backoff(attempt);
            continue;
          }
          throw this.failure(e, `writing ${key}`);
        }
      }
      await this.removeUnverifiedUpload(key, check);
      throw new BmError(ErrorCode.localIo, `source for ${key} changed while uploading`, 'nothing was stored; the next sync retries', {
        key,
      });
    }
  }

  /**
   * After a source mismatch: a single PUT may still have been committed if the server had
   * all Content-Length bytes before the abort. Delete the object only if it holds exactly
   * the bytes we sent, which differ from the claimed hash, so it cannot be anyone's valid
   * object for this content-addressed key.
   */
  private async removeUnverifiedUpload(key: string, check: VerifyingStream): Promise<void> {
    const stream = await this.getStream(key);
    if (stream === undefined) return;
    const stored = await hashStream(stream).catch((e: unknown) => {
      throw this.failure(e, `checking ${key} after a failed upload`);
    });
    if (stored.size === check.sentSize && stored.sha256 === check.sentSha256()) await this.delete(key);
  }

  /** Whether the stored object has `body`'s bytes; undefined when it is missing. */
  private async sameContent(key: string, body: Body): Promise<boolean | undefined> {
    const stream = await this.getStream(key);
    if (stream === undefined) return undefined;
    try {
      if (!isStreamBody(body)) return bytesEqual(await collectChunks(stream), body);
      const stored = await hashStream(stream);
      return stored.size === body.size && stored.sha256 === body.sha256;
    } catch (e) {
      throw this.failure(e, `reading ${key}`);
    }
  }

  /** Maps an SDK or network error to a BmError. Messages never carry credentials. */
  private failure(e: unknown, what: string): BmError {
    if (e instanceof BmError) return e;
    const code = errorCode(e) ?? 'unknown error';
    const message = `${this.description}: ${what} failed (${code})`;
    switch (classify(e)) {
      case 'noBucket':
        return new BmError(
          ErrorCode.config,
          message,
          'the bucket does not exist: fix the bucket name, region or endpoint in the remote configuration, or create the bucket',
          {},
          { cause: e },
        );
      case 'noCredentials':
        return new BmError(
          ErrorCode.config,
          `${this.description}: ${what} failed: no AWS credentials were found, so nothing was sent (${credentialsDetail(e)})`,
          CREDENTIALS_HINT,
          {},
          { cause: e },
        );
      case 'auth':
        return new BmError(
          ErrorCode.config,
          message,
          'the server refused the credentials: check the access key and secret (options, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the AWS profile) and that they may read and write this bucket',
          {},
          { cause: e },
        );
      case 'rejected':
        return new BmError(
          ErrorCode.config,
          message,
          'the server rejected the request: check the endpoint, region and path-style setting',
          {},
          { cause: e },
        );
      case 'transient':
      case 'missing':
      case 'exists':
        return new BmError(
          ErrorCode.remoteUnavailable,
          message,
          'the S3 endpoint is unreachable or failing after retries: check the network and endpoint, then sync again (writes are create-only, so retrying is safe)',
          {},
          { cause: e },
        );
    }
  }
}

const silentLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

type ErrorKind = 'missing' | 'exists' | 'noBucket' | 'noCredentials' | 'auth' | 'rejected' | 'transient';

const AUTH_CODES = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'AllAccessDisabled',
]);
/** Errors of the SDK's credential chain: raised before any request is sent. */
const CREDENTIAL_CHAIN_ERRORS = new Set(['CredentialsProviderError', 'TokenProviderError']);

/** Where the SDK's default chain looks, in its order (bm-log never stores credentials). */
const CREDENTIALS_HINT =
  'set credentials where the AWS chain looks, in this order: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN); ' +
  'the profile AWS_PROFILE names (else "default") in ~/.aws/credentials and ~/.aws/config (or AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE), ' +
  'SSO profiles included (run `aws sso login --profile NAME`); a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE); ' +
  'the container or EC2 instance role; then retry';

/** The chain's own reason (which profile, an expired SSO session...), one line; it never holds a secret. */
function credentialsDetail(e: unknown): string {
  const m = e instanceof Error ? e.message.split('\n')[0]!.trim().slice(0, 200) : '';
  return `${m === '' ? 'no provider had any' : m}; profile ${JSON.stringify(process.env['AWS_PROFILE'] ?? 'default')}`;
}

interface SdkErrorShape {
  name?: string;
  Code?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

function errorCode(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const err = e as SdkErrorShape;
  return err.Code ?? (err.$metadata?.httpStatusCode === undefined ? (err.code ?? err.name) : err.name);
}

function classify(e: unknown): ErrorKind {
  const err = (typeof e === 'object' && e !== null ? e : {}) as SdkErrorShape;
  const status = err.$metadata?.httpStatusCode;
  const code = errorCode(e);
  if (code === 'NoSuchBucket') return 'noBucket';
  if (status === undefined && (CREDENTIAL_CHAIN_ERRORS.has(err.name ?? '') || CREDENTIAL_CHAIN_ERRORS.has(code ?? '')))
    return 'noCredentials';
  if (code === 'NoSuchKey' || (status === 404 && code === 'NotFound')) return 'missing';
  if (status === 412 || code === 'PreconditionFailed' || code === 'ConditionalRequestConflict') return 'exists';
  if (status === 401 || status === 403 || (code !== undefined && AUTH_CODES.has(code))) return 'auth';
  if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429 && code !== 'RequestTimeout')
    return 'rejected';
  // 5xx, 408/429, throttling, and errors with no HTTP response at all (refused, reset, DNS, timeouts).
  return 'transient';
}

async function backoff(attempt: number): Promise<void> {
  const ms = Math.min(5000, 100 * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
  await new Promise((r) => setTimeout(r, ms));
}

function parseEndpoint(endpoint: string): URL {
  try {
    return new URL(endpoint);
  } catch {
    throw new BmError(
      ErrorCode.config,
      'the S3 endpoint is not a valid URL',
      'use a URL like https://s3.example.com or http://127.0.0.1:9000',
    );
  }
}

async function hashStream(stream: Readable): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    const buf = chunk as Buffer;
    hash.update(buf);
    size += buf.length;
  }
  return { sha256: hash.digest('hex'), size };
}

/**
 * Passes bytes through while hashing them. It errors (which aborts the upload before the
 * body is complete) as soon as the source grows past the expected size, or at the end when
 * size or SHA-256 differ. `sentSize`/`sentSha256` describe what was actually passed on.
 */
class VerifyingStream extends Transform {
  result: 'pending' | 'match' | 'mismatch' = 'pending';
  sentSize = 0;
  private readonly hash = createHash('sha256');
  private digest: string | undefined;

  constructor(private readonly expected: StreamBody) {
    super();
  }

  sentSha256(): string {
    this.digest ??= this.hash.digest('hex');
    return this.digest;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.sentSize + chunk.length > this.expected.size) {
      this.result = 'mismatch';
      callback(new Error('source grew while uploading'));
      return;
    }
    this.sentSize += chunk.length;
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.sentSize !== this.expected.size || this.sentSha256() !== this.expected.sha256) {
      this.result = 'mismatch';
      callback(new Error('source changed while uploading'));
      return;
    }
    this.result = 'match';
    callback();
  }
}

/** Any SDK command; its middleware stack is typed per command, so it is narrowed here. */
interface HeaderCommand {
  readonly middlewareStack: unknown;
}

function addMiddleware(command: HeaderCommand, middleware: unknown, options: { step: 'build' | 'deserialize'; name: string }): void {
  (command.middlewareStack as { add(middleware: unknown, options: object): void }).add(middleware, options);
}

/** Adds request headers to one command (before signing, so they are signed). */
function addRequestHeaders(command: HeaderCommand, headers: Headers): void {
  if (Object.keys(headers).length === 0) return;
  const middleware = (next: (args: { request: unknown }) => Promise<unknown>) => async (args: { request: unknown }) => {
    const request = args.request as { headers?: Record<string, string> };
    if (request.headers !== undefined) Object.assign(request.headers, headers);
    return next(args);
  };
  addMiddleware(command, middleware, { step: 'build', name: 'bmLogRequestHeaders' });
}

/** Captures the raw response headers (lower-cased by Node) of one command. */
function captureResponseHeaders(command: HeaderCommand): { headers: Record<string, string> } {
  const captured = { headers: {} as Record<string, string> };
  const middleware = (next: (args: unknown) => Promise<{ response: unknown }>) => async (args: unknown) => {
    const out = await next(args);
    const response = out.response as { headers?: Record<string, string> };
    captured.headers = response.headers ?? {};
    return out;
  };
  addMiddleware(command, middleware, { step: 'deserialize', name: 'bmLogResponseHeaders' });
  return captured;
}
