import { describe, expect, it } from 'vitest';
import { decodeVault, encodeMsgpack, encodeVault } from '../../src/events/codec.js';
import { counterIdFactory, type ClientId, type VaultId } from '../../src/events/ids.js';
import { VAULT_KEY } from '../../src/events/layout.js';
import { generateKeyPair } from '../../src/events/signing.js';
import { MemoryStore } from '../../src/events/store/memory-store.js';
import {
  computeVaultRootBody,
  encodeVaultRoot,
  readVaultRoot,
  VAULT_ROOT_KEY,
  writeRootVaultMarker,
} from '../../src/members/vault-root.js';

/** The format-2 vault marker is the vault's root (ADR-0032). */
const ids = counterIdFactory('0VM');
const vault = ids() as VaultId;
const admin = { client: ids() as ClientId, name: 'admin', keys: generateKeyPair() };
const body = computeVaultRootBody(vault, admin, new Date(1_700_000_000_000));

describe('the vault marker (ADR-0032)', () => {
  it('decodes format 1 and format 2 to the vault id; a newer format is unknown-version (upgrade)', () => {
    expect(decodeVault(encodeVault({ v: 1, vault, time: body.time })).vault).toBe(vault);
    expect(decodeVault(encodeVaultRoot(body, admin.keys)).vault).toBe(vault);
    const newer = encodeMsgpack({ v: 3, body: new Uint8Array(1), sig: new Uint8Array(64) });
    expect(() => decodeVault(newer)).toThrow(expect.objectContaining({ code: 'unknown-version' }));
  });

  it('the first marker written stands; its root is read before (and instead of) a keys/root; a tampered one is bad-signature', async () => {
    const store = new MemoryStore();
    expect(await writeRootVaultMarker(store, body, admin.keys)).toBe(vault);
    const other = { client: ids() as ClientId, name: 'mallory', keys: generateKeyPair() };
    const second = computeVaultRootBody(ids() as VaultId, other, new Date());
    expect(await writeRootVaultMarker(store, second, other.keys)).toBe(vault);
    await store.putIfAbsent(VAULT_ROOT_KEY, encodeVaultRoot({ ...second, vault }, other.keys));
    expect((await readVaultRoot(store, vault))?.body.root.client).toBe(admin.client);
    const tampered = Uint8Array.from(encodeVaultRoot(body, admin.keys));
    tampered[tampered.length - 1]! ^= 1;
    const t = new MemoryStore();
    await t.putIfAbsent(VAULT_KEY, tampered);
    await expect(readVaultRoot(t, vault)).rejects.toMatchObject({ code: 'bad-signature' });
  });
});
