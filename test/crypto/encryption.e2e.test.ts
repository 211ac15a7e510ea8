/**
 * End-to-end encryption (ADR-0031), tried as users would: the built CLI as child processes on
 * a directory remote and on the fauxqs S3 server started in this process. With `init --create
 * --encrypt` the whole remote is read back and searched for every synced path, slices of every
 * file's bytes and every content hash (raw, hex, base64, base64url): none appears (the same
 * search finds them all in an open vault, so it can fail). Two members sync after `members add`;
 * a tampered ciphertext and a key wrapped for another member are refused; a removed member
 * cannot read what is written after its removal.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeWrapKeyPair, encodeCryptObject } from '../../src/crypto/crypt-objects.js';
import { createContentKey } from '../../src/crypto/keyring.js';
import { wrapContentKey } from '../../src/crypto/wrap-key.js';
import { importPrivateKeyPem } from '../../src/events/signing.js';
import { listAll, type ObjectStore } from '../../src/events/store/object-store.js';
import { DirectoryStore } from '../../src/events/store/directory-store.js';
import { S3Store } from '../../src/events/store/s3-store.js';
import { localCredentials, startLocalS3, type LocalS3Server } from '../support/s3-server.js';
import { Client, EXIT, expectExit, flipByte, runCli, type CliResult } from '../cli/support/cli.js';

const BUCKET = 'bm-log-encryption';
let server: LocalS3Server;
const bases: string[] = [];

beforeAll(async () => {
  server = await startLocalS3();
  await server.createBucket(BUCKET);
});
afterAll(async () => {
  await server?.stop();
  await Promise.all(bases.map((b) => fs.rm(b, { recursive: true, force: true })));
});

/** A remote as the CLI sees it (url, init flags, env) and as the test reads it back (every object). */
interface Remote {
  readonly url: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly dir: string | undefined;
  open(): ObjectStore;
}

async function directoryRemote(base: string): Promise<Remote> {
  const dir = path.join(base, 'remote');
  return { url: dir, args: [], env: {}, dir, open: () => new DirectoryStore(dir) };
}

async function s3Remote(): Promise<Remote> {
  const prefix = `team-${randomBytes(4).toString('hex')}/`;
  return {
    url: `s3://${BUCKET}/${prefix}`,
    args: ['--endpoint', server.endpoint, '--path-style', '--region', 'us-east-1'],
    env: { AWS_ACCESS_KEY_ID: localCredentials.accessKeyId, AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey },
    dir: undefined,
    open: () =>
      new S3Store({
        bucket: BUCKET,
        prefix,
        endpoint: server.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: localCredentials,
      }),
  };
}

async function newBase(): Promise<string> {
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'bm-log-crypt-'));
  bases.push(base);
  return base;
}

/** `bm-log init` of a new client folder `name` (with `--create --encrypt` when `encrypt`; a join otherwise). */
async function init(
  base: string,
  remote: Remote,
  name: string,
  o: { create?: boolean; encrypt?: boolean; files?: Record<string, string | Uint8Array> } = {},
): Promise<Client> {
  const c = new Client(path.join(base, name), name, remote.env);
  await fs.mkdir(c.dir, { recursive: true });
  for (const [rel, content] of Object.entries(o.files ?? {})) await c.write(rel, content);
  const flags = [...(o.create === true ? ['--create'] : []), ...(o.encrypt === true ? ['--encrypt'] : [])];
  const r = await runCli(['init', ...flags, '--remote', remote.url, '--name', name, '--dir', c.dir, '--json', ...remote.args], {
    env: remote.env,
  });
  expectExit(r, EXIT.ok);
  return c;
}

/** Every object of the remote: its key and bytes. */
async function readWholeRemote(remote: Remote): Promise<{ key: string; bytes: Buffer }[]> {
  const store = remote.open();
  try {
    const out: { key: string; bytes: Buffer }[] = [];
    for (const o of await listAll(store, '')) out.push({ key: o.key, bytes: Buffer.from((await store.get(o.key))!) });
    return out;
  } finally {
    await store.close();
  }
}

/** What must never reach the bucket of an encrypted vault, for each file: its path, slices of its bytes, its hash in four encodings. */
function computeNeedles(files: Record<string, string | Uint8Array>): Map<string, Buffer> {
  const needles = new Map<string, Buffer>();
  for (const [rel, content] of Object.entries(files)) {
    const bytes = Buffer.from(content);
    const hash = createHash('sha256').update(bytes).digest();
    needles.set(`path ${rel}`, Buffer.from(rel));
    needles.set(`name ${rel}`, Buffer.from(path.posix.basename(rel)));
    needles.set(`bytes of ${rel} (start)`, bytes.subarray(0, 24));
    if (bytes.length > 4096) needles.set(`bytes of ${rel} (middle)`, bytes.subarray(bytes.length >> 1, (bytes.length >> 1) + 24));
    needles.set(`raw hash of ${rel}`, hash);
    needles.set(`hex hash of ${rel}`, Buffer.from(hash.toString('hex')));
    needles.set(`base64 hash of ${rel}`, Buffer.from(hash.toString('base64').replace(/=+$/, '')));
    needles.set(`base64url hash of ${rel}`, Buffer.from(hash.toString('base64url')));
  }
  return needles;
}

/** The needles found in the remote's object keys or bytes (`what @ key`). */
function findNeedles(objects: readonly { key: string; bytes: Buffer }[], needles: ReadonlyMap<string, Buffer>): string[] {
  const found: string[] = [];
  for (const [what, needle] of needles)
    for (const o of objects) if (o.key.includes(needle.toString('latin1')) || o.bytes.includes(needle)) found.push(`${what} @ ${o.key}`);
  return found;
}

function said(r: CliResult): string {
  return `${r.stdout}\n${r.stderr}`;
}

/** Distinctive files: notes packed together, one large file stored as its own blob, nested paths. */
function teamFiles(tag: string): Record<string, string | Uint8Array> {
  return {
    [`notes/${tag}-meeting-minutes.md`]: `# Minutes ${tag}\nThe quarterly plan is confidential-${tag}.\n`,
    [`projects/${tag}-secret-project/roadmap.txt`]: `roadmap for ${tag}: launch the hidden feature in spring\n`,
    [`${tag}-large-scan.bin`]: randomBytes(3 * 1024 * 1024),
  };
}

/** Alice creates an encrypted vault with files; Bob joins, is admitted by `members add`, and has them. */
async function encryptedPair(remote: Remote, base: string) {
  const aliceFiles = teamFiles('alice');
  const a = await init(base, remote, 'alice', { create: true, encrypt: true, files: aliceFiles });
  const b = await init(base, remote, 'bob');
  expect(await b.files()).toEqual([]);
  expectExit(await a.run('members', 'add', 'bob'), EXIT.ok);
  await b.syncOk();
  expect((await b.tree()).size).toBe(Object.keys(aliceFiles).length);
  expect(await b.tree()).toEqual(await a.tree());
  return { a, b, aliceFiles };
}

describe.concurrent.each([
  ['a directory remote', (base: string) => directoryRemote(base)],
  ['the S3 server', () => s3Remote()],
])('init --encrypt on %s', (_kind, makeRemote) => {
  it('two members sync normally, and no object holds a path, a file byte or a content hash in any encoding (checkpoints included)', {
    timeout: 240_000,
  }, async () => {
    const base = await newBase();
    const remote = await makeRemote(base);
    const { a, b, aliceFiles } = await encryptedPair(remote, base);
    const bobFiles = teamFiles('bob');
    for (const [rel, content] of Object.entries(bobFiles)) await b.write(rel, content);
    await b.syncOk();
    await a.syncOk();
    expect(await a.tree()).toEqual(await b.tree());
    expect(await a.read('notes/bob-meeting-minutes.md')).toBe(bobFiles['notes/bob-meeting-minutes.md']);
    expectExit(await a.run('gc'), EXIT.ok); // writes alice's checkpoint of her own log
    const objects = await readWholeRemote(remote);
    expect(objects.some((o) => o.key.startsWith('writer-checkpoints/'))).toBe(true);
    expect(objects.some((o) => o.key.startsWith('blobs/'))).toBe(true);
    expect(objects.some((o) => o.key.startsWith('packs/'))).toBe(true);
    expect(findNeedles(objects, computeNeedles({ ...aliceFiles, ...bobFiles }))).toEqual([]);
    expectExit(await b.run('verify'), EXIT.ok);
  });
});

describe.concurrent('an encrypted vault refuses what it cannot trust (directory remote)', { timeout: 180_000 }, () => {
  it('the same search finds every needle in an open vault: it can fail', async () => {
    const base = await newBase();
    const remote = await directoryRemote(base);
    const files = teamFiles('open');
    await init(base, remote, 'alice', { create: true, files });
    const found = findNeedles(await readWholeRemote(remote), computeNeedles(files));
    // An open vault stores paths, bytes and hex hashes as they are (raw and base64 hashes it happens not to write).
    for (const what of computeNeedles(files).keys())
      if (/^(path|name|bytes|hex hash)/.test(what))
        expect(
          found.some((f) => f.startsWith(`${what} @`)),
          what,
        ).toBe(true);
  });

  it('a tampered ciphertext is refused with tampered and nothing of it is applied', async () => {
    const base = await newBase();
    const remote = await directoryRemote(base);
    const { a, b } = await encryptedPair(remote, base);
    await a.write('after.md', 'written after bob joined\n');
    await a.syncOk();
    const log = path.join(remote.dir!, 'log', await a.clientId());
    const newest = (await fs.readdir(log)).sort().at(-1)!;
    await flipByte(path.join(log, newest), 60);
    const r = await b.sync();
    expect(r.code).toBe(EXIT.integrity);
    expect(said(r)).toContain('tampered');
    expect(b.exists('after.md')).toBe(false);
  });

  it('a content key wrapped for another member is refused with wrong-key', async () => {
    const base = await newBase();
    const remote = await directoryRemote(base);
    const a = await init(base, remote, 'alice', { create: true, encrypt: true, files: { 'n.md': 'x\n' } });
    const carol = await init(base, remote, 'carol');
    const wraps = path.join(remote.dir!, 'crypt', 'wraps');
    await fs.mkdir(path.join(wraps, await carol.clientId()), { recursive: true });
    await fs.copyFile(path.join(wraps, await a.clientId(), '0000000001'), path.join(wraps, await carol.clientId(), '0000000001'));
    const copied = await carol.sync();
    expect(copied.code).toBe(EXIT.integrity);
    expect(said(copied)).toContain('wrong-key');
    expect(said(copied)).toContain(`a content key wrapped for client ${await a.clientId()}`);
    // A wrap signed by the admin that names carol but was made for another member's key (alice's).
    const aliceKeys = importPrivateKeyPem(await fs.readFile(path.join(a.dir, '.bm-log', 'identity.key'), 'utf8'));
    const vault = JSON.parse(await fs.readFile(path.join(a.dir, '.bm-log', 'config.json'), 'utf8')).vaultId as string;
    const forAlice = computeWrapKeyPair(aliceKeys, vault).publicKeyHex;
    const wrap = wrapContentKey(vault, 1, createContentKey(), { client: await carol.clientId(), publicKeyHex: forAlice });
    const body = { v: 1, type: 'wrap', vault, writer: await a.clientId(), wrap } as const;
    await fs.writeFile(path.join(wraps, await carol.clientId(), '0000000001'), encodeCryptObject(body, aliceKeys));
    const r = await carol.sync();
    expect(r.code).toBe(EXIT.integrity);
    expect(said(r)).toContain('wrong-key');
    expect(said(r)).toContain('wrapped for another member or another key');
    expect(await carol.files()).toEqual([]);
  });

  it('a removed member cannot read what is written after its removal; what it had stays readable to it', async () => {
    const base = await newBase();
    const remote = await directoryRemote(base);
    const { a, b } = await encryptedPair(remote, base);
    expectExit(await a.run('members', 'remove', 'bob'), EXIT.ok);
    const wraps = path.join(remote.dir!, 'crypt', 'wraps');
    expect(await fs.readdir(path.join(wraps, await a.clientId()))).toEqual(['0000000001', '0000000002']);
    expect(await fs.readdir(path.join(wraps, await b.clientId()))).toEqual(['0000000001']);
    await a.write('after-removal.md', 'bob must not read this\n');
    await a.syncOk();
    const r = await b.sync();
    expect(r.code).toBe(EXIT.integrity);
    expect(said(r)).toContain('unknown-epoch');
    expect(b.exists('after-removal.md')).toBe(false);
    expect(b.exists('notes/alice-meeting-minutes.md')).toBe(true);
  });

  it('--encrypt without --create is a usage error that writes nothing', async () => {
    const base = await newBase();
    const dir = path.join(base, 'c');
    const r = await runCli(['init', '--encrypt', '--remote', path.join(base, 'remote'), '--dir', dir]);
    expect(r.code).toBe(EXIT.usage);
    expect(said(r)).toContain('--create');
    await expect(fs.access(path.join(base, 'remote'))).rejects.toThrow();
  });
});
