/**
 * Expected failures. Every error that reaches a user is a BmError with a stable `code`
 * and a `hint` that says what to do next. The CLI maps codes to exit codes in one place
 * (src/cli/exit-codes.ts); nothing below the CLI calls process.exit.
 */
export const ErrorCode = {
  usage: 'usage',
  config: 'config',
  notAClient: 'not-a-client',
  alreadyRunning: 'already-running',
  remoteUnavailable: 'remote-unavailable',
  objectExists: 'object-exists',
  notFound: 'not-found',
  localIo: 'local-io',
  diskFull: 'disk-full',
  safetyGuard: 'safety-guard',
  badPath: 'bad-path',
  malformed: 'malformed',
  /** An object of a format newer than this release reads: not an integrity fault; upgrade bm-log (ADR-0019, exit 6). */
  unknownVersion: 'unknown-version',
  badSignature: 'bad-signature',
  unknownKey: 'unknown-key',
  keyMismatch: 'key-mismatch',
  brokenChain: 'broken-chain',
  equivocation: 'equivocation',
  blobCorrupt: 'blob-corrupt',
  blobMissing: 'blob-missing',
  wrongVault: 'wrong-vault',
  /** A writer checkpoint says something its writer's own log does not (ADR-0014). */
  unsupportedCheckpoint: 'unsupported-checkpoint',
  /** Encrypted data or a wrapped key made for another key than this client holds (ADR-0021). */
  wrongKey: 'wrong-key',
  /** Encrypted data or a wrapped key that fails its authentication: altered or damaged (ADR-0021). */
  tampered: 'tampered',
  /** Encrypted data of a key epoch this client holds no key for: written after its removal, or not yet rekeyed for it (ADR-0021). */
  unknownEpoch: 'unknown-epoch',
  /** A sync or GC run took too long between its fetch and its publish (ADR-0007); retry. */
  staleFetch: 'stale-fetch',
  /** A write or delete through the API named a version that is no longer the current one (issue 26). */
  staleVersion: 'stale-version',
  internal: 'internal',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Codes that mean the data read from the remote cannot be trusted. */
export const integrityCodes: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.malformed,
  ErrorCode.badSignature,
  ErrorCode.unknownKey,
  ErrorCode.keyMismatch,
  ErrorCode.brokenChain,
  ErrorCode.equivocation,
  ErrorCode.blobCorrupt,
  ErrorCode.blobMissing,
  ErrorCode.wrongVault,
  ErrorCode.badPath,
  ErrorCode.unsupportedCheckpoint,
  ErrorCode.wrongKey,
  ErrorCode.tampered,
  ErrorCode.unknownEpoch,
]);

export class BmError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, hint = '', details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BmError';
    this.code = code;
    this.hint = hint;
    this.details = details;
  }
}

/** True when `e` is a BmError with one of `codes` (any code when none given). */
export function isBmError(e: unknown, ...codes: ErrorCode[]): e is BmError {
  return e instanceof BmError && (codes.length === 0 || codes.includes(e.code));
}

/** For exhaustive switches over unions. */
export function unreachable(x: never): never {
  throw new BmError(ErrorCode.internal, `unreachable case: ${JSON.stringify(x)}`);
}

/**
 * A write or delete through the API (src/api) that named a version of `path` that is no
 * longer the current one, refused (`onStale: 'refuse'`): nothing was written or published.
 * `current` is every head of the path now (one id, or several in a conflict; empty when the
 * path does not exist), so the caller can read the current version and decide again.
 */
export class StaleVersionError extends BmError {
  readonly path: string;
  readonly expected: string | null;
  readonly current: readonly string[];

  constructor(path: string, expected: string | null, current: readonly string[]) {
    const now = current.length === 0 ? 'the path does not exist' : `the current version is ${current.join(' and ')}`;
    super(
      ErrorCode.staleVersion,
      `${path} changed since version ${expected ?? '(none)'}: ${now}; nothing was written`,
      'read the path again (its bytes and current version), merge your change into it, and write with that version',
      { path, expected, current: [...current] },
    );
    this.name = 'StaleVersionError';
    this.path = path;
    this.expected = expected;
    this.current = current;
  }
}
