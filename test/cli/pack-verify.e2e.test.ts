/**
 * `bm-log verify [--repair]` on packs (ADR-0035), end to end with the built CLI on a
 * local-directory remote: a missing pack is reported once with the versions it held and put
 * back from the files that still hold its entries; what no file holds is named as lost; a
 * damaged pack names its damaged versions.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT, expectExit, findPackedContent, flipByte, useWorlds } from './support/cli.js';

const worlds = useWorlds();

interface VerifyJson {
  ok: boolean;
  findings: { code: string; object: string; message: string }[];
  repaired: string[];
}

describe.concurrent('bm-log verify on packs', () => {
  it('a missing pack: reported with its versions, put back by --repair from the files here, the rest named as lost', async () => {
    const { w, a, b } = await worlds.pair({ 'a.md': 'alpha note\n', 'b.md': 'beta note\n' });
    const { key } = await findPackedContent(w.remoteDir, 'alpha note\n');
    await fs.rm(path.join(w.remoteDir, key));

    const found = expectExit(await b.run('verify', '--json'), EXIT.integrity).json as VerifyJson;
    expect(found.findings).toHaveLength(1);
    expect(found.findings[0]).toMatchObject({ object: key, code: 'blob-missing' });
    expect(found.findings[0]!.message).toMatch(/a\.md \(version .*b\.md \(version /);
    expect(found.findings[0]!.message).toMatch(/files here hold 2 of its 2/);

    // b.md is gone from bob's folder (not synced): only a.md can be put back.
    await b.rm('b.md');
    const repaired = expectExit(await b.run('verify', '--repair', '--json'), EXIT.integrity).json as VerifyJson;
    expect(repaired.repaired).toEqual([key]);
    expect(repaired.findings).toHaveLength(1);
    expect(repaired.findings[0]!.message).toMatch(/put back without 1 entr.*now lost: b\.md \(version /);

    // A reader finds a.md's bytes again, and b.md's entry reported as not holding its bytes.
    const after = expectExit(await a.run('verify', '--json'), EXIT.integrity).json as VerifyJson;
    expect(after.findings.map((f) => [f.object, f.code])).toEqual([[key, 'blob-corrupt']]);
    expect(after.findings[0]!.message).toMatch(/b\.md \(version /);
    expect(after.findings[0]!.message).not.toMatch(/a\.md/);
    // A new client gets a.md; b.md is the integrity fault it reports (exit 5), nothing written for it.
    const c = await w.init('carol', { noSync: true });
    expectExit(await c.sync(), EXIT.integrity);
    expect(await c.read('a.md')).toBe('alpha note\n');
    expect(c.exists('b.md')).toBe(false);
  });

  it('a missing pack no file here holds: says exactly which versions are lost, and --repair writes nothing', async () => {
    const { w, a } = await worlds.pair({ 'x.md': 'x note\n' });
    const { key } = await findPackedContent(w.remoteDir, 'x note\n');
    await fs.rm(path.join(w.remoteDir, key));
    await a.rm('x.md');
    const r = expectExit(await a.run('verify', '--repair', '--json'), EXIT.integrity).json as VerifyJson;
    expect(r.repaired).toEqual([]);
    expect(r.findings[0]!.message).toMatch(/x\.md \(version .*no file here holds any of them: they are lost from this folder/);
    await expect(fs.access(path.join(w.remoteDir, key))).rejects.toThrow();
  });

  it('a damaged pack names the damaged version once', async () => {
    const { w, b } = await worlds.pair({ 'p.md': 'p note\n', 'q.md': 'q note\n' });
    const { key, offset } = await findPackedContent(w.remoteDir, 'q note\n');
    await flipByte(path.join(w.remoteDir, key), offset + 1);
    const r = expectExit(await b.run('verify', '--json'), EXIT.integrity).json as VerifyJson;
    expect(r.findings.map((f) => [f.object, f.code])).toEqual([[key, 'blob-corrupt']]);
    expect(r.findings[0]!.message).toMatch(/1 entr\(y\/ies\): q\.md \(version /);
  });
});
