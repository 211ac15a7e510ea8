/**
 * Issue 20, failure 1, end to end with the built CLI on a directory remote: a client with
 * write access signs, with its own key, a checkpoint that speaks for another client. A new
 * client must not adopt it, every client must end with the same tree, and `verify` must
 * report the forged checkpoint as an integrity fault (exit 5).
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { importPrivateKeyPem } from '../../src/events/signing.js';
import { DirectoryStore } from '../../src/events/store/directory-store.js';
import { forgeFormat1Checkpoint, forgeWriterCheckpoint, storeBlob } from '../gc/support/forge-checkpoint.js';
import { EXIT, expectExit, sortedObject, useWorlds, type Client, type SyncReportJson, type World } from './support/cli.js';

const worlds = useWorlds();
/** Vaults from before members (format 1): a joiner joins from checkpoints only there (ADR-0032). */
const openWorlds = useWorlds(() => ({ openVault: true }));

async function keyOf(c: Client) {
  return importPrivateKeyPem(await fs.readFile(path.join(c.dir, '.bm-log', 'identity.key'), 'utf8'));
}

async function vaultOf(c: Client): Promise<string> {
  return (JSON.parse(await fs.readFile(path.join(c.dir, '.bm-log', 'config.json'), 'utf8')) as { vaultId: string }).vaultId;
}

/** The highest seq in a client's remote log folder. */
async function lastSeq(w: World, c: Client): Promise<number> {
  const names = await fs.readdir(path.join(w.remoteDir, 'log', await c.clientId()));
  return Math.max(...names.map(Number));
}

describe.concurrent('checkpoints signed by another writer', () => {
  it("a format-1 checkpoint naming alice's segments with made-up bytes and a file left out: carol gets alice's tree, verify exits 5", async () => {
    const w = await worlds.world();
    const alice = await w.init('alice', { files: { 'plan.md': "alice's plan\n", 'notes/keep.md': 'keep me\n' } });
    const mallory = await w.init('mallory');
    const store = new DirectoryStore(w.remoteDir);
    const version = (await alice.log('plan.md'))[0]!.version;
    const content = await storeBlob(store, 'forged by mallory\n');
    await forgeFormat1Checkpoint(
      store,
      {
        vault: await vaultOf(alice),
        forger: { client: await mallory.clientId(), seq: await lastSeq(w, mallory) },
        victim: { client: await alice.clientId(), seq: await lastSeq(w, alice) },
        path: 'plan.md',
        version,
        content,
      },
      (await keyOf(mallory)).privateKey,
    );

    const carol = await w.init('carol');
    expect(sortedObject(await carol.tree())).toEqual(sortedObject(await alice.tree()));
    expect(await carol.read('plan.md')).toBe("alice's plan\n");
    expect((await carol.log('plan.md')).map((e) => [e.type, e.clientName])).toEqual([['put', 'alice']]);

    // verify reports the forged checkpoint on every client, as the integrity fault it is.
    for (const c of [alice, carol]) {
      const v = expectExit(await c.run('verify', '--json'), EXIT.integrity).json as { findings: { object: string; code: string }[] };
      expect(v.findings.map((f) => f.object)).toContain(
        `checkpoints/${await mallory.clientId()}/${String(await lastSeq(w, mallory)).padStart(12, '0')}`,
      );
    }

    // The clients converge as they go on.
    await alice.write('notes/keep.md', 'kept and edited\n');
    await alice.syncOk();
    await carol.syncOk();
    await mallory.syncOk();
    expect(sortedObject(await carol.tree())).toEqual(sortedObject(await alice.tree()));
    expect(sortedObject(await mallory.tree())).toEqual(sortedObject(await alice.tree()));
  });

  it("a writer checkpoint mallory signs claiming alice's plan.md replaced by made-up bytes of hers and notes/keep.md collected: carol checks the claims, keeps alice's tree, every client reports it", async () => {
    const w = await openWorlds.world();
    const alice = await w.init('alice', { files: { 'plan.md': "alice's plan\n", 'notes/keep.md': 'keep me\n' } });
    const mallory = await w.init('mallory');
    const store = new DirectoryStore(w.remoteDir);
    const [plan] = await alice.log('plan.md');
    const [keep] = await alice.log('notes/keep.md');
    const content = await storeBlob(store, 'forged by mallory\n');
    const seq = await lastSeq(w, mallory);
    const forged = await forgeWriterCheckpoint(
      store,
      {
        vault: await vaultOf(alice),
        forger: { client: await mallory.clientId(), seq },
        takeOver: { path: 'plan.md', replaces: plan!.version, id: '01JZZZZZZZZZZZZZZZZZZZZZZZ', content },
        hide: { path: 'notes/keep.md', version: keep!.version },
      },
      (await keyOf(mallory)).privateKey,
    );

    const carol = await w.init('carol', { noSync: true });
    const joined = expectExit(await carol.sync(), EXIT.integrity).json as SyncReportJson;
    expect(joined['joinedFromCheckpoint']).toBe(true);
    expect(joined.faults.map((f) => [f.object, f.code])).toEqual([[forged.key, 'unsupported-checkpoint']]);
    expect(sortedObject(await carol.tree())).toEqual(sortedObject(await alice.tree()));
    expect((await carol.log('plan.md')).map((e) => [e.type, e.clientName])).toEqual([['put', 'alice']]);

    // alice, who holds the whole log, reports it on her next sync that changes something, and in verify.
    await alice.write('notes/keep.md', 'kept and edited\n');
    const r = expectExit(await alice.sync(), EXIT.integrity).json as SyncReportJson;
    expect(r.faults.map((f) => f.object)).toEqual([forged.key]);
    const v = expectExit(await alice.run('verify', '--json'), EXIT.integrity).json as { findings: { object: string; code: string }[] };
    expect(v.findings.map((f) => [f.object, f.code])).toEqual([[forged.key, 'unsupported-checkpoint']]);

    // The clients converge; the fault stays reported while the checkpoint is mallory's latest.
    expectExit(await carol.sync(), EXIT.integrity);
    await mallory.sync();
    expect(sortedObject(await carol.tree())).toEqual(sortedObject(await alice.tree()));
    expect(sortedObject(await mallory.tree())).toEqual(sortedObject(await alice.tree()));
  });
});
