import { randomBytes } from 'node:crypto';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localCredentials, startLocalS3, type LocalS3Server } from '../support/s3-server.js';
import { startWatch, useWorlds } from './support/cli.js';

// `sync --watch` while the remote cannot be reached (ADR-0025): a real S3 server (fauxqs) behind
// a TCP relay the test switches off, so that every request of a round fails as with a network
// outage, then on again.

const BUCKET = 'bm-log-watch';
let server: LocalS3Server;
let relay: Server;
let relayEndpoint = '';
let down = false;
const open = new Set<Socket>();

beforeAll(async () => {
  server = await startLocalS3();
  await server.createBucket(BUCKET);
  const upstream = new URL(server.endpoint);
  relay = createServer((client) => {
    if (down) return client.destroy();
    const up = createConnection({ host: upstream.hostname, port: Number(upstream.port) });
    open.add(client).add(up);
    client.pipe(up).pipe(client);
    const close = () => {
      client.destroy();
      up.destroy();
      open.delete(client);
      open.delete(up);
    };
    client.on('error', close).on('close', close);
    up.on('error', close).on('close', close);
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  relayEndpoint = `http://127.0.0.1:${(relay.address() as { port: number }).port}`;
});
afterAll(async () => {
  for (const s of open) s.destroy();
  await new Promise((r) => relay?.close(r));
  await server?.stop();
});

const { world } = useWorlds(() => ({
  remote: `s3://${BUCKET}/team-${randomBytes(4).toString('hex')}`,
  initArgs: ['--endpoint', relayEndpoint, '--path-style', '--region', 'us-east-1'],
  env: { AWS_ACCESS_KEY_ID: localCredentials.accessKeyId, AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey },
}));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('sync --watch with the remote out of reach for a while', () => {
  it('prints the failure once, retries after 5 s then 10 s saying when, and is back to normal after a success', async ({
    onTestFinished,
  }) => {
    const w = await world();
    const a = await w.init('alice', { files: { 'a.md': 'a\n' } });
    const { until, output, expectBackInSync } = startWatch(a, onTestFinished, () => (down = false));
    // Once the watch has started (its session open), the network goes.
    await until(/^watching [^\n]*\n/, 30_000);
    await sleep(1000);
    down = true;
    for (const s of open) s.destroy();
    await until(/sync failed \(remote-unavailable\); next try in 5 s \(at \d\d:\d\d:\d\d\)/, 30_000);
    // With --interval 1 the old watch printed the failure every second.
    await sleep(3000);
    expect(
      output()
        .out.split('\n')
        .filter((l) => /sync failed/.test(l)),
    ).toHaveLength(1);
    await until(/sync failed again \(remote-unavailable\), 2 times in a row; next try in 10 s/, 30_000);
    // The failure is printed in full only once.
    expect(output().err.match(/error \[remote-unavailable\]/g)).toHaveLength(1);
    down = false;
    await expectBackInSync();
  }, 120_000);
});
