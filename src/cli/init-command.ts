import { executeInit } from '../client/client-session.js';
import { executeInitEncryption, mustEncryptFlags } from '../client/init-encryption.js';
import { BmError, ErrorCode } from '../errors.js';
import { decodeInvitation } from '../members/invitation.js';
import { ExitCode } from './exit-codes.js';
import { shellCommand } from '../client/human-text.js';
import type { InitFlags } from './options.js';
import type { Output } from './output.js';
import { runSyncCommand } from './sync-command.js';

/** The arguments of an `init` with these flags (for a hint that repeats the command with a change). Pure. */
function initArgs(o: InitFlags): string[] {
  return [
    'init',
    ...(o.create ? ['--create'] : []),
    ...(o.encrypt === true ? ['--encrypt'] : []),
    ...['--remote', o.remote],
    ...(o.name !== undefined ? ['--name', o.name] : []),
    ...(o.endpoint !== undefined ? ['--endpoint', o.endpoint] : []),
    ...(o.region !== undefined ? ['--region', o.region] : []),
    ...(o.pathStyle ? ['--path-style'] : []),
    ...(o.sync ? [] : ['--no-sync']),
    ...(o.dir !== undefined ? ['--dir', o.dir] : []),
  ];
}

/**
 * The flags with `--join TOKEN` read (ADR-0021): the remote is the token's (a `--remote` must
 * name the same), and the vault and root fingerprint it holds are pinned. Throws a usage error
 * for a bad token, `--join` with `--create`, or neither `--remote` nor `--join`.
 */
function computeJoinFlags(o: InitFlags): { o: InitFlags & { remote: string }; pin?: { vault: string; root: string } } {
  if (o.join === undefined) {
    if (o.remote === undefined)
      throw new BmError(ErrorCode.usage, 'init needs --remote URL (or --join TOKEN)', 'run with --help for usage');
    return { o: { ...o, remote: o.remote } };
  }
  if (o.create === true)
    throw new BmError(ErrorCode.usage, '--join joins an existing vault; it cannot be used with --create', 'drop one of them');
  const invitation = decodeInvitation(o.join);
  if (o.remote !== undefined && o.remote !== invitation.remote)
    throw new BmError(ErrorCode.usage, `--remote ${o.remote} is not the remote of the invitation (${invitation.remote})`, 'drop --remote');
  return { o: { ...o, remote: invitation.remote }, pin: { vault: invitation.vault, root: invitation.root } };
}

/** What a joiner of an encrypted vault is told. Pure. */
function computeWaitingLine(name: string, fingerprint: string): string {
  const admit = shellCommand(['members', 'add', name]);
  const then = 'then run `bm-log sync`';
  return `this vault is end-to-end encrypted: an admin admits this client with \`${admit}\` after checking its key fingerprint ${fingerprint}; ${then}`;
}

/** Pure: what a joiner of a vault with members is told (ADR-0032): it waits for an admin, who checks this fingerprint. */
export function computePendingJoinLine(name: string, fingerprint: string): string {
  return (
    `this client waits to be admitted (its changes are held back until then): its key fingerprint is ${fingerprint}; ` +
    `give it to an admin, who checks it and runs \`${shellCommand(['members', 'add', name])}\``
  );
}

/**
 * `bm-log init --remote URL [--create]`: make a folder a client of the vault the remote holds
 * (or of a new one), then run the first sync unless `--no-sync`.
 */
export async function runInitCommand(flags: InitFlags, out: Output): Promise<number> {
  const { o, pin } = computeJoinFlags(flags);
  mustEncryptFlags(flags);
  const remote = {
    url: o.remote,
    ...(o.endpoint !== undefined ? { endpoint: o.endpoint } : {}),
    ...(o.region !== undefined ? { region: o.region } : {}),
    ...(o.pathStyle ? { forcePathStyle: true } : {}),
  };
  const createCommand = shellCommand(initArgs({ ...o, create: true }));
  const r = await executeInit(o.dir ?? process.cwd(), {
    remote,
    create: o.create === true,
    createCommand,
    ...(pin === undefined ? {} : { pin }),
    ...(o.name !== undefined ? { name: o.name } : {}),
  });
  const { encrypted, waitingFingerprint } = await executeInitEncryption(r.root, {
    encrypt: o.encrypt === true,
    createdVault: r.createdVault,
  });
  const { clientId, name, vaultId } = r.config;
  const info = {
    root: r.root,
    client: clientId,
    name,
    vault: vaultId,
    remote: r.config.remote.url,
    newRemote: r.createdVault,
    encrypted,
    capabilities: r.capabilities,
    ...r.member,
  };
  // A joiner of an encrypted vault holds no content key until an admin admits it (ADR-0031): nothing to sync yet.
  const waiting =
    waitingFingerprint !== undefined
      ? [computeWaitingLine(name, waitingFingerprint)]
      : r.member.pending
        ? [computePendingJoinLine(name, r.member.fingerprint)]
        : [];
  const initialised = [
    `initialised ${r.root} as client ${name} (${clientId}) of ${r.config.remote.url}${r.createdVault ? ' (a new vault)' : ''}`,
    ...(r.createdVault ? [`this client is the vault's admin: a client that joins waits until you run \`${shellCommand(['members', 'add', 'NAME'])}\``] : []),
    ...waiting,
  ];
  if (!o.sync || waitingFingerprint !== undefined) {
    out.result(o.json, info, () => initialised);
    return ExitCode.ok;
  }
  if (!o.json) for (const line of initialised) out.line(line);
  return runSyncCommand({ dir: r.root, json: o.json === true, init: info }, out);
}
