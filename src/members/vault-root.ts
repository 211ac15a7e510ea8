import { z } from 'zod';
import { BmError, ErrorCode, isBmError } from '../errors.js';
import { decodeMsgpack, decodeVault, encodeMsgpack } from '../events/codec.js';
import { VAULT_KEY } from '../events/layout.js';
import { ULID_RE, type ClientId, type VaultId } from '../events/ids.js';
import { envelopeSchema } from '../events/schema.js';
import { importPublicKeyHex, signBody, verifyBody, type KeyPair } from '../events/signing.js';
import type { ObjectStore } from '../events/store/object-store.js';
import { computeFingerprint } from '../crypto/fingerprint.js';
import type { MemberGenesis } from './member-schema.js';

/**
 * The vault's root of trust (ADR-0021): a signed, create-only object naming the first admin,
 * its key and name. A vault without one is *open* (format 1 behaviour: every published key's
 * events count); with one, only members' events count. It is written by `bm-log members init`
 * (any vault, new or existing: the first one written wins), at `keys/root`, where the `keys/`
 * listing every sync makes finds it without another request (it is not a client id, so the
 * fetch reads no log for it).
 *
 * The body is the shape ADR-0019 §3 gives the format-2 vault marker, signed by the root's own
 * key (a self-signature: it binds the vault id, the root client and its key together; what
 * makes the key trustworthy is the joiner's pinned fingerprint, `init --join TOKEN`, or first
 * use).
 */
export const VAULT_ROOT_KEY = 'keys/root';

const ulid = z.string().regex(ULID_RE);
export const vaultRootBodySchema = z
  .object({
    v: z.literal(2),
    vault: ulid.transform((s) => s as VaultId),
    time: z.string().datetime(),
    root: z
      .object({
        client: ulid.transform((s) => s as ClientId),
        publicKey: z.string().regex(/^[0-9a-f]{64}$/),
        name: z.string().min(1).max(128),
      })
      .strict(),
    format: z.literal(2),
    encryption: z.null(),
  })
  .strict();
export type VaultRootBody = z.infer<typeof vaultRootBodySchema>;

function signContext(body: { vault: string; root: { client: string } }) {
  return { domain: 'vault-root' as const, vault: body.vault, client: body.root.client, seq: 0, prev: null };
}

/** Signs and encodes a root object with the root client's own key. */
export function encodeVaultRoot(body: VaultRootBody, keys: KeyPair): Uint8Array {
  if (body.root.publicKey !== keys.publicKeyHex) throw new BmError(ErrorCode.internal, 'a vault root is signed by the key it names');
  const bodyBytes = encodeMsgpack(body);
  return encodeMsgpack({ v: 2, body: bodyBytes, sig: signBody(signContext(body), bodyBytes, keys.privateKey) });
}

const ROOT_HINT = 'members are not enforced from this object; run `bm-log verify`, and ask the vault admin';

/** Decodes and verifies a root object for `vault`; throws malformed, bad-signature or wrong-vault. */
export function decodeVaultRoot(bytes: Uint8Array, vault: string): VaultRootBody {
  const what = 'the vault root (keys/root)';
  const env = envelopeSchema.safeParse(decodeMsgpack(bytes, what));
  if (!env.success || env.data.v !== 2) throw new BmError(ErrorCode.malformed, `${what} is not a signed format-2 object`, ROOT_HINT);
  const body = vaultRootBodySchema.safeParse(decodeMsgpack(env.data.body, what));
  if (!body.success) throw new BmError(ErrorCode.malformed, `${what} is malformed`, ROOT_HINT);
  if (!verifyBody(signContext(body.data), env.data.body, env.data.sig, importPublicKeyHex(body.data.root.publicKey)))
    throw new BmError(ErrorCode.badSignature, `${what} is not signed by the key it names`, ROOT_HINT);
  if (body.data.vault !== vault) throw new BmError(ErrorCode.wrongVault, `${what} belongs to vault ${body.data.vault}`, ROOT_HINT);
  return body.data;
}

/** The member fold's starting point: the root as the vault's first admin. */
export function computeGenesis(root: VaultRootBody): MemberGenesis {
  return { root: root.root.client, name: root.root.name, fingerprint: computeFingerprint(root.root.publicKey) };
}

/** True when `bytes` (the `vault` object) is a format-2 marker, i.e. names the vault's root itself. */
function isRootMarker(bytes: Uint8Array): boolean {
  const raw = decodeMsgpack(bytes, 'vault marker') as { v?: unknown } | null;
  return raw !== null && typeof raw === 'object' && raw.v === 2;
}

/**
 * Reads the remote's root: the format-2 `vault` marker when the vault has one (a vault made a
 * members vault by `init --create`; a `keys/root` there is ignored, nobody may replace its root),
 * else `keys/root` (an older vault made one by `members init`). Undefined when the vault is open.
 */
export async function readVaultRoot(store: ObjectStore, vault: string): Promise<{ body: VaultRootBody; bytes: Uint8Array } | undefined> {
  const marker = await store.get(VAULT_KEY);
  if (marker !== undefined && isRootMarker(marker)) return { body: decodeVaultRoot(marker, vault), bytes: marker };
  const bytes = await store.get(VAULT_ROOT_KEY);
  return bytes === undefined ? undefined : { body: decodeVaultRoot(bytes, vault), bytes };
}

/** Pure: the root body naming this client (`identity`) as the first admin of `vault`. */
export function computeVaultRootBody(
  vault: VaultId,
  identity: { client: ClientId; name: string; keys: KeyPair },
  time: Date,
): VaultRootBody {
  return {
    v: 2,
    vault,
    time: time.toISOString(),
    root: { client: identity.client, publicKey: identity.keys.publicKeyHex, name: identity.name },
    format: 2,
    encryption: null,
  };
}

/**
 * `init --create` (ADR-0032): writes the format-2 vault marker, which is the signed root naming
 * this client as the first admin, create-only. A vault is thus a members vault from its first
 * object: no window where it is open. Returns the vault that stands: `body.vault`, or the one
 * another creator wrote first (this client then joins it, pending like any joiner).
 */
export async function writeRootVaultMarker(store: ObjectStore, body: VaultRootBody, keys: KeyPair): Promise<VaultId> {
  try {
    await store.putIfAbsent(VAULT_KEY, encodeVaultRoot(body, keys));
    return body.vault;
  } catch (e) {
    if (!isBmError(e, ErrorCode.objectExists)) throw e;
    const there = await store.get(VAULT_KEY);
    if (there === undefined) throw e;
    return decodeVault(there).vault;
  }
}

/**
 * Writes `body` as the vault's root, create-only. Returns the root that stands: this one, or
 * the one another client wrote first.
 */
export async function writeVaultRoot(store: ObjectStore, body: VaultRootBody, keys: KeyPair): Promise<VaultRootBody> {
  try {
    await store.putIfAbsent(VAULT_ROOT_KEY, encodeVaultRoot(body, keys));
    return body;
  } catch (e) {
    if (!isBmError(e, ErrorCode.objectExists)) throw e;
    const there = await readVaultRoot(store, body.vault);
    if (there === undefined) throw e;
    return there.body;
  }
}
