/**
 * Members in the engine (ADR-0021), tried as users would: the built CLI as a child process on
 * a directory remote. A client that is never admitted, a removed member and a reader cannot
 * change anything for anyone, not even by writing segments to the remote by hand (`forge`,
 * signed with their own real key); an admission makes a client's later writes count; a
 * member event forged by a non-admin is ignored and reported.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeMsgpack } from '../../src/events/codec.js';
import { counterIdFactory, type ClientId, type ContentHash, type VaultId, type VersionId } from '../../src/events/ids.js';
import { writeSegment } from '../../src/events/log.js';
import { writeBlob } from '../../src/events/blobs.js';
import type { Event, SegmentBody } from '../../src/events/schema.js';
import { importPrivateKeyPem, sha256Hex } from '../../src/events/signing.js';
import { DirectoryStore } from '../../src/events/store/directory-store.js';
import type { SyncPath } from '../../src/events/sync-path.js';
import { type Client, EXIT, expectExit, useWorlds, World } from '../cli/support/cli.js';

// These start from a vault an earlier release made (open: no members), then `members init` (ADR-0021 "existing vaults").
const { world } = useWorlds(() => ({ openVault: true }));
const ids = counterIdFactory('01F0RGED');

interface MembersJson {
  root: { client: string; name: string; fingerprint: string } | null;
  members: { client: string; name: string; fingerprint: string | null; role: string | null }[];
  pending: { client: string; name: string; fingerprint: string | null }[];
  removed: { client: string; name: string }[];
  rejected: { at: string; reason: string }[];
}

async function members(c: Client): Promise<MembersJson> {
  return expectExit(await c.run('members', '--json'), EXIT.ok).json as MembersJson;
}

/**
 * Publishes `events` as the next segment of `c`'s log straight to the remote, signed with its
 * real key (what a hostile or outdated client can always do), with each put's blob written first.
 */
async function forge(w: World, c: Client, events: (Event & { bytes?: string })[]): Promise<number> {
  const state = path.join(c.dir, '.bm-log');
  const config = JSON.parse(await fs.readFile(path.join(state, 'config.json'), 'utf8')) as { clientId: string; vaultId: string };
  const keys = importPrivateKeyPem(await fs.readFile(path.join(state, 'identity.key'), 'utf8'));
  const store = new DirectoryStore(w.remoteDir);
  const prefix = `log/${config.clientId}/`;
  const listed = (await store.list(prefix)).objects.map((o) => o.key).sort();
  const last = listed.at(-1);
  let prev: string | null = null;
  let seen: Record<string, number> = {};
  if (last !== undefined) {
    const env = decodeMsgpack((await store.get(last))!, 'segment') as { body: Uint8Array };
    prev = sha256Hex(env.body);
    seen = (decodeMsgpack(env.body, 'segment') as SegmentBody).seen;
  }
  for (const e of events) {
    if (e.bytes === undefined) continue;
    const data = Buffer.from(e.bytes);
    await writeBlob(store, {
      size: data.length,
      sha256: sha256Hex(data),
      open: async function* () {
        yield data;
      },
    });
    delete e.bytes;
  }
  const seq = listed.length + 1;
  const body: SegmentBody = {
    v: events.some((e) => e.type === 'member') ? 2 : 1,
    vault: config.vaultId as VaultId,
    client: config.clientId as ClientId,
    seq,
    prev: prev as ContentHash | null,
    time: new Date().toISOString(),
    seen,
    snapshot: null,
    events,
  };
  await writeSegment(store, body, keys);
  return seq;
}

function put(p: string, text: string, replaces: string[] = []): Event & { bytes: string } {
  const hash = createHash('sha256').update(text).digest('hex') as ContentHash;
  return {
    type: 'put',
    id: ids() as VersionId,
    path: p as SyncPath,
    replaces: replaces as VersionId[],
    content: { hash, size: Buffer.byteLength(text), mode: 0o644 },
    bytes: text,
  };
}

/** The counted member event that admitted `client`, read from the remote (a replay copies it as it is). */
async function readCountedAdmission(w: World, client: string): Promise<Extract<Event, { type: 'member' }>> {
  const store = new DirectoryStore(w.remoteDir);
  for (const o of (await store.list('log/')).objects) {
    const env = decodeMsgpack((await store.get(o.key))!, 'segment') as { body: Uint8Array };
    const body = decodeMsgpack(env.body, 'segment') as SegmentBody;
    const found = body.events.find((e) => e.type === 'member' && e.action === 'add' && e.client === client);
    if (found !== undefined) return found as Extract<Event, { type: 'member' }>;
  }
  throw new Error(`no admission of ${client} on the remote`);
}

async function headOf(c: Client, p: string): Promise<string> {
  const events = await c.log(p);
  return events.at(-1)!.version;
}

describe('members (ADR-0021)', () => {
  it('a client nobody admitted changes nothing and shows as pending; after `members add` its new writes reach everyone', async () => {
    const w = await world();
    const alice = await w.init('alice', { files: { 'shared.md': 'from alice\n' } });
    const bob = await w.init('bob');
    const init = expectExit(await alice.run('members', 'init', '--json'), EXIT.ok).json as { admitted: string[] };
    expect(init.admitted).toEqual([await bob.clientId()]);
    const carol = await w.init('carol');
    const carolId = await carol.clientId();
    // Its own sync holds its changes back, naming the command that admits it.
    await carol.write('by-carol.md', 'carol was here\n');
    const held = expectExit(await carol.sync(), EXIT.retry).json as { skipped: { path: string; detail: string }[] };
    expect(held.skipped.map((s) => s.path)).toEqual(['by-carol.md']);
    expect(held.skipped[0]!.detail).toMatch(/\(carol\) is not a member of the vault yet.*bm-log members add NAME/);
    // What it writes by hand (a put, an overwrite of alice's file) changes nothing for anyone.
    const aliceHead = await headOf(alice, 'shared.md');
    const forged = [put('forged.md', 'forged\n'), put('shared.md', 'overwritten by carol\n', [aliceHead])];
    const forgedIds: string[] = forged.map((e) => e.id);
    await forge(w, carol, forged);
    await alice.syncOk();
    await bob.syncOk();
    for (const c of [alice, bob]) {
      expect(c.exists('forged.md')).toBe(false);
      expect(await c.read('shared.md')).toBe('from alice\n');
      // Nor do `log` (of the path, of everything), `ls` and `show` list them (ADR-0032).
      for (const logged of [await c.log('shared.md'), await c.log('forged.md'), await c.log()])
        expect(logged.map((e) => e.version).filter((v) => forgedIds.includes(v))).toEqual([]);
      const ls = expectExit(await c.run('ls', '--json'), EXIT.ok).json as { files: { path: string; version: string }[] };
      expect(ls.files.map((f) => f.path)).toEqual(['shared.md']);
      expect((await c.run('show', forgedIds[1]!)).code).not.toBe(EXIT.ok);
    }
    const view = await members(bob);
    expect(view.pending.map((p) => p.client)).toEqual([carolId]);
    const human = expectExit(await alice.run('members'), EXIT.ok).stdout;
    expect(human).toContain('run `bm-log members add carol` to admit it, after checking its key fingerprint');
    expect(human).toContain(view.pending[0]!.fingerprint!);
    // Admitted: its later writes count, everywhere; what it wrote while pending still does not.
    const added = expectExit(await alice.run('members', 'add', 'carol', '--json'), EXIT.ok).json as { counted: boolean; role: string };
    expect(added).toMatchObject({ counted: true, role: 'writer' });
    await carol.syncOk();
    await alice.syncOk();
    await bob.syncOk();
    for (const c of [alice, bob]) {
      expect(await c.read('by-carol.md')).toBe('carol was here\n');
      expect(c.exists('forged.md')).toBe(false);
    }
    expect((await members(carol)).members.map((m) => [m.name, m.role])).toEqual(
      expect.arrayContaining([
        ['alice', 'admin'],
        ['bob', 'writer'],
        ['carol', 'writer'],
      ]),
    );
  }, 300_000);

  it("after `members remove`, a member's later writes and deletes change nothing on every client; what it wrote before stays", async () => {
    const w = await world();
    const alice = await w.init('alice', { files: { 'a.md': 'a\n' } });
    const bob = await w.init('bob');
    const carol = await w.init('carol');
    expectExit(await alice.run('members', 'init'), EXIT.ok);
    await bob.write('by-bob.md', 'bob before removal\n');
    await bob.syncOk();
    await alice.syncOk();
    await carol.syncOk();
    const removed = expectExit(await alice.run('members', 'remove', 'bob', '--json'), EXIT.ok).json as { counted: boolean };
    expect(removed.counted).toBe(true);
    // Bob has not synced since: it does not know. A bm-log that did not check (or a hostile
    // one) publishes a delete and an overwrite anyway; an honest one holds them back.
    const head = await headOf(alice, 'a.md');
    await forge(w, bob, [
      {
        type: 'tombstone',
        id: ids() as VersionId,
        path: 'by-bob.md' as SyncPath,
        replaces: [await headOf(alice, 'by-bob.md')] as VersionId[],
      },
      put('a.md', 'overwritten by removed bob\n', [head]),
      put('late.md', 'late\n'),
    ]);
    await alice.syncOk();
    await carol.syncOk();
    for (const c of [alice, carol]) {
      expect(await c.read('by-bob.md')).toBe('bob before removal\n');
      expect(await c.read('a.md')).toBe('a\n');
      expect(c.exists('late.md')).toBe(false);
    }
    expect((await members(carol)).removed.map((r) => r.name)).toEqual(['bob']);
    // Bob's own sync: its changes are held back, and its folder keeps its files.
    await bob.write('after.md', 'after\n');
    const held = expectExit(await bob.sync(), EXIT.retry).json as { skipped: { path: string; detail: string }[] };
    expect(held.skipped.some((s) => s.path === 'after.md' && /removed from the vault/.test(s.detail))).toBe(true);
    await alice.syncOk();
    expect(alice.exists('after.md')).toBe(false);
  }, 120_000);

  it("a reader's writes change nothing; a member event forged by a non-admin is ignored and reported", async () => {
    const w = await world();
    const alice = await w.init('alice', { files: { 'a.md': 'a\n' } });
    const bob = await w.init('bob');
    const dave = await w.init('dave');
    expectExit(await alice.run('members', 'init'), EXIT.ok);
    expectExit(await alice.run('members', 'role', 'bob', 'reader'), EXIT.ok);
    await bob.syncOk();
    await bob.write('by-reader.md', 'reader\n');
    expectExit(await bob.sync(), EXIT.retry);
    await forge(w, bob, [put('forged-by-reader.md', 'x\n')]);
    await alice.syncOk();
    expect(alice.exists('by-reader.md')).toBe(false);
    expect(alice.exists('forged-by-reader.md')).toBe(false);
    // Bob (a reader) makes himself admin and removes alice, by hand: neither counts.
    const view = await members(alice);
    const bobRow = view.members.find((m) => m.name === 'bob')!;
    const aliceRow = view.members.find((m) => m.name === 'alice')!;
    const bobSeq = await forge(w, bob, [
      {
        type: 'member',
        action: 'role',
        id: ids() as VersionId,
        client: bobRow.client as ClientId,
        fingerprint: bobRow.fingerprint!,
        upTo: 0,
        role: 'admin',
      },
      {
        type: 'member',
        action: 'remove',
        id: ids() as VersionId,
        client: aliceRow.client as ClientId,
        fingerprint: aliceRow.fingerprint!,
        upTo: 0,
      },
    ]);
    const after = await members(dave);
    expect(after.members.map((m) => [m.name, m.role])).toEqual(
      expect.arrayContaining([
        ['alice', 'admin'],
        ['bob', 'reader'],
      ]),
    );
    expect(after.rejected).toEqual([
      { at: `${bobRow.client}/${bobSeq}/0`, reason: 'not-admin' },
      { at: `${bobRow.client}/${bobSeq}/1`, reason: 'not-admin' },
    ]);
    expect(expectExit(await alice.run('members'), EXIT.ok).stdout).toContain('2 member event(s) changed nothing');
    // The CLI refuses a non-admin's change before publishing anything.
    expect(expectExit(await bob.run('members', 'add', 'dave'), EXIT.usage).stderr).toMatch(/only an admin/);
  }, 120_000);

  it('in a vault made by init --create: a pending client adding itself, a copied admission and a removed member re-adding itself change nothing and are reported', async () => {
    const w = await World.create(); // a vault with members from its creation (ADR-0032)
    try {
      const alice = await w.init('alice', { files: { 'a.md': 'a\n' } });
      const bob = await w.init('bob'); // admitted by alice (World.init)
      const carol = w.client('carol');
      await fs.mkdir(carol.dir, { recursive: true });
      expectExit(await carol.run('init', '--remote', w.remoteUrl, '--name', 'carol'), EXIT.ok);
      await alice.syncOk();
      const view = await members(alice);
      const row = (name: string) => [...view.members, ...view.pending].find((m) => m.name === name)!;
      const [bobRow, carolRow] = [row('bob'), row('carol')];
      const selfAdd = (r: typeof bobRow, role: 'admin' | 'writer'): Event => ({
        type: 'member',
        action: 'add',
        id: ids() as VersionId,
        client: r.client as ClientId,
        fingerprint: r.fingerprint!,
        upTo: 0,
        role,
        name: r.name,
      });
      // Carol (pending) admits herself as admin, with a write in the same segment.
      const carolSelf = await forge(w, carol, [selfAdd(carolRow, 'admin'), put('by-carol.md', 'carol\n')]);
      const bobAdmission = await readCountedAdmission(w, bobRow.client);
      // Bob is removed; then, by hand, he adds himself back as admin and writes, and replays his
      // admission (alice's event, verbatim) in his log and in carol's.
      expectExit(await alice.run('members', 'remove', 'bob'), EXIT.ok);
      const bobBack = await forge(w, bob, [selfAdd(bobRow, 'admin'), put('by-bob-after.md', 'bob\n')]);
      const bobReplay = await forge(w, bob, [bobAdmission]);
      const carolCopy = await forge(w, carol, [bobAdmission]);
      await alice.syncOk();
      const after = await members(alice);
      expect(after.members.map((m) => [m.name, m.role])).toEqual([['alice', 'admin']]);
      expect(after.pending.map((m) => m.name)).toEqual(['carol']);
      expect(after.removed.map((m) => m.name)).toEqual(['bob']);
      expect(after.rejected).toEqual(
        expect.arrayContaining([
          { at: `${carolRow.client}/${carolSelf}/0`, reason: 'not-admin' },
          { at: `${carolRow.client}/${carolCopy}/0`, reason: 'replayed' },
          { at: `${bobRow.client}/${bobBack}/0`, reason: 'not-admin' },
          { at: `${bobRow.client}/${bobReplay}/0`, reason: 'replayed' },
        ]),
      );
      expect(expectExit(await alice.run('members'), EXIT.ok).stdout).toMatch(/member event\(s\) changed nothing/);
      for (const f of ['by-carol.md', 'by-bob-after.md']) expect(alice.exists(f)).toBe(false);
    } finally {
      await w.cleanup();
    }
  }, 300_000);

  it('`init --join TOKEN` pins the root key of the invitation: the right vault is joined (pending), another root is refused before anything is written', async () => {
    const w = await world();
    const alice = await w.init('alice', { files: { 'a.md': 'a\n' } });
    expectExit(await alice.run('members', 'init'), EXIT.ok);
    const invite = expectExit(await alice.run('members', 'invite', 'frank', '--json'), EXIT.ok).json as {
      token: string;
      rootFingerprint: string;
    };
    const frank = w.client('frank');
    expectExit(await frank.run('init', '--join', invite.token, '--name', 'frank'), EXIT.ok);
    expect((await members(alice)).pending.map((p) => p.name)).toEqual(['frank']);
    // A token naming another root key (a forged vault, or the wrong remote): refused, no key published.
    const { decodeInvitation, encodeInvitation } = await import('../../src/members/invitation.js');
    const real = decodeInvitation(invite.token);
    const other = encodeInvitation({ ...real, root: 'AAAA-BBBB-CCCC-DDDD-EEEE' });
    const gina = w.client('gina');
    const keysBefore = (await fs.readdir(path.join(w.remoteDir, 'keys'))).sort();
    const refused = expectExit(await gina.run('init', '--join', other, '--name', 'gina'), EXIT.integrity);
    expect(refused.stderr).toMatch(/root key is .* not AAAA-BBBB-CCCC-DDDD-EEEE/);
    expect((await fs.readdir(path.join(w.remoteDir, 'keys'))).sort()).toEqual(keysBefore);
    expect(expectExit(await gina.run('init', '--join', `${invite.token.slice(0, -3)}`), EXIT.usage).stderr).toMatch(/damaged or cut/);
  }, 120_000);
});
