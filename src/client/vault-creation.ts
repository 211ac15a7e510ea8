import * as fs from 'node:fs/promises';
import { BmError, ErrorCode } from '../errors.js';
import type { VaultId } from '../events/ids.js';
import { VAULT_KEY } from '../events/layout.js';
import { readVault } from '../events/log.js';
import type { ObjectStore } from '../events/store/object-store.js';
import { PROBE_PREFIX } from '../events/store/probe-store.js';

/**
 * What a remote holds, as `init` sees it before writing anything (ADR-0018): no folder at
 * all, nothing (probe leftovers aside), a vault, or other things (not a bm-log remote).
 */
export type RemoteHolds =
  | { readonly kind: 'missing' }
  | { readonly kind: 'empty' }
  | { readonly kind: 'vault'; readonly vault: VaultId }
  | { readonly kind: 'other'; readonly example: string };

/** `init --create` makes a new vault; plain `init` joins one (`--join TOKEN` will, pinning its root; issue 23). */
export type InitMode = 'create' | 'join';

export type InitDecision =
  | { readonly action: 'create' }
  | { readonly action: 'join'; readonly vault: VaultId }
  | { readonly action: 'refuse'; readonly error: BmError };

/**
 * Pure: what `init` does with a remote holding `holds`. A vault is only ever created when
 * asked (`--create`), so a typo or an unmounted share is never taken for a new team folder;
 * `--create` never joins a vault that is already there, nor fills a folder holding other things.
 * `remote` names the remote in messages; `createCommand` is the command that creates it.
 */
export function planInit(holds: RemoteHolds, mode: InitMode, remote: string, createCommand: string): InitDecision {
  const refuse = (message: string, hint: string): InitDecision => ({
    action: 'refuse',
    error: new BmError(ErrorCode.usage, message, hint, { remote: holds.kind }),
  });
  const howToCreate = `to start a new vault there, run \`${createCommand}\``;
  switch (holds.kind) {
    case 'vault':
      if (mode === 'join') return { action: 'join', vault: holds.vault };
      return refuse(
        `${remote} already holds a bm-log vault (${holds.vault}); --create makes a new one`,
        'to join that vault, run the same command without --create; for a new vault, choose another folder or prefix',
      );
    case 'empty':
      if (mode === 'create') return { action: 'create' };
      return refuse(
        `${remote} holds no bm-log vault (it is empty); init joins an existing vault unless told to create one`,
        `${howToCreate}; to join an existing one, check the remote's path or URL`,
      );
    case 'missing':
      if (mode === 'create') return { action: 'create' };
      return refuse(
        `the remote folder ${remote} does not exist; init joins an existing vault unless told to create one`,
        `check the path (and that the shared folder is mounted); ${howToCreate}`,
      );
    case 'other':
      return refuse(
        `${remote} holds other files (${holds.example}) and no bm-log vault`,
        mode === 'create'
          ? 'choose an empty or new folder (or S3 prefix) for a new vault'
          : "check the remote's path or URL: it is not a bm-log remote",
      );
  }
}

/** How many keys `inspectRemote` looks at to tell an empty remote from one holding other things. */
const LOOK_AT = 10;

/**
 * What the remote holds, read without writing. `dir` is the folder of a directory remote
 * (read with one readdir, never walked: it may be any folder); S3 remotes list a few keys.
 */
export async function inspectRemote(store: ObjectStore | undefined, dir: string | undefined): Promise<RemoteHolds> {
  if (dir !== undefined) {
    const names = await fs.readdir(dir).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw new BmError(
        ErrorCode.config,
        `the remote folder ${dir} cannot be read (${e.code ?? e.message})`,
        'check the path and that this user may read and write it',
      );
    });
    if (names === undefined) return { kind: 'missing' };
    if (!names.includes(VAULT_KEY)) {
      const other = names.find((n) => `${n}/` !== PROBE_PREFIX);
      return other === undefined ? { kind: 'empty' } : { kind: 'other', example: other };
    }
  }
  if (store === undefined) return { kind: 'missing' };
  const vault = await readVault(store);
  if (vault !== undefined) return { kind: 'vault', vault };
  const page = await store.list('', { limit: LOOK_AT });
  const other = page.objects.find((o) => !o.key.startsWith(PROBE_PREFIX));
  return other === undefined ? { kind: 'empty' } : { kind: 'other', example: other.key };
}
