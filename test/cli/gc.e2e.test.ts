/**
 * Retention, GC and retiring a client (ADR-0007), end to end with the built CLI on a
 * local-directory remote.
 */
import { describe, expect, it } from 'vitest';
import { EXIT, expectExit, sha256, useWorlds } from './support/cli.js';

const worlds = useWorlds();
/** Vaults from before members (format 1): a joiner joins from checkpoints only there (ADR-0032). */
const openWorlds = useWorlds(() => ({ openVault: true }));
// Over 256 KiB, so each is a blob of its own (small files go into packs: test/cli/pack-gc.e2e.test.ts, ADR-0035).
const large = (line: string) => line.repeat(Math.ceil(300_000 / line.length));
const DOOMED = large('doomed bytes\n');
const KEEP = large('keep\n');

const blobFile = (remoteDir: string, text: string) => {
  const h = sha256(text);
  return `${remoteDir}/blobs/${h.slice(0, 2)}/${h}`;
};

describe.concurrent('bm-log gc, clients, retire', () => {
  it('gc --retention 0s --grace 0s collects a delete both clients acknowledged: blob deleted, history kept, the other client unaffected, a new client joins from the checkpoint', async () => {
    const { w, a, b } = await openWorlds.pair({ 'doomed.md': DOOMED, 'keep.md': KEEP });
    await a.rm('doomed.md');
    await a.syncOk();
    const rb = await b.syncOk();
    expect(b.exists('doomed.md')).toBe(false);
    expect(rb['ackPublished']).toBe(true);
    const { existsSync } = await import('node:fs');
    expect(existsSync(blobFile(w.remoteDir, DOOMED))).toBe(true);

    // A dry run changes nothing on the remote.
    const before = await w.remoteTree();
    const dry = expectExit(await a.run('gc', '--dry-run', '--retention', '0s', '--grace', '0s', '--json'), EXIT.ok).json;
    expect(dry.passes[0].collected.map((c: { path: string }) => c.path)).toEqual(['doomed.md']);
    expect(await w.remoteTree()).toEqual(before);

    const gc = expectExit(await a.run('gc', '--retention', '0s', '--grace', '0s', '--json'), EXIT.ok).json;
    expect(gc.passes[0].collected.map((c: { path: string }) => c.path)).toEqual(['doomed.md']);
    expect(gc.passes.flatMap((p: { deleted: string[] }) => p.deleted)).toEqual([sha256(DOOMED)]);
    expect(gc.checkpoint).not.toBeNull();
    expect(existsSync(blobFile(w.remoteDir, DOOMED))).toBe(false);
    expect(existsSync(blobFile(w.remoteDir, KEEP))).toBe(true);

    // The history stays in the log; the path is gone from the live tree.
    expect((await a.log('doomed.md')).map((e) => e.type)).toEqual(['tombstone', 'put']);
    const ls = expectExit(await a.run('ls', '--json'), EXIT.ok).json as { files: { path: string }[] };
    expect(ls.files.map((f) => f.path)).toEqual(['keep.md']);

    // The other client: nothing to do, nothing lost, and verify knows the blob was collected.
    const again = await b.syncOk();
    expect(again.plan).toEqual([]);
    expect(await b.files()).toEqual(['keep.md']);
    expectExit(await b.run('verify', '--json'), EXIT.ok);

    // A new client starts from the checkpoint.
    const carol = await w.init('carol', { noSync: true });
    const joined = await carol.syncOk();
    expect(joined['joinedFromCheckpoint']).toBe(true);
    expect(await carol.files()).toEqual(['keep.md']);
    expect((await carol.syncOk()).plan).toEqual([]);
    // A client that joined from a checkpoint does not hold the history GC needs.
    expectExit(await carol.run('gc', '--json'), EXIT.usage);
  });

  it('clients lists every client with its acknowledgements; retire takes an exact id or name', async () => {
    const { a, b } = await worlds.pair({ 'x.md': 'x\n' });
    await b.syncOk();
    const list = expectExit(await a.run('clients', '--json'), EXIT.ok).json.clients as {
      id: string;
      name: string;
      self: boolean;
      lastSeq: number;
      acked: number;
      retired: boolean;
      lastSeen: string | null;
      checkpoint: number | null;
    }[];
    expect(list.map((c) => [c.name, c.self, c.retired]).sort()).toEqual([
      ['alice', true, false],
      ['bob', false, false],
    ]);
    const alice = list.find((c) => c.name === 'alice')!;
    expect(alice.lastSeq).toBeGreaterThan(0);
    // Nobody has checkpointed yet; after `bm-log checkpoint` alice's row shows hers.
    expect(list.map((c) => c.checkpoint)).toEqual([null, null]);
    const cp = expectExit(await a.run('checkpoint', '--json'), EXIT.ok).json.checkpoint as { seq: number };
    const again = expectExit(await a.run('clients', '--json'), EXIT.ok).json.clients as { name: string; checkpoint: number | null }[];
    expect(again.find((c) => c.name === 'alice')!.checkpoint).toBe(cp.seq);
    expect(alice.acked).toBe(alice.lastSeq); // bob has acknowledged all of alice's log

    expectExit(await a.run('retire', 'bo'), EXIT.usage); // no prefix matching
    const r = expectExit(await a.run('retire', 'bob', '--json'), EXIT.ok).json;
    expect(r).toMatchObject({ name: 'bob', client: await b.clientId(), alreadyRetired: false });
    expect(expectExit(await a.run('retire', await b.clientId(), '--json'), EXIT.ok).json.alreadyRetired).toBe(true);
    const after = expectExit(await b.run('clients', '--json'), EXIT.ok).json.clients as { name: string; retired: boolean }[];
    expect(after.find((c) => c.name === 'bob')!.retired).toBe(true);
    // The human form says so too.
    expect(expectExit(await a.run('clients'), EXIT.ok).stdout).toMatch(/bob .*\(retired\)/);
  });
});
