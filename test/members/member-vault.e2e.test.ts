/**
 * A vault made by `init --create` has members from its first object (ADR-0032), tried as users
 * would: the built CLI as a child process on a directory remote. The creator is the admin; a
 * joiner waits (its changes held back) and is shown once by the admin's next sync, every time by
 * `members` and `status`; after `members add` its files reach the others. A `keys/root` a bucket
 * writer adds to such a vault changes nothing: its root is the signed marker.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeFingerprint } from '../../src/crypto/fingerprint.js';
import type { ClientId, VaultId } from '../../src/events/ids.js';
import { generateKeyPair } from '../../src/events/signing.js';
import { decodeVaultRoot, encodeVaultRoot, computeVaultRootBody, VAULT_ROOT_KEY } from '../../src/members/vault-root.js';
import { EXIT, expectExit, runCli, useWorlds, type Client, type World } from '../cli/support/cli.js';

const { world } = useWorlds();

interface Joiner {
  readonly pending: boolean;
  readonly fingerprint: string;
}

/** `init` (join, with its first sync) for `name`, not admitted (World.init would admit it). */
async function joinUnadmitted(w: World, name: string, files: Record<string, string>, exit: number): Promise<{ c: Client; init: Joiner }> {
  const c = w.client(name);
  await fs.mkdir(c.dir, { recursive: true });
  for (const [rel, text] of Object.entries(files)) await c.write(rel, text);
  const r = expectExit(await runCli(['init', '--remote', w.remoteUrl, '--name', name, '--dir', c.dir, '--json']), exit);
  return { c, init: (r.json as { init: Joiner }).init };
}

async function configOf(c: Client): Promise<{ clientId: string; vaultId: string }> {
  return JSON.parse(await fs.readFile(path.join(c.dir, '.bm-log', 'config.json'), 'utf8')) as { clientId: string; vaultId: string };
}

describe('a vault made by init --create has members from its first object (ADR-0032)', () => {
  it('the creator is its admin; a joiner waits, shown once by the next sync and always by members and status; admitted, its files reach the others', async () => {
    const w = await world();
    const alice = await w.init('alice', { files: { 'a.md': 'from alice\n' } });
    const aliceId = (await configOf(alice)).clientId;
    // The marker is the signed root naming alice.
    const vault = (await configOf(alice)).vaultId;
    const marker = decodeVaultRoot(await fs.readFile(path.join(w.remoteDir, 'vault')), vault);
    expect(marker.root.client).toBe(aliceId);
    expect(await fs.stat(path.join(w.remoteDir, ...VAULT_ROOT_KEY.split('/'))).catch(() => undefined)).toBeUndefined();

    // Bob joins with a file of his own: it downloads, his file is held back (exit 3).
    const { c: bob, init } = await joinUnadmitted(w, 'bob', { 'b.md': 'from bob\n' }, EXIT.retry);
    expect(init.pending).toBe(true);
    expect(init.fingerprint).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){4}$/);
    expect(await bob.read('a.md')).toBe('from alice\n');
    const human = expectExit(await bob.run('sync'), EXIT.retry);
    expect(human.stdout + human.stderr).toMatch(/not a member of the vault yet/);

    // Alice's next sync shows bob once, with his fingerprint; the one after does not.
    const first = await alice.syncOk();
    expect(first['pendingJoiners']).toEqual([{ client: (await configOf(bob)).clientId, name: 'bob', fingerprint: init.fingerprint }]);
    expect(alice.exists('b.md')).toBe(false);
    expect((await alice.syncOk())['pendingJoiners']).toEqual([]);
    const again = expectExit(await alice.run('sync'), EXIT.ok).stdout;
    expect(again).not.toMatch(/PENDING/);
    // `members` and `status` list him every time.
    const members = expectExit(await alice.run('members', '--json'), EXIT.ok).json as { pending: { name: string; fingerprint: string }[] };
    expect(members.pending.map((p) => [p.name, p.fingerprint])).toEqual([['bob', init.fingerprint]]);
    const status = expectExit(await alice.run('status', '--json'), EXIT.ok).json as { pendingJoiners: { name: string }[] };
    expect(status.pendingJoiners.map((p) => p.name)).toEqual(['bob']);
    expect(expectExit(await alice.run('status'), EXIT.ok).stdout).toContain('bm-log members add bob');
    // An existing vault's path to members is not needed here.
    expect(expectExit(await alice.run('members', 'init'), EXIT.usage).stderr).toMatch(/has a root admin already: alice/);

    expectExit(await alice.run('members', 'add', 'bob'), EXIT.ok);
    await bob.syncOk();
    await alice.syncOk();
    expect(await alice.read('b.md')).toBe('from bob\n');
    expect((await alice.syncOk())['pendingJoiners']).toEqual([]);
  }, 300_000);

  it('a keys/root a bucket writer adds to such a vault changes nothing: joiners still pin the marker, and an invitation from the creator works', async () => {
    const w = await world();
    const alice = await w.init('alice', { files: { 'a.md': 'a\n' } });
    const { vaultId } = await configOf(alice);
    const mallory = generateKeyPair();
    const forged = computeVaultRootBody(
      vaultId as VaultId,
      { client: '01M00000000000000000000MAA' as ClientId, name: 'mallory', keys: mallory },
      new Date(),
    );
    await fs.mkdir(path.join(w.remoteDir, 'keys'), { recursive: true });
    await fs.writeFile(path.join(w.remoteDir, ...VAULT_ROOT_KEY.split('/')), encodeVaultRoot(forged, mallory));

    const invite = expectExit(await alice.run('members', 'invite', 'carol', '--json'), EXIT.ok).json as {
      token: string;
      rootFingerprint: string;
    };
    const carol = w.client('carol');
    await fs.mkdir(carol.dir, { recursive: true });
    expectExit(await runCli(['init', '--join', invite.token, '--name', 'carol', '--dir', carol.dir]), EXIT.ok);
    const view = expectExit(await carol.run('members', '--json'), EXIT.ok).json as { root: { name: string; fingerprint: string } };
    expect(view.root).toMatchObject({ name: 'alice', fingerprint: invite.rootFingerprint });
    expect(view.root.fingerprint).not.toBe(computeFingerprint(mallory.publicKeyHex));
    // A plain joiner too.
    const { c: dave } = await joinUnadmitted(w, 'dave', {}, EXIT.ok);
    expect((expectExit(await dave.run('members', '--json'), EXIT.ok).json as { root: { name: string } }).root.name).toBe('alice');
  }, 300_000);
});
