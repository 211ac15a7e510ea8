import { BmError, ErrorCode } from '../errors.js';
import { decodeInvitation } from '../members/invitation.js';
import { executeInit } from '../client/client-session.js';
import { executeInitEncryption, mustEncryptFlags } from '../client/init-encryption.js';

/*
 * Making a folder a client of a vault (`bm-log init`; the API's `initFolder`; issue 26,
 * ADR-0028): the remote (or an invitation token naming it, ADR-0021), a new vault or the one
 * the remote holds, this client's name. The first sync is the caller's: the CLI runs its
 * `sync` (printed), a program opens the folder and calls `sync`.
 */

/** What `initFolder` is asked. */
export interface InitFolderOptions {
  /** The remote: `s3://bucket/prefix` or a directory. Optional with `join` (the token names it; if given, it must match). */
  readonly remote?: string;
  /** An invitation token (`bm-log members invite`): its remote, vault and pinned root key. */
  readonly join?: string;
  /** Make a new vault; otherwise join the one the remote holds (ADR-0018). Not with `join`. */
  readonly create?: boolean;
  /** This client's name (default user@host). */
  readonly name?: string;
  /** An S3 endpoint (S3-compatible stores), region, and path-style addressing. */
  readonly endpoint?: string;
  readonly region?: string;
  readonly pathStyle?: boolean;
  /** End-to-end encryption for a new vault (ADR-0031); only with `create`. */
  readonly encrypt?: boolean;
  /** The command that would create a vault here, for the hint when the remote holds none (default: `bm-log init --create`). */
  readonly createCommand?: string;
}

/** The client `initFolder` made. */
export interface InitFolderResult {
  readonly root: string;
  readonly client: string;
  readonly name: string;
  readonly vault: string;
  readonly remote: string;
  /** True when this init made a new vault. */
  readonly newRemote: boolean;
  readonly capabilities: Awaited<ReturnType<typeof executeInit>>['capabilities'];
  /** True for an end-to-end encrypted vault (ADR-0031). */
  readonly encrypted: boolean;
  /** This client's key fingerprint, and whether it waits for an admin to admit it (ADR-0032). */
  readonly fingerprint: string;
  readonly pending: boolean;
  /** Set when this client joined an encrypted vault: it holds no content key until admitted, so there is nothing to sync yet. */
  readonly waitingFingerprint?: string;
}

/**
 * Pure: the remote and the pinned vault of an init: with `join`, the token's remote (a `remote`
 * must name the same) and the vault and root fingerprint it holds. A usage error for a bad
 * token, `join` with `create`, or neither `remote` nor `join`.
 */
export function computeInitRemote(o: InitFolderOptions): { remote: string; pin?: { vault: string; root: string } } {
  if (o.join === undefined) {
    if (o.remote === undefined)
      throw new BmError(ErrorCode.usage, 'init needs --remote URL (or --join TOKEN)', 'run with --help for usage');
    return { remote: o.remote };
  }
  if (o.create === true)
    throw new BmError(ErrorCode.usage, '--join joins an existing vault; it cannot be used with --create', 'drop one of them');
  const invitation = decodeInvitation(o.join);
  if (o.remote !== undefined && o.remote !== invitation.remote)
    throw new BmError(ErrorCode.usage, `--remote ${o.remote} is not the remote of the invitation (${invitation.remote})`, 'drop --remote');
  return { remote: invitation.remote, pin: { vault: invitation.vault, root: invitation.root } };
}

/** Makes `dir` a client of the vault the remote holds (or of a new one, `create`); does not sync. */
export async function initFolder(dir: string, o: InitFolderOptions): Promise<InitFolderResult> {
  const { remote: url, pin } = computeInitRemote(o);
  mustEncryptFlags(o);
  const remote = {
    url,
    ...(o.endpoint !== undefined ? { endpoint: o.endpoint } : {}),
    ...(o.region !== undefined ? { region: o.region } : {}),
    ...(o.pathStyle ? { forcePathStyle: true } : {}),
  };
  const r = await executeInit(dir, {
    remote,
    create: o.create === true,
    ...(o.createCommand !== undefined ? { createCommand: o.createCommand } : {}),
    ...(pin === undefined ? {} : { pin }),
    ...(o.name !== undefined ? { name: o.name } : {}),
  });
  const { encrypted, waitingFingerprint } = await executeInitEncryption(r.root, {
    encrypt: o.encrypt === true,
    createdVault: r.createdVault,
  });
  const { clientId, name, vaultId } = r.config;
  return {
    root: r.root,
    client: clientId,
    name,
    vault: vaultId,
    remote: r.config.remote.url,
    newRemote: r.createdVault,
    capabilities: r.capabilities,
    encrypted,
    ...r.member,
    ...(waitingFingerprint !== undefined ? { waitingFingerprint } : {}),
  };
}
