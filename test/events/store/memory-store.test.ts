import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../../src/events/store/memory-store.js';
import { isBmError } from '../../../src/errors.js';
import { runObjectStoreContract } from './object-store-contract.js';

runObjectStoreContract('memory', { create: async () => new MemoryStore() });

describe('MemoryStore fault injection', () => {
  const enc = (s: string) => new TextEncoder().encode(s);

  it('fails writes before storing when writeFailRate hits', async () => {
    const s = new MemoryStore({ random: () => 0, faults: { writeFailRate: 1 } });
    await expect(s.putIfAbsent('a/b', enc('x'))).rejects.toSatisfy((e) => isBmError(e, 'remote-unavailable'));
    expect(s.objects.size).toBe(0);
  });

  it('stores but reports failure when writeLostAckRate hits, and the retry reports identical', async () => {
    const s = new MemoryStore({ random: () => 0, faults: { writeLostAckRate: 1 } });
    await expect(s.putIfAbsent('a/b', enc('x'))).rejects.toSatisfy((e) => isBmError(e, 'remote-unavailable'));
    expect(s.objects.size).toBe(1);
    s.faults = {};
    expect(await s.putIfAbsent('a/b', enc('x'))).toBe('identical');
  });

  it('truncates listings while claiming completeness when listTruncateRate hits', async () => {
    const s = new MemoryStore({ random: () => 0.5 });
    for (const k of ['l/1', 'l/2', 'l/3', 'l/4']) await s.putIfAbsent(k, enc(k));
    s.faults = { listTruncateRate: 1 };
    const page = await s.list('l/');
    expect(page.objects.length).toBe(2);
    expect(page.truncated).toBe(false);
  });
});
