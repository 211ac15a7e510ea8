/**
 * Members in in-process tests (ADR-0032): a vault made by `init --create` admits only who its
 * admin adds, so a test with several clients has the creator admit the others, or starts from a
 * vault an earlier release made (format 1, open: every client counts).
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { withClient } from '../../src/client/client-queries.js';
import { executeMemberChange } from '../../src/client/member-actions.js';
import { encodeVault } from '../../src/events/codec.js';
import { ulidFactory, type VaultId } from '../../src/events/ids.js';

/** `bm-log members add NAME` run by the admin client at `adminDir`; throws unless it counted. */
export async function admitMember(adminDir: string, name: string): Promise<void> {
  const r = await withClient(adminDir, (s) => executeMemberChange(s.ctx, { action: 'add', target: name }));
  if (!r.counted) throw new Error(`admitting ${name} did not count: ${r.rejected ?? 'not counted'}`);
}

/** Puts the format-1 `vault` marker an earlier release wrote into the directory remote `remoteDir` (an open vault); clients then join it. */
export async function createFormat1Vault(remoteDir: string): Promise<VaultId> {
  const vault = ulidFactory()() as VaultId;
  await fs.mkdir(remoteDir, { recursive: true });
  await fs.writeFile(path.join(remoteDir, 'vault'), encodeVault({ v: 1, vault, time: new Date().toISOString() }));
  return vault;
}
