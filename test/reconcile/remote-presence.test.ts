import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeVault } from '../../src/events/codec.js';
import type { VaultId } from '../../src/events/ids.js';
import { keyOfIdentity, keyOfSegment } from '../../src/events/layout.js';
import { planRemotePresence, type PresenceInput } from '../../src/reconcile/remote-presence.js';

// ADR-0015 §5: when a remote that looks empty or foreign is refused (the end-to-end cases are
// test/cli/remote-not-mounted.e2e.test.ts; the engine's, the subset property of remote-check.test.ts).

const VAULT = '01M99BSRKMDBDB82YD9KXTWK88';
const OTHER = '01M99BSRKMDBDB82YD9KXTWK99';
const marker = (vault: string) => encodeVault({ v: 1, vault: vault as VaultId, time: '2026-12-07T00:00:00.000Z' });
const listed = (key: string) => ({ key, size: 10 });

/** A client S that had seen B and C, on a remote that is now empty. */
const emptied = (over: Partial<PresenceInput> = {}): PresenceInput => ({
  self: 'S',
  vault: VAULT,
  pinned: new Set(['S', 'B', 'C']),
  before: new Map([
    ['S', { seq: 3, hash: 'h' }],
    ['B', { seq: 5, hash: 'h' }],
    ['C', { seq: 1, hash: 'h' }],
  ]),
  vaultPinned: true,
  listedKeys: [],
  listedLogs: new Map(),
  marker: undefined,
  ...over,
});

describe('planRemotePresence (pure)', () => {
  it('an empty remote is refused, naming the objects whose absence says so', () => {
    const v = planRemotePresence(emptied());
    expect(v?.kind).toBe('empty');
    expect(v?.expected).toEqual([keyOfIdentity('B'), keyOfSegment('B', 5), keyOfIdentity('C'), keyOfSegment('C', 1)]);
  });

  it("another vault's marker with none of this vault's objects is refused as foreign", () => {
    expect(planRemotePresence(emptied({ marker: marker(OTHER) }))).toMatchObject({ kind: 'foreign', foreignVault: OTHER });
  });

  it("this vault's marker, an unreadable marker read, or a client that has seen nothing there: no refusal", () => {
    expect(planRemotePresence(emptied({ marker: marker(VAULT) }))).toBeUndefined();
    expect(planRemotePresence(emptied({ marker: 'unknown' }))).toBeUndefined();
    expect(planRemotePresence(emptied({ vaultPinned: false, before: new Map() }))).toBeUndefined();
  });

  it('the only client: its own key and log are the witnesses', () => {
    const alone = { pinned: new Set(['S']), before: new Map([['S', { seq: 3, hash: 'h' }]]) };
    expect(planRemotePresence(emptied(alone))?.kind).toBe('empty');
    expect(planRemotePresence(emptied({ ...alone, listedKeys: [listed(keyOfIdentity('S'))] }))).toBeUndefined();
  });

  it('property: any one object of another client still listed means the remote is there (ADR-0015 puts the rest back)', () => {
    const objects = [keyOfIdentity('B'), keyOfSegment('B', 5), keyOfIdentity('C'), keyOfSegment('C', 1), keyOfSegment('C', 2)];
    fc.assert(
      fc.property(fc.subarray(objects, { minLength: 1 }), fc.option(fc.constantFrom(VAULT, OTHER)), (present, vault) => {
        const listedKeys = present.filter((k) => k.startsWith('keys/')).map(listed);
        const listedLogs = new Map<string, ReturnType<typeof listed>[]>();
        for (const k of present.filter((p) => p.startsWith('log/'))) {
          const c = k.split('/')[1]!;
          listedLogs.set(c, [...(listedLogs.get(c) ?? []), listed(k)]);
        }
        const input = emptied({ listedKeys, listedLogs, marker: vault === null ? undefined : marker(vault) });
        expect(planRemotePresence(input)).toBeUndefined();
      }),
    );
  });
});
