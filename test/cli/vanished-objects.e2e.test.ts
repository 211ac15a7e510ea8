/**
 * Objects that vanish from the remote or are replaced there (issue 20, items 3 and 7;
 * ADR-0015), end to end with the built CLI in child processes on a directory remote:
 * - a client puts back its own segments and key from what it holds, byte for byte
 *   (create-only), even on a sync that takes the clean-state shortcut, so the others converge
 *   with no gap;
 * - `verify --repair` puts back a blob only where a local file still has its bytes, never one
 *   a GC collected, and says loudly what it could not put back;
 * - every client reports a vanished or replaced key, log tail or vault marker as an integrity
 *   fault (exit 5) with what to do;
 * - the directory store never follows a symbolic link inside the remote.
 * The same over S3 (fauxqs, in this process) is at the end.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT, describeRun, expectExit, flipByte, sha256, sortedObject, useWorlds, type Client, type World } from './support/cli.js';
import { useS3Worlds } from './support/s3-worlds.js';

const { world, pair } = useWorlds();
/** Each case runs a dozen CLI processes; under a full `npm test` on a busy machine that takes minutes. */
const SLOW = 300_000;

const seqKey = (client: string, seq: number) => `log/${client}/${String(seq).padStart(12, '0')}`;
const blobKey = (text: string) => `blobs/${sha256(text).slice(0, 2)}/${sha256(text)}`;
const remoteFile = (w: World, key: string) => path.join(w.remoteDir, ...key.split('/'));

/** The seqs of a client's log on a directory remote, ascending. */
async function remoteSeqs(w: World, client: string): Promise<number[]> {
  const names = await fs.readdir(path.join(w.remoteDir, 'log', client)).catch(() => [] as string[]);
  return names
    .filter((n) => /^\d{12}$/.test(n))
    .map(Number)
    .sort((x, y) => x - y);
}

/** Every object of a client's log: key -> bytes. */
async function logObjects(w: World, client: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const s of await remoteSeqs(w, client)) out.set(seqKey(client, s), await fs.readFile(remoteFile(w, seqKey(client, s))));
  return out;
}

async function expectConverged(...clients: Client[]): Promise<void> {
  const [first, ...rest] = clients;
  for (const c of rest) expect(sortedObject(await c.tree())).toEqual(sortedObject(await first!.tree()));
}

function faultObjects(json: { faults: { object: string }[] }): string[] {
  return json.faults.map((f) => f.object).sort();
}

describe.concurrent('a client puts back its own vanished segments', { timeout: SLOW }, () => {
  const newestDeleted = 'its newest segment, deleted before the others fetched it: put back byte for byte';
  it(`${newestDeleted} by a sync that has nothing else to do (clean shortcut), the others converge`, async () => {
    const { w, a, b } = await pair({ 'note.md': 'v1\n', 'other.md': 'o1\n' });
    await a.write('note.md', 'v2\n');
    await a.syncOk();
    const aId = await a.clientId();
    const newest = (await remoteSeqs(w, aId)).at(-1)!;
    const key = seqKey(aId, newest);
    const bytes = await fs.readFile(remoteFile(w, key));
    await fs.rm(remoteFile(w, key));
    // Bob cannot know of a segment he never saw: nothing to do, nothing to report.
    expect((await b.syncOk()).applied).toEqual([]);
    const ra = await a.syncOk();
    expect(ra['clean']).toBe(true); // the shortcut holds: the check runs at the fetch, before it
    expect(ra['restored']).toEqual([key]);
    expect(await fs.readFile(remoteFile(w, key))).toEqual(bytes);
    await b.syncOk();
    expect(await b.read('note.md')).toBe('v2\n');
    await expectConverged(a, b);
    for (const c of [a, b]) expect(expectExit(await c.run('verify', '--json'), EXIT.ok).json.ok).toBe(true);
  });

  it('its newest segment deleted, then a new edit: the sync puts it back before publishing the next, so no other client stops at a gap', async () => {
    const { w, a, b } = await pair({ 'note.md': 'v1\n', 'other.md': 'o1\n' });
    await a.write('note.md', 'v2\n');
    await a.syncOk();
    const aId = await a.clientId();
    const key = seqKey(aId, (await remoteSeqs(w, aId)).at(-1)!);
    const bytes = await fs.readFile(remoteFile(w, key));
    await fs.rm(remoteFile(w, key));
    await a.write('other.md', 'o2\n');
    const ra = await a.syncOk();
    expect(ra['restored']).toEqual([key]);
    expect(await fs.readFile(remoteFile(w, key))).toEqual(bytes);
    // On main, Bob stopped here at the gap, exit 5 on every sync from then on.
    const rb = await b.syncOk();
    expect(rb.faults).toEqual([]);
    expect(await b.read('note.md')).toBe('v2\n');
    expect(await b.read('other.md')).toBe('o2\n');
    expectExit(await b.sync(), EXIT.ok);
    await expectConverged(a, b);
  });

  it('a segment in the middle of its log: put back at its next sync; a new client then reads the whole log', async () => {
    const { w, a, b } = await pair({ 'note.md': 'v1\n' });
    for (const v of ['v2', 'v3', 'v4']) {
      await a.write('note.md', `${v}\n`);
      await a.syncOk();
      await b.syncOk();
    }
    const aId = await a.clientId();
    const seqs = await remoteSeqs(w, aId);
    expect(seqs.length).toBeGreaterThanOrEqual(4);
    const key = seqKey(aId, seqs[1]!);
    const bytes = await fs.readFile(remoteFile(w, key));
    await fs.rm(remoteFile(w, key));
    const ra = await a.syncOk();
    expect(ra['restored']).toEqual([key]);
    expect(await fs.readFile(remoteFile(w, key))).toEqual(bytes);
    const c = await w.init('carol', { noSync: true });
    const rc = await c.sync();
    expect(rc.code, describeRun(rc)).toBe(EXIT.ok);
    await expectConverged(a, b, c);
  });

  const folderRemoved = 'its whole log folder removed: every other client reports the vanished log (exit 5, what to do)';
  it(`${folderRemoved}; the owner puts back every segment; all converge`, async () => {
    const { w, a, b } = await pair({ 'note.md': 'v1\n' });
    await a.write('note.md', 'v2\n');
    await a.syncOk();
    await b.syncOk();
    const aId = await a.clientId();
    const before = await logObjects(w, aId);
    await fs.rm(path.join(w.remoteDir, 'log', aId), { recursive: true });
    const rb = expectExit(await b.sync(), EXIT.integrity);
    const tail = [...before.keys()].at(-1)!;
    const vanished = expect.objectContaining({
      client: aId,
      object: tail,
      code: 'broken-chain',
      message: expect.stringMatching(/vanished/),
    });
    expect(rb.json.faults).toContainEqual(vanished);
    const human = expectExit(await b.run('sync'), EXIT.integrity);
    expect(human.stdout).toMatch(new RegExp(`INTEGRITY ${tail}: .*vanished.*alice`));
    expect(human.stdout).toMatch(/run `bm-log sync` on alice's machine/); // what to do: the owner puts it back at its next sync
    const ra = await a.syncOk();
    expect([...(ra['restored'] as string[])].sort()).toEqual([...before.keys()].sort());
    expect(await logObjects(w, aId)).toEqual(before);
    expect((await b.syncOk()).faults).toEqual([]);
    await expectConverged(a, b);
    for (const c of [a, b]) expect(expectExit(await c.run('verify', '--json'), EXIT.ok).json.ok).toBe(true);
  });

  it('its key removed: the others report it until the owner puts it back at its next sync', async () => {
    const { w, a, b } = await pair({ 'note.md': 'v1\n' });
    const aId = await a.clientId();
    const key = `keys/${aId}`;
    const bytes = await fs.readFile(remoteFile(w, key));
    await fs.rm(remoteFile(w, key));
    const rb = expectExit(await b.sync(), EXIT.integrity);
    expect(rb.json.faults).toContainEqual(
      expect.objectContaining({ object: key, code: 'unknown-key', message: expect.stringMatching(/vanished/) }),
    );
    const ra = await a.syncOk();
    expect(ra['restored']).toEqual([key]);
    // Same key and name (a new time): every reader accepts it as the pinned key.
    expect((await fs.readFile(remoteFile(w, key))).length).toBe(bytes.length);
    expect((await b.syncOk()).faults).toEqual([]);
    expect(expectExit(await b.run('verify', '--json'), EXIT.ok).json.ok).toBe(true);
  });
});

describe.concurrent('blobs: verify --repair', { timeout: SLOW }, () => {
  // Over 256 KiB, so each is a blob of its own: small files go into packs (ADR-0022), which `--repair` does not rebuild.
  const large = (line: string) => line.repeat(Math.ceil(300_000 / line.length));
  const KEEP = large('keep these bytes\n');
  const LOST = large('bytes only the remote had\n');
  it('an own blob deleted while the local file still has it: verify reports it, verify --repair puts it back, the others download it', async () => {
    const { w, a, b } = await pair({ 'note.md': 'v1\n' });
    await a.write('keep.md', KEEP);
    await a.syncOk();
    const key = blobKey(KEEP);
    await fs.rm(remoteFile(w, key));
    const v = expectExit(await a.run('verify', '--json'), EXIT.integrity);
    expect(v.json.findings).toContainEqual(
      expect.objectContaining({ object: key, code: 'blob-missing', message: expect.stringMatching(/verify --repair/) }),
    );
    const r = expectExit(await a.run('verify', '--repair', '--json'), EXIT.ok);
    expect(r.json.repaired).toEqual([key]);
    expect(await fs.readFile(remoteFile(w, key), 'utf8')).toBe(KEEP);
    await b.syncOk();
    expect(await b.read('keep.md')).toBe(KEEP);
    expect(expectExit(await b.run('verify', '--json'), EXIT.ok).json.ok).toBe(true);
  });

  it('a blob no local file holds any more: verify --repair says loudly it cannot put it back (exit 5)', async () => {
    const { w, a, b } = await pair({ 'note.md': 'v1\n' });
    await a.write('lost.md', LOST);
    await a.syncOk();
    const key = blobKey(LOST);
    await fs.rm(remoteFile(w, key));
    await a.write('lost.md', 'edited since, not synced\n');
    const r = expectExit(await a.run('verify', '--repair', '--json'), EXIT.integrity);
    expect(r.json.repaired).toEqual([]);
    const lost = expect.objectContaining({ object: key, code: 'blob-missing', message: expect.stringMatching(/no file here holds/) });
    expect(r.json.findings).toContainEqual(lost);
    const human = expectExit(await a.run('verify', '--repair'), EXIT.integrity);
    expect(human.stdout).toMatch(/blob-missing/);
    expect(existsSync(remoteFile(w, key))).toBe(false);
    // The other client cannot download it either, and says so (exit 5).
    const rb = expectExit(await b.sync(), EXIT.integrity);
    expect(rb.json.skipped.map((s: { path: string }) => s.path)).toContain('lost.md');
  });

  it('a blob GC collected on purpose is never uploaded again by verify --repair, even from a returning client that still has the file', async () => {
    const w = await world();
    const DOOMED = large('doomed bytes\n'); // a blob: GC does not collect packs yet (ADR-0022)
    const a = await w.init('alice', { files: { 'doomed.md': DOOMED, 'keep.md': 'keep\n' } });
    const b = await w.init('bob');
    const d = await w.init('dave');
    await a.rm('doomed.md');
    await a.syncOk();
    await b.syncOk();
    expectExit(await a.run('retire', 'dave', '--json'), EXIT.ok);
    expectExit(await a.run('gc', '--retention', '0s', '--grace', '0s', '--json'), EXIT.ok);
    const key = blobKey(DOOMED);
    expect(existsSync(remoteFile(w, key))).toBe(false);
    // Dave was away: his folder still has doomed.md with those bytes.
    expect(await d.read('doomed.md')).toBe(DOOMED);
    const r = expectExit(await d.run('verify', '--repair', '--json'), EXIT.ok);
    expect(r.json.repaired).toEqual([]);
    expect(existsSync(remoteFile(w, key))).toBe(false);
    await d.syncOk();
    expect(existsSync(remoteFile(w, key))).toBe(false);
  });
});

describe.concurrent('every client reports a vanished or replaced key or vault marker', { timeout: SLOW }, () => {
  async function trio(): Promise<{ w: World; a: Client; b: Client; c: Client }> {
    const w = await world();
    const a = await w.init('alice', { files: { 'note.md': 'v1\n' } });
    const b = await w.init('bob');
    const c = await w.init('carol');
    await a.syncOk();
    await b.syncOk();
    return { w, a, b, c };
  }

  it('a key replaced by garbage: every client exits 5 on sync and verify, the owner included (it cannot overwrite)', async () => {
    const { w, a, b, c } = await trio();
    const key = `keys/${await b.clientId()}`;
    await fs.writeFile(remoteFile(w, key), randomBytes(120));
    for (const x of [a, b, c]) {
      const r = expectExit(await x.sync(), EXIT.integrity);
      expect(faultObjects(r.json), x.name).toEqual([key]);
      expect(r.json.faults[0].code).toBe('malformed');
      expect(expectExit(await x.run('verify', '--json'), EXIT.integrity).json.findings.map((f: { object: string }) => f.object)).toContain(
        key,
      );
    }
    const human = expectExit(await a.run('sync'), EXIT.integrity);
    expect(human.stdout).toMatch(new RegExp(`INTEGRITY ${key}: .*replaced`));
  });

  it("a key replaced by a third client's key: every client exits 5 (key-mismatch)", async () => {
    const { w, a, b, c } = await trio();
    const key = `keys/${await b.clientId()}`;
    await fs.copyFile(remoteFile(w, `keys/${await c.clientId()}`), remoteFile(w, key));
    for (const x of [a, b, c]) {
      const r = expectExit(await x.sync(), EXIT.integrity);
      expect(r.json.faults, x.name).toContainEqual(expect.objectContaining({ object: key, code: 'key-mismatch' }));
    }
  });

  it("another client's key removed: every other client exits 5 until its owner syncs", async () => {
    const { w, a, b, c } = await trio();
    const key = `keys/${await b.clientId()}`;
    await fs.rm(remoteFile(w, key));
    for (const x of [a, c]) expect(faultObjects(expectExit(await x.sync(), EXIT.integrity).json), x.name).toEqual([key]);
    expect((await b.syncOk())['restored']).toEqual([key]);
    for (const x of [a, c]) expect((await x.syncOk()).faults).toEqual([]);
  });

  it.each(['garbage', 'one byte flipped'] as const)(
    'the vault marker replaced by %s: sync and verify exit 5 on every client',
    async (damage) => {
      const { w, a, b, c } = await trio();
      const file = remoteFile(w, 'vault');
      if (damage === 'garbage') await fs.writeFile(file, randomBytes(40));
      else await flipByte(file);
      for (const x of [a, b, c]) {
        const r = expectExit(await x.sync(), EXIT.integrity);
        expect(faultObjects(r.json), x.name).toEqual(['vault']);
        const v = expectExit(await x.run('verify', '--json'), EXIT.integrity);
        expect(
          v.json.findings.map((f: { object: string }) => f.object),
          x.name,
        ).toContain('vault');
      }
    },
  );

  it('the vault marker removed: the next client to sync puts it back byte for byte; a new client joins the same vault', async () => {
    const { w, a, b } = await trio();
    const file = remoteFile(w, 'vault');
    const bytes = await fs.readFile(file);
    await fs.rm(file);
    expect((await a.syncOk())['restored']).toEqual(['vault']);
    expect(await fs.readFile(file)).toEqual(bytes);
    expect((await b.syncOk()).faults).toEqual([]);
    const d = await w.init('dave');
    await expectConverged(a, d);
  });
});

describe.concurrent('the directory store never follows a symbolic link inside the remote', { timeout: SLOW }, () => {
  it('a client whose log folder is a symlink: refused with a clear error, nothing written outside the remote', async () => {
    const w = await world();
    const a = await w.init('alice', { noSync: true, files: { 'note.md': 'x\n' } });
    const outside = path.join(w.base, 'outside-log');
    await fs.mkdir(outside);
    await fs.mkdir(path.join(w.remoteDir, 'log'), { recursive: true });
    await fs.symlink(outside, path.join(w.remoteDir, 'log', await a.clientId()));
    const r = await a.sync();
    expect(r.code, describeRun(r)).toBe(EXIT.integrity);
    expect(r.stderr + r.stdout).toMatch(/symbolic link/);
    expect(await fs.readdir(outside)).toEqual([]);
    // The same for a linked packs folder (where a small file's bytes go, ADR-0022): nothing uploaded through it.
    const outsideBlobs = path.join(w.base, 'outside-packs');
    await fs.mkdir(outsideBlobs);
    await fs.rm(path.join(w.remoteDir, 'log', await a.clientId()));
    await fs.rm(path.join(w.remoteDir, 'packs'), { recursive: true, force: true });
    await fs.symlink(outsideBlobs, path.join(w.remoteDir, 'packs'));
    const r2 = await a.sync();
    expect(r2.code, describeRun(r2)).toBe(EXIT.integrity);
    expect(await fs.readdir(outsideBlobs)).toEqual([]);
    expect(await remoteSeqs(w, await a.clientId())).toEqual([]); // no event names a blob it could not write
  });
});

describe.concurrent('over S3 (fauxqs)', { timeout: SLOW }, () => {
  const BUCKET = 'bm-log-vanish';
  const s3 = useS3Worlds(BUCKET);
  /** The object's URL on the server (fauxqs does not check signatures). */
  const url = (w: World, key: string) => `${s3.server().endpoint}/${BUCKET}/${w.remoteUrl.slice(`s3://${BUCKET}/`.length)}/${key}`;
  const getObject = async (w: World, key: string) => Buffer.from(await (await fetch(url(w, key))).arrayBuffer());
  const deleteObject = async (w: World, key: string) => expect((await fetch(url(w, key), { method: 'DELETE' })).ok).toBe(true);
  const putObject = async (w: World, key: string, body: Uint8Array) =>
    expect((await fetch(url(w, key), { method: 'PUT', body })).ok).toBe(true);

  it('an own newest segment deleted: put back byte for byte, the other converges', async () => {
    const { w, a, b } = await s3.pair({ 'note.md': 'v1\n' });
    await a.write('note.md', 'v2\n');
    const published = await a.syncOk();
    expect(published.eventsPublished).toBe(1);
    const aId = await a.clientId();
    const key = seqKey(aId, 2);
    const bytes = await getObject(w, key);
    await deleteObject(w, key);
    await a.write('other.md', 'o\n');
    expect((await a.syncOk())['restored']).toEqual([key]);
    expect(await getObject(w, key)).toEqual(bytes);
    expect((await b.syncOk()).faults).toEqual([]);
    await expectConverged(a, b);
  });

  it('a key replaced by garbage of the same size and the vault marker flipped: the other client exits 5 on sync', async () => {
    const { w, a, b } = await s3.pair({ 'note.md': 'v1\n' });
    const key = `keys/${await b.clientId()}`;
    const original = await getObject(w, key);
    const garbage = Buffer.from(original);
    garbage[garbage.length >> 1]! ^= 0x01;
    await deleteObject(w, key);
    await putObject(w, key, garbage);
    const ra = expectExit(await a.sync(), EXIT.integrity);
    expect(faultObjects(ra.json)).toEqual([key]);
    await deleteObject(w, key);
    await putObject(w, key, original);
    expect((await a.syncOk()).faults).toEqual([]);
    const vault = await getObject(w, 'vault');
    vault[vault.length >> 1]! ^= 0x01;
    await deleteObject(w, 'vault');
    await putObject(w, 'vault', vault);
    expect(faultObjects(expectExit(await a.sync(), EXIT.integrity).json)).toEqual(['vault']);
    expect(expectExit(await a.run('verify', '--json'), EXIT.integrity).json.findings.map((f: { object: string }) => f.object)).toContain(
      'vault',
    );
  });
});
