/**
 * The built CLI against a real S3 server: fauxqs, in this test process, on 127.0.0.1.
 * Clients are configured the way a user would (`--remote s3://bucket/prefix --endpoint ...
 * --path-style --region`), with credentials passed through the child's environment.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { EXIT, copiesOf, expectExit, opsOn, runCli, sortedObject } from './support/cli.js';
import { useS3Worlds } from './support/s3-worlds.js';

const BUCKET = 'bm-log-e2e';
/** Worlds on a fresh prefix of the bucket each, so tests do not see each other. */
const { world: s3World, pair } = useS3Worlds(BUCKET);
const s3Pair = () => pair({ 'note.md': 'base\n', 'docs/other.md': 'other\n' });

describe.concurrent('S3 remote (fauxqs)', () => {
  it('doctor --json reports the server does not enforce create-only writes', async () => {
    const w = await s3World();
    const a = await w.init('alice', { noSync: true });
    const d = expectExit(await a.run('doctor', '--json'), EXIT.ok);
    expect(d.json).toMatchObject({ createOnlyEnforced: false, versioning: false, snapshots: false });
    expect(d.json.remote).toMatch(new RegExp(`^s3://${BUCKET}/team-`));
  });

  it('upload on one client, download on the other; verify is clean', async () => {
    const { a, b } = await s3Pair();
    await a.write('note.md', 'edited over s3\n');
    await a.write('big.bin', randomBytes(3 * 1024 * 1024));
    expect(opsOn(await a.syncOk(), 'note.md')).toEqual(['upload']);
    const rb = await b.syncOk();
    expect(opsOn(rb, 'note.md')).toEqual(['download']);
    expect(sortedObject(await b.tree())).toEqual(sortedObject(await a.tree()));
    const v = expectExit(await b.run('verify', '--json'), EXIT.ok);
    expect(v.json).toMatchObject({ ok: true, clients: 2 });
  });

  it('concurrent edits become a conflict with both versions kept on both clients', async () => {
    const { a, b } = await s3Pair();
    await a.write('note.md', 'alice\n');
    await b.write('note.md', 'bob\n');
    await a.syncOk();
    await b.syncOk();
    await a.syncOk();
    for (const c of [a, b]) {
      const copies = copiesOf(await c.files(), 'note.md');
      expect(copies).toHaveLength(1);
      expect([await c.read('note.md'), await c.read(copies[0]!)].sort()).toEqual(['alice\n', 'bob\n']);
      expect((await c.conflicts()).map((x) => x.path)).toEqual(['note.md']);
    }
  });

  it('a delete becomes a tombstone and is applied on the other client', async () => {
    const { a, b } = await s3Pair();
    await a.rm('docs/other.md');
    expect(opsOn(await a.syncOk(), 'docs/other.md')).toEqual(['tombstone']);
    expect(opsOn(await b.syncOk(), 'docs/other.md')).toEqual(['deleteLocal']);
    expect(await b.files()).toEqual(['note.md']);
    expect((await b.log('docs/other.md')).map((e) => e.type)).toEqual(['tombstone', 'put']);
  });

  it("S3 commands print nothing on stderr: no third-party notice (the AWS SDK's Node 20 notice included)", async () => {
    const w = await s3World();
    const a = await w.init('alice', { files: { 'note.md': 'x\n' } });
    await a.write('note.md', 'y\n');
    for (const args of [['sync'], ['status'], ['doctor']]) {
      const r = expectExit(await a.run(...args), EXIT.ok);
      expect(r.stderr).toBe('');
    }
  });

  it('missing credentials: says none were found and where the AWS chain looks, and sends nothing', async () => {
    // A TCP endpoint that counts connections: the credential chain fails before any request.
    let connections = 0;
    const tcp = createServer((sock) => {
      connections++;
      sock.destroy();
    });
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    const port = (tcp.address() as { port: number }).port;
    try {
      const w = await s3World();
      // No AWS_* credentials in this process (startLocalS3 hides them); the instance role lookup off, to be quick.
      const r = await runCli(
        [
          'init',
          '--create',
          '--remote',
          `s3://${BUCKET}/nocreds`,
          '--endpoint',
          `http://127.0.0.1:${port}`,
          '--path-style',
          '--dir',
          w.client('alice').dir,
        ],
        {
          env: { AWS_EC2_METADATA_DISABLED: 'true' },
        },
      );
      expect(r.code).toBe(EXIT.usage);
      expect(r.stderr).toContain('no AWS credentials were found, so nothing was sent');
      for (const where of ['AWS_ACCESS_KEY_ID', 'AWS_PROFILE', '~/.aws/credentials', 'SSO', 'instance role'])
        expect(r.stderr).toContain(where);
      expect(r.stderr).not.toContain('refused');
      expect(connections).toBe(0);
    } finally {
      tcp.close();
    }
  });
});
