import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFormat1Vault } from '../support/members.js';
import { executeInit } from '../../src/client/client-session.js';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { isBmError } from '../../src/errors.js';
import { decodeMsgpack, decodeSegment, decodeTrustedSegment, encodeMsgpack } from '../../src/events/codec.js';
import { ulidFactory, type ClientId, type VaultId } from '../../src/events/ids.js';
import { keyOfBlob, keyOfIdentity, keyOfPack, keyOfSegment } from '../../src/events/layout.js';
import { readVault, writeIdentity, writeSegment } from '../../src/events/log.js';
import { MAX_SEGMENT_BYTES, type SegmentBody } from '../../src/events/schema.js';
import { computeCanonicalHeads } from '../../src/merge/compute-merge.js';
import { generateKeyPair, importPublicKeyHex, sha256Hex, signBody, type KeyPair } from '../../src/events/signing.js';
import { DirectoryStore } from '../../src/events/store/directory-store.js';
import { syncJson, verifyJson, type FaultJson, type SyncJson, type VerifyJson } from './support.js';

/**
 * Hostile remote content written straight into a directory remote: events validly signed by
 * a real published client key but unsafe, objects that are not segments at all, a replaced
 * key, a cut, rolled-back or forked log, and a tampered blob. The victim (alice) is a real
 * client folder made by `executeInit` and synced through the CLI's own command handlers
 * in-process (`runSyncCommand`, `runVerifyCommand`), so exit codes are checked too.
 * Every case also proves that what the writer published before the fault was applied.
 */

let base: string;
let remoteDir: string;
let aliceDir: string;
let store: DirectoryStore;
let vault: VaultId;
const newId = ulidFactory();

const syncAlice = (): Promise<{ code: number; report: SyncJson }> => syncJson(aliceDir);
const verifyAlice = (): Promise<{ code: number; findings: VerifyJson['findings'] }> => verifyJson(aliceDir);

const alicePath = (rel: string) => path.join(aliceDir, ...rel.split('/'));
const readAlice = (rel: string) => fs.readFile(alicePath(rel), 'utf8');

/** A writer with a real, published identity whose objects the test writes by hand. */
interface Writer {
  readonly id: ClientId;
  readonly name: string;
  keys: KeyPair;
  seq: number;
  prev: string | null;
}

async function newWriter(name: string): Promise<Writer> {
  const keys = generateKeyPair();
  const id = newId() as ClientId;
  await writeIdentity(store, { v: 1, vault, client: id, name, publicKey: keys.publicKeyHex, time: new Date().toISOString() }, keys);
  return { id, name, keys, seq: 0, prev: null };
}

/** Stores `text` as a blob and returns a put event for `p` (path not checked). */
async function putEvent(p: string, text: string, replaces: string[] = []): Promise<Record<string, unknown>> {
  const bytes = Buffer.from(text);
  const hash = sha256Hex(bytes);
  await store.putIfAbsent(keyOfBlob(hash), bytes);
  return { type: 'put', id: newId(), path: p, replaces, content: { hash, size: bytes.length, mode: 0o644 } };
}

function bodyOf(w: Writer, events: readonly Record<string, unknown>[], seq = w.seq + 1, prev = w.prev): Record<string, unknown> {
  return { v: 1, vault, client: w.id, seq, prev, time: new Date().toISOString(), seen: {}, snapshot: null, events };
}

/** Publishes a valid segment through the real writer (schema-checked) and advances the chain. */
async function publishValid(w: Writer, events: readonly Record<string, unknown>[]): Promise<string> {
  const seg = await writeSegment(store, bodyOf(w, events) as unknown as SegmentBody, w.keys);
  w.seq += 1;
  w.prev = seg.hash;
  return keyOfSegment(w.id, w.seq);
}

/** `publishValid` for a format-2 segment (one holding a merge). */
async function publishValid2(w: Writer, events: readonly Record<string, unknown>[]): Promise<string> {
  const seg = await writeSegment(store, { ...bodyOf(w, events), v: 2 } as unknown as SegmentBody, w.keys);
  w.seq += 1;
  w.prev = seg.hash;
  return keyOfSegment(w.id, w.seq);
}

/**
 * Signed segment bytes for any body, bypassing the writer's schema check: what a modified
 * client holding a real key could publish. `envelopeV` other than 1 makes an unknown version.
 */
function signedBytes(w: Writer, body: Record<string, unknown>, options: { envelopeV?: number; key?: KeyPair } = {}): Uint8Array {
  const bodyBytes = encodeMsgpack(body);
  const prev = typeof body['prev'] === 'string' ? body['prev'] : null;
  const sig = signBody(
    { domain: 'segment', vault, client: w.id, seq: body['seq'] as number, prev },
    bodyBytes,
    (options.key ?? w.keys).privateKey,
  );
  return encodeMsgpack({ v: options.envelopeV ?? 1, body: bodyBytes, sig });
}

/** Every file below `dir` whose content contains `marker`. */
async function filesContaining(dir: string, marker: string, skip: readonly string[] = []): Promise<string[]> {
  const found: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const ent of await fs.readdir(d, { withFileTypes: true })) {
      const abs = path.join(d, ent.name);
      if (skip.includes(abs)) continue;
      if (ent.isDirectory()) await walk(abs);
      else if (ent.isFile() && (await fs.readFile(abs, 'utf8')).includes(marker)) found.push(abs);
    }
  };
  await walk(dir);
  return found;
}

function faultsOf(report: SyncJson, w: Writer): FaultJson[] {
  return report.faults.filter((f) => f.client === w.id);
}

const bases: string[] = [];

/**
 * A fresh remote and victim for each group of cases, so one group's faults (which persist:
 * a faulty log stays stopped) do not decide another group's exit codes.
 */
async function createWorld(): Promise<void> {
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'bm-log-hostile-'));
  bases.push(base);
  remoteDir = path.join(base, 'remote');
  aliceDir = path.join(base, 'alice');
  await fs.mkdir(aliceDir, { recursive: true });
  await fs.writeFile(path.join(aliceDir, 'Notes.md'), 'alice notes\n');
  await fs.writeFile(path.join(aliceDir, 'caf\u00e9.md'), 'alice cafe (NFC)\n');
  // An open vault (format 1): these cases are about hostile objects from any client; members have their own (test/members).
  await createFormat1Vault(remoteDir);
  await executeInit(aliceDir, { remote: { url: remoteDir }, name: 'alice', create: false });
  store = new DirectoryStore(remoteDir);
  vault = (await readVault(store))!;
  const first = await syncAlice();
  expect(first.code).toBe(ExitCode.ok);
}

afterAll(async () => {
  for (const b of bases) await fs.rm(b, { recursive: true, force: true });
});

describe('hostile paths in validly signed events', () => {
  beforeAll(createWorld);
  // Each is rejected by the event schema, so the whole segment is malformed.
  const hostile: readonly (readonly [string, (outside: string) => string])[] = [
    ['dot-dot escape', () => '../escape.txt'],
    ['nested dot-dot escape', () => 'sub/../../escape-nested.txt'],
    ['absolute path', (outside) => `${outside}/absolute-escape.txt`],
    ['drive letter', () => 'C:/escape.txt'],
    ['NUL byte', () => 'nul\u0000byte.txt'],
    ['backslashes', () => '..\\escape-backslash.txt'],
    ['Windows reserved name', () => 'CON'],
    ['Windows reserved name with extension', () => 'docs/com1.md'],
    ['.bm-log alias', () => '.bm-log/config.json'],
    ['.bm-log alias, other case and trailing dot', () => '.BM-LOG./identity.key'],
    ['nested .bm-log alias (a nested bm-log folder)', () => 'notes/.bm-log/identity.key'],
    ['nested .bm-log alias, other case', () => 'a/b/.BM-Log/config.json'],
    ['.git alias', () => '.git/config'],
    ['nested .git alias, other case', () => 'notes/.Git/hooks/pre-commit'],
  ];

  it('rejects the segment as malformed, writes nothing outside the root, keeps the events before it, and keeps syncing', async () => {
    const writers: { w: Writer; label: string; okFile: string; marker: string; bytes: Uint8Array }[] = [];
    for (const [i, [label, make]] of hostile.entries()) {
      const w = await newWriter(`mallory${i}`);
      const okFile = `ok/${i}.txt`;
      await publishValid(w, [await putEvent(okFile, `fine ${i}\n`)]);
      const marker = `HOSTILE-${i}-${label}`;
      // One hostile event among valid ones, and the same path as a tombstone and a resolve.
      const events = [await putEvent(`ok/after-${i}.txt`, 'after\n'), await putEvent(make(base), marker)];
      const bytes = signedBytes(w, bodyOf(w, events));
      await store.putIfAbsent(keyOfSegment(w.id, w.seq + 1), bytes);
      writers.push({ w, label, okFile, marker, bytes });
    }
    const config = await fs.readFile(path.join(aliceDir, '.bm-log', 'config.json'));

    const { code, report } = await syncAlice();
    expect(code).toBe(ExitCode.integrity);
    for (const { w, label, okFile, marker, bytes } of writers) {
      // Schema level: the segment itself does not decode.
      let error: unknown;
      try {
        decodeSegment(bytes, { vault, client: w.id, seq: 2, prev: w.prev, publicKey: importPublicKeyHex(w.keys.publicKeyHex) });
      } catch (e) {
        error = e;
      }
      expect(isBmError(error, 'malformed'), label).toBe(true);
      expect((error as Error).message, label).toContain('unsafe path');
      // Reported as a fault at seq 2 of that writer; seq 1 applied; nothing of seq 2 applied.
      expect(faultsOf(report, w), label).toEqual([expect.objectContaining({ seq: 2, code: 'malformed', object: keyOfSegment(w.id, 2) })]);
      expect(await readAlice(okFile), label).toBe(`fine ${okFile.slice(3, -4)}\n`);
      expect(await filesContaining(base, marker, [remoteDir]), label).toEqual([]);
    }
    expect(await fs.readdir(path.join(aliceDir, 'ok'))).not.toContain(expect.stringMatching(/^after-/));
    expect(await fs.readFile(path.join(aliceDir, '.bm-log', 'config.json'))).toEqual(config);
    await expect(fs.access(path.join(base, 'escape.txt'))).rejects.toThrow();

    // The next sync reports the same faults and does not fail otherwise.
    const again = await syncAlice();
    expect(again.code).toBe(ExitCode.integrity);
    expect(again.report.faults.length).toBe(report.faults.length);
  });

  it('rejects a hostile path in a tombstone or a resolve the same way', async () => {
    const w = await newWriter('mallory-tombstone');
    await publishValid(w, [await putEvent('ok/t.txt', 'fine t\n')]);
    await store.putIfAbsent(
      keyOfSegment(w.id, 2),
      signedBytes(w, bodyOf(w, [{ type: 'tombstone', id: newId(), path: '../../etc/hosts', replaces: [] }])),
    );
    const r = await newWriter('mallory-resolve');
    await publishValid(r, [await putEvent('ok/r.txt', 'fine r\n')]);
    const resolve = { type: 'resolve', id: newId(), path: '/etc/hosts', replaces: [newId()], content: null };
    await store.putIfAbsent(keyOfSegment(r.id, 2), signedBytes(r, bodyOf(r, [resolve])));
    const { code, report } = await syncAlice();
    expect(code).toBe(ExitCode.integrity);
    expect(faultsOf(report, w)).toEqual([expect.objectContaining({ seq: 2, code: 'malformed' })]);
    expect(faultsOf(report, r)).toEqual([expect.objectContaining({ seq: 2, code: 'malformed' })]);
    expect(await readAlice('ok/t.txt')).toBe('fine t\n');
    expect(await readAlice('ok/r.txt')).toBe('fine r\n');
  });
});

describe('twins', () => {
  beforeAll(createWorld);
  it('accepts case-only and NFC/NFD twins of existing paths, reports them as twins conflicts and overwrites nothing', async () => {
    const w = await newWriter('twin-maker');
    await publishValid(w, [await putEvent('twins/before.txt', 'before\n')]);
    await publishValid(w, [await putEvent('notes.md', 'twin notes (lower case)\n'), await putEvent('cafe\u0301.md', 'twin cafe (NFD)\n')]);
    const { code, report } = await syncAlice();
    expect(report.faults).toEqual([]);
    expect(code).toBe(ExitCode.ok);
    expect(await readAlice('twins/before.txt')).toBe('before\n');
    const twins = report.conflicts.filter((c) => c.kind === 'twins');
    expect(twins.map((t) => t.detail).join('\n')).toContain('Notes.md');
    expect(twins.map((t) => t.detail).join('\n')).toContain('caf\u00e9.md');
    // Nothing overwritten: alice's files keep their bytes; on this case-sensitive,
    // non-normalising file system the twins are kept apart beside them.
    expect(await readAlice('Notes.md')).toBe('alice notes\n');
    expect(await readAlice('caf\u00e9.md')).toBe('alice cafe (NFC)\n');
    expect(await readAlice('notes.md')).toBe('twin notes (lower case)\n');
    expect(await readAlice('cafe\u0301.md')).toBe('twin cafe (NFD)\n');
  });
});

describe('objects that are not valid segments', () => {
  beforeAll(createWorld);
  it('rejects an oversized object, malformed msgpack and an unknown envelope version, keeping what came before', async () => {
    const big = await newWriter('oversized');
    await publishValid(big, [await putEvent('objects/big-before.txt', 'big before\n')]);
    await store.putIfAbsent(keyOfSegment(big.id, 2), Buffer.alloc(MAX_SEGMENT_BYTES + 1024 * 1024, 0x91));
    const garbage = await newWriter('garbage');
    await publishValid(garbage, [await putEvent('objects/garbage-before.txt', 'garbage before\n')]);
    await store.putIfAbsent(keyOfSegment(garbage.id, 2), Buffer.from([0xc1, 0xff, 0x00, 0x13, 0x37]));
    const notEnvelope = await newWriter('not-envelope');
    await publishValid(notEnvelope, [await putEvent('objects/shape-before.txt', 'shape before\n')]);
    await store.putIfAbsent(keyOfSegment(notEnvelope.id, 2), encodeMsgpack({ hello: 'world' }));
    const future = await newWriter('future');
    await publishValid(future, [await putEvent('objects/future-before.txt', 'future before\n')]);
    await store.putIfAbsent(
      keyOfSegment(future.id, 2),
      signedBytes(future, bodyOf(future, [await putEvent('objects/future.txt', 'FUTURE\n')]), { envelopeV: 3 }),
    );

    const { code, report } = await syncAlice();
    expect(code).toBe(ExitCode.integrity);
    expect(faultsOf(report, big)).toEqual([
      expect.objectContaining({ seq: 2, code: 'malformed', message: expect.stringContaining('over the') }),
    ]);
    expect(faultsOf(report, garbage)).toEqual([
      expect.objectContaining({ seq: 2, code: 'malformed', message: expect.stringContaining('not valid msgpack') }),
    ]);
    expect(faultsOf(report, notEnvelope)).toEqual([expect.objectContaining({ seq: 2, code: 'malformed' })]);
    expect(faultsOf(report, future)).toEqual([expect.objectContaining({ seq: 2, code: 'unknown-version' })]);
    expect(await readAlice('objects/big-before.txt')).toBe('big before\n');
    expect(await readAlice('objects/garbage-before.txt')).toBe('garbage before\n');
    expect(await readAlice('objects/shape-before.txt')).toBe('shape before\n');
    expect(await readAlice('objects/future-before.txt')).toBe('future before\n');
    await expect(fs.access(alicePath('objects/future.txt'))).rejects.toThrow();
  });
});

describe('a writer of a newer format (ADR-0019 §1)', () => {
  beforeAll(createWorld);
  it('stops that log at the newer segment and exits 6 (upgrade), not 5, keeping what came before', async () => {
    const future = await newWriter('newer');
    await publishValid(future, [await putEvent('newer/before.txt', 'before\n')]);
    await store.putIfAbsent(
      keyOfSegment(future.id, 2),
      signedBytes(future, bodyOf(future, [await putEvent('newer/after.txt', 'AFTER\n')]), { envelopeV: 3 }),
    );
    const { code, report } = await syncAlice();
    expect(code).toBe(ExitCode.upgrade);
    expect(faultsOf(report, future)).toEqual([expect.objectContaining({ seq: 2, code: 'unknown-version' })]);
    expect(faultsOf(report, future)[0]?.message).toContain('formats up to 2');
    expect(await readAlice('newer/before.txt')).toBe('before\n');
    await expect(fs.access(alicePath('newer/after.txt'))).rejects.toThrow();
  });
});

describe('a forged merge (ADR-0020)', () => {
  beforeAll(createWorld);
  it('verify recomputes every merge from its base and parents and reports one whose bytes are not their merge', async () => {
    const w = await newWriter('merger');
    const base = await putEvent('merge/n.md', 'one\ntwo\nthree\n');
    await publishValid(w, [base]);
    const x = await putEvent('merge/n.md', 'ONE\ntwo\nthree\n', [base['id'] as string]);
    const y = await putEvent('merge/n.md', 'one\ntwo\nTHREE\n', [base['id'] as string]);
    await publishValid(w, [x, y]);
    const texts = new Map([
      [x['id'] as string, 'ONE\ntwo\nthree\n'],
      [y['id'] as string, 'one\ntwo\nTHREE\n'],
    ]);
    const parents = computeCanonicalHeads([...texts].map(([version, t]) => ({ version, bytes: Buffer.from(t) }))).map((h) => h.version);
    const merge = async (text: string) => ({
      ...(await putEvent('merge/n.md', text, parents)),
      merge: { base: base['id'], parents, algo: 'lines/1' },
    });
    const honest = await merge('ONE\ntwo\nTHREE\n');
    const honestKey = await publishValid2(w, [honest]);
    expect((await verifyAlice()).findings.filter((f) => f.object === honestKey)).toEqual([]);
    // A writer with a real key publishes a "merge" of the same parents holding a line neither wrote.
    const forgedKey = await publishValid2(w, [await merge('ONE\ntwo\nTHREE\nand a line nobody wrote\n')]);
    const v = await verifyAlice();
    expect(v.code).toBe(ExitCode.integrity);
    expect(v.findings).toEqual([expect.objectContaining({ object: forgedKey, code: 'merge-mismatch' })]);
  });
});

describe('tampered logs and keys', () => {
  beforeAll(createWorld);
  it('a replaced public key: forged segments are rejected (bad-signature) and verify reports key-mismatch', async () => {
    const bob = await newWriter('bob');
    await publishValid(bob, [await putEvent('bob/genuine.txt', 'genuine\n')]);
    expect((await syncAlice()).report.faults.filter((f) => f.client === bob.id)).toEqual([]); // alice pins bob's key here
    // The attacker swaps keys/<bob> for its own key and signs "bob's" next segment with it.
    await fs.rm(path.join(remoteDir, ...keyOfIdentity(bob.id).split('/')));
    const forger = generateKeyPair();
    await writeIdentity(
      store,
      { v: 1, vault, client: bob.id, name: 'bob', publicKey: forger.publicKeyHex, time: new Date().toISOString() },
      forger,
    );
    bob.keys = forger;
    await publishValid(bob, [await putEvent('bob/genuine.txt', 'FORGED\n', [])]);

    const { code, report } = await syncAlice();
    expect(code).toBe(ExitCode.integrity);
    // The segment signed by the new key, and (ADR-0015) the replaced key object itself.
    const replacedKey = { seq: null, object: keyOfIdentity(bob.id), code: 'key-mismatch', message: expect.stringContaining('replaced') };
    const forged = expect.objectContaining({ seq: 2, code: 'bad-signature' });
    expect(faultsOf(report, bob)).toEqual(expect.arrayContaining([forged, expect.objectContaining(replacedKey)]));
    expect(faultsOf(report, bob)).toHaveLength(2);
    expect(await readAlice('bob/genuine.txt')).toBe('genuine\n');
    const v = await verifyAlice();
    expect(v.code).toBe(ExitCode.integrity);
    expect(v.findings).toContainEqual(expect.objectContaining({ object: keyOfIdentity(bob.id), code: 'key-mismatch' }));
  });

  it('a truncated log (last segments deleted): sync keeps what it had and reports the vanished tail, verify reports it', async () => {
    const dave = await newWriter('dave');
    for (let i = 1; i <= 3; i++) await publishValid(dave, [await putEvent(`dave/${i}.txt`, `dave ${i}\n`)]);
    expect(faultsOf((await syncAlice()).report, dave)).toEqual([]);
    await fs.rm(path.join(remoteDir, ...keyOfSegment(dave.id, 3).split('/')));
    await fs.rm(path.join(remoteDir, ...keyOfSegment(dave.id, 2).split('/')));
    const after = await syncAlice();
    // Each fetch lists a log from the segment its cursor names (ADR-0015): the cut is seen.
    expect(after.code).toBe(ExitCode.integrity);
    const cut = { seq: 3, object: keyOfSegment(dave.id, 3), code: 'broken-chain', message: expect.stringContaining('vanished') };
    expect(faultsOf(after.report, dave)).toEqual([expect.objectContaining(cut)]);
    for (let i = 1; i <= 3; i++) expect(await readAlice(`dave/${i}.txt`)).toBe(`dave ${i}\n`);
    const v = await verifyAlice();
    expect(v.code).toBe(ExitCode.integrity);
    expect(v.findings).toContainEqual(
      expect.objectContaining({
        object: `log/${dave.id}/`,
        code: 'broken-chain',
        message: expect.stringContaining('truncated or rolled back'),
      }),
    );
  });

  it('a rolled-back log (tail rewritten by the key holder): verify reports the fork and the rollback', async () => {
    const erin = await newWriter('erin');
    for (let i = 1; i <= 3; i++) await publishValid(erin, [await putEvent(`erin/${i}.txt`, `erin ${i}\n`)]);
    expect(faultsOf((await syncAlice()).report, erin)).toEqual([]);
    // Erin's folder restored from a backup taken after seq 1: seqs 2 and 3 are gone and a new 2 is written.
    await fs.rm(path.join(remoteDir, ...keyOfSegment(erin.id, 3).split('/')));
    await fs.rm(path.join(remoteDir, ...keyOfSegment(erin.id, 2).split('/')));
    erin.seq = 1;
    erin.prev = sha256Hex(await segmentBodyBytes(keyOfSegment(erin.id, 1)));
    await publishValid(erin, [await putEvent('erin/rewritten.txt', 'rewritten\n')]);
    const v = await verifyAlice();
    expect(v.code).toBe(ExitCode.integrity);
    expect(v.findings).toContainEqual(expect.objectContaining({ object: `log/${erin.id}/2`, code: 'equivocation' }));
    expect(v.findings).toContainEqual(expect.objectContaining({ object: `log/${erin.id}/`, code: 'broken-chain' }));
    expect(await readAlice('erin/3.txt')).toBe('erin 3\n');
  });

  it('equivocation: another validly signed segment at a seq alice already fetched is reported by verify', async () => {
    const frank = await newWriter('frank');
    await publishValid(frank, [await putEvent('frank/1.txt', 'frank 1\n')]);
    const prev1 = frank.prev;
    await publishValid(frank, [await putEvent('frank/2.txt', 'frank 2\n')]);
    expect(faultsOf((await syncAlice()).report, frank)).toEqual([]);
    const other = signedBytes(frank, bodyOf(frank, [await putEvent('frank/2.txt', 'frank 2, other story\n')], 2, prev1));
    await fs.writeFile(path.join(remoteDir, ...keyOfSegment(frank.id, 2).split('/')), other);
    const v = await verifyAlice();
    expect(v.code).toBe(ExitCode.integrity);
    expect(v.findings).toContainEqual(expect.objectContaining({ object: `log/${frank.id}/2`, code: 'equivocation' }));
    expect(await readAlice('frank/2.txt')).toBe('frank 2\n');
  });
});

describe('tampered blobs', () => {
  beforeAll(createWorld);
  it('refuses a download whose bytes do not match the hash, leaves the local file untouched and reports it; the rest of the segment applies', async () => {
    const hank = await newWriter('hank');
    await publishValid(hank, [await putEvent('blobs/x.txt', 'x version 1\n'), await putEvent('blobs/w.txt', 'w version 1\n')]);
    expect(faultsOf((await syncAlice()).report, hank)).toEqual([]);
    const [x1, w1] = await Promise.all([readAlice('blobs/x.txt'), readAlice('blobs/w.txt')]);
    expect([x1, w1]).toEqual(['x version 1\n', 'w version 1\n']);
    const versions = await publishedVersions(hank.id);
    const x2 = await putEvent('blobs/x.txt', 'x version 2\n', [versions.get('blobs/x.txt')!]);
    const w2 = await putEvent('blobs/w.txt', 'w version 2\n', [versions.get('blobs/w.txt')!]);
    await publishValid(hank, [x2, w2, await putEvent('blobs/z.txt', 'z new\n')]);
    // Tamper with x's new blob (same length, other bytes) and delete w's.
    const xBlob = path.join(remoteDir, ...keyOfBlob(sha256Hex('x version 2\n')).split('/'));
    await fs.writeFile(xBlob, 'X VERSION 2\n');
    await fs.rm(path.join(remoteDir, ...keyOfBlob(sha256Hex('w version 2\n')).split('/')));

    const { code, report } = await syncAlice();
    expect(faultsOf(report, hank)).toEqual([]);
    expect(report.skipped).toContainEqual(
      expect.objectContaining({ path: 'blobs/x.txt', op: 'download', detail: expect.stringContaining('does not match its hash') }),
    );
    expect(report.skipped).toContainEqual(
      expect.objectContaining({ path: 'blobs/w.txt', op: 'download', detail: expect.stringContaining('missing') }),
    );
    expect(await readAlice('blobs/x.txt')).toBe('x version 1\n');
    expect(await readAlice('blobs/w.txt')).toBe('w version 1\n');
    expect(await readAlice('blobs/z.txt')).toBe('z new\n');
    expect((await fs.readdir(alicePath('blobs'))).filter((n) => n.startsWith('.bm-tmp-'))).toEqual([]);
    // A tampered or missing blob is an integrity failure (README, exit codes).
    expect(code).toBe(ExitCode.integrity);
    const v = await verifyAlice();
    expect(v.findings).toContainEqual(expect.objectContaining({ code: 'blob-corrupt', object: keyOfBlob(sha256Hex('x version 2\n')) }));
    expect(v.findings).toContainEqual(expect.objectContaining({ code: 'blob-missing', object: keyOfBlob(sha256Hex('w version 2\n')) }));
  });
});

/** The body bytes of a stored segment (what the next segment's prev hashes). */
describe('tampered pack entries (ADR-0022)', () => {
  beforeAll(createWorld);
  it('refuses an entry whose bytes do not match its hash: nothing written for it, the rest applies, verify names the pack', async () => {
    const ivy = await newWriter('ivy');
    const texts = ['pack a\n', 'pack b, longer\n', 'pack c\n'];
    const bytes = texts.map((t) => Buffer.from(t));
    const packId = newId();
    const packKey = keyOfPack(ivy.id, packId);
    let offset = 0;
    const events = bytes.map((b, i) => {
      const pack = { client: ivy.id, id: packId, offset, length: b.length };
      offset += b.length;
      return {
        type: 'put',
        id: newId(),
        path: `packed/${i}.txt`,
        replaces: [],
        content: { hash: sha256Hex(b), size: b.length, mode: 0o644, pack },
      };
    });
    // b's entry tampered (same length, other bytes) before the pack is stored.
    const stored = Buffer.concat(bytes);
    stored[bytes[0]!.length] = 'P'.charCodeAt(0);
    await store.putIfAbsent(packKey, stored);
    await publishValid2(ivy, events);
    const { code, report } = await syncAlice();
    expect(report.skipped).toContainEqual(expect.objectContaining({ path: 'packed/1.txt', op: 'download', code: 'blob-corrupt' }));
    expect(await readAlice('packed/0.txt')).toBe(texts[0]);
    expect(await readAlice('packed/2.txt')).toBe(texts[2]);
    await expect(fs.stat(alicePath('packed/1.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(code).toBe(ExitCode.integrity);
    const v = await verifyAlice();
    expect(v.findings).toEqual([expect.objectContaining({ code: 'blob-corrupt', object: packKey })]);
  });
});

async function segmentBodyBytes(key: string): Promise<Uint8Array> {
  const env = decodeMsgpack((await store.get(key))!, key) as { body: Uint8Array };
  return env.body;
}

/** Path -> version id of the events `client` published so far. */
async function publishedVersions(client: ClientId): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let seq = 1; ; seq++) {
    const bytes = await store.get(keyOfSegment(client, seq));
    if (bytes === undefined) return out;
    for (const e of decodeTrustedSegment(bytes).events) if ('path' in e) out.set(e.path, e.id);
  }
}
