import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKS_PREFIX } from '../../src/events/layout.js';
import { listAll } from '../../src/events/store/object-store.js';
import { S3Store } from '../../src/events/store/s3-store.js';
import { seededRandom } from '../support/fault-proxy.js';
import { useS3BehindProxy } from '../support/s3-behind-proxy.js';
import { readTreeHashes, SyncWorld } from '../support/sync-world.js';

/*
 * Packs on a real S3 server (fauxqs in process) behind the fault proxy with no faults and
 * create-only enforced as on AWS: the proxy counts every request. A first sync of N small notes
 * must cost far fewer than N requests (ADR-0022), and a second client must get the same bytes.
 */
const N = 150;
const bucket = 'bm-log-packs';
const s3 = useS3BehindProxy(bucket, { seed: 1, rates: {}, enforceCreateOnly: true }, 'bm-log-packs-s3-');
const options = (endpoint: string) => ({ ...s3.storeOptions(endpoint), createOnlyEnforced: true }) as const;

describe('packs over S3 (fauxqs behind the counting proxy)', () => {
  it(`a first sync of ${N} small notes takes far fewer than ${N} requests, and a second client gets identical content`, {
    timeout: 60_000,
  }, async () => {
    const world = await SyncWorld.create({
      base: s3.base,
      clients: 2,
      random: seededRandom(7),
      openStore: () => new S3Store(options(s3.proxy.endpoint)),
      auditStore: new S3Store(options(s3.server.endpoint)),
      packs: true,
    });
    try {
      const [alice, bob] = world.clients as [(typeof world.clients)[0], (typeof world.clients)[0]];
      for (let i = 0; i < N; i++) {
        const dir = path.join(alice.root, `folder${i % 7}`);
        await fs.mkdir(dir, { recursive: true });
        await fs.writeFile(path.join(dir, `note${i}.md`), `# note ${i}\n${'text '.repeat(i * 13)}\n`);
      }
      const before = s3.proxy.snapshot().requests;
      const [first] = await world.sync([alice], { crash: false });
      expect(first).toMatchObject({ kind: 'ok' });
      const requests = s3.proxy.snapshot().requests - before;
      expect(requests).toBeLessThan(N / 10);
      expect(await listAll(new S3Store(options(s3.server.endpoint)), PACKS_PREFIX)).toHaveLength(1);
      const beforeJoin = s3.proxy.snapshot().requests;
      const [join] = await world.sync([bob], { crash: false });
      expect(join).toMatchObject({ kind: 'ok' });
      // The joiner reads the one pack once, not one request per note.
      expect(s3.proxy.snapshot().requests - beforeJoin).toBeLessThan(N / 10);
      expect(await readTreeHashes(bob.root)).toEqual(await readTreeHashes(alice.root));
      expect((await world.check()).problems).toEqual([]);
    } finally {
      await world.close();
    }
  });
});
