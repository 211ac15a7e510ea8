import * as fs from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { startWatch, useWorlds } from './support/cli.js';

// `sync --watch` started while the remote is out of reach (ADR-0025, ADR-0015 §5): the failure
// is printed once and the watch retries with the backoff of later rounds, instead of exiting;
// once the remote is back the next round syncs. A directory remote: its folder missing, or an
// empty mount point (the share not mounted), which a sync refuses rather than re-create the
// vault there.

const { world } = useWorlds();

describe.concurrent('sync --watch started while the remote is out of reach', () => {
  it.for(['folder missing', 'empty mount point'] as const)(
    'the remote %s: printed once, retried after 5 s then 10 s, and synced once it is back',
    { timeout: 120_000 },
    async (how, { onTestFinished }) => {
      const w = await world();
      const a = await w.init('alice', { files: { 'a.md': 'a\n' } });
      const away = `${w.remoteDir}.mounted`;
      await fs.rename(w.remoteDir, away);
      if (how === 'empty mount point') await fs.mkdir(w.remoteDir);
      const { watch, until, output, expectBackInSync } = startWatch(a, onTestFinished);
      await until(/sync failed \(remote-unavailable\); next try in 5 s \(at \d\d:\d\d:\d\d\)/, 30_000);
      await until(/sync failed again \(remote-unavailable\), 2 times in a row; next try in 10 s/, 30_000);
      expect(watch.exitCode).toBeNull();
      const { err } = output();
      expect(err.match(/error \[remote-unavailable\]/g)).toHaveLength(1);
      if (how === 'empty mount point') {
        expect(err).toMatch(/looks empty: is it mounted\?/);
        expect(await fs.readdir(w.remoteDir), 'nothing written into the mount point').toEqual([]);
        await fs.rmdir(w.remoteDir);
      }
      await fs.rename(away, w.remoteDir);
      await expectBackInSync();
    },
  );
});
