import { isBmError, ErrorCode } from '../errors.js';
import { collectChunks, type Chunks } from '../events/store/lent-chunks.js';
import {
  bytesEqual,
  isStreamBody,
  listAll,
  mustListPrefix,
  objectExistsError,
  type Body,
  type ListPage,
  type ListedObject,
  type ObjectStore,
} from '../events/store/object-store.js';
import type { Keyring, RandomSource } from './keyring.js';
import { systemRandom } from './keyring.js';
import { computeObjectName, isKeyedPrefix, isPlainKey, openObject, sealObject, SEALED_OVERHEAD } from './sealed-object.js';

/**
 * The store adapter of an encrypted vault (ADR-0031): every object the engine writes is sealed
 * on its way to the bucket and opened on its way back, and blob and pack names are keyed, so
 * the engine (codec, signatures, planner, GC) sees the plaintext objects and plaintext keys it
 * always did, and the bucket sees neither. Signatures are made over the plaintext segment and
 * verified after opening, as in an open vault.
 *
 * Contract differences from the port, each a consequence of sealing:
 * - A create-only write that finds its key taken opens what is there and compares plaintexts
 *   ('identical' or object-exists): a sealed object's bytes differ each time (random nonce).
 * - A listing of a keyed prefix (`blobs/`, `packs/`) returns only the objects whose plaintext
 *   key this store has named (by a read, write, head or delete in this process, or
 *   `learnKeys`); a keyed name cannot be read back. It is one page.
 * - Sizes (head, list) are plaintext sizes; a body is buffered whole to seal or open it.
 * - Opening faults are the keyring's typed errors: `tampered`, `wrong-key`, `unknown-epoch`.
 */
/** How many opened packs a sealed store keeps for ranged reads (a pack is at most a few MiB). */
const OPENED_KEPT = 4;

export class SealedStore implements ObjectStore {
  readonly description: string;
  /** Plaintext keys by bucket key, for listings of keyed prefixes. */
  readonly #named = new Map<string, string>();
  /** Recently opened objects read by range (packs), in use order: concurrent ranges of one pack open it once. */
  readonly #opened = new Map<string, Promise<Uint8Array | undefined>>();

  constructor(
    readonly inner: ObjectStore,
    public keyring: Keyring,
    private readonly random: RandomSource = systemRandom,
  ) {
    this.description = `${inner.description} (encrypted)`;
  }

  /** The bucket key of `key`, remembered for listings. */
  #name(key: string): string {
    if (isPlainKey(key)) return key;
    const name = computeObjectName(this.keyring, key);
    if (name !== key) this.#named.set(name, key);
    return name;
  }

  /** Names `keys` (plaintext) so that a listing of a keyed prefix returns those present. */
  learnKeys(keys: Iterable<string>): void {
    for (const k of keys) this.#name(k);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    if (isPlainKey(key)) return this.inner.get(key);
    const sealed = await this.inner.get(this.#name(key));
    return sealed === undefined ? undefined : openObject(this.keyring, key, sealed);
  }

  async getChunks(key: string, size?: number): Promise<Chunks | undefined> {
    if (isPlainKey(key)) return this.inner.getChunks(key, size);
    const bytes = await this.get(key);
    if (bytes === undefined) return undefined;
    return (async function* () {
      yield bytes;
    })();
  }

  async head(key: string): Promise<{ size: number } | undefined> {
    const h = await this.inner.head(this.#name(key));
    return h === undefined || isPlainKey(key) ? h : { size: Math.max(0, h.size - SEALED_OVERHEAD) };
  }

  /** A ranged read of a sealed object opens it whole (a GCM tag covers the object); the few last opened are kept. */
  async getRange(key: string, offset: number, length: number): Promise<Uint8Array | undefined> {
    let opening = this.#opened.get(key);
    if (opening === undefined) {
      opening = this.get(key);
      opening.catch(() => this.#opened.delete(key));
      if (this.#opened.size >= OPENED_KEPT) this.#opened.delete(this.#opened.keys().next().value!);
    } else this.#opened.delete(key);
    this.#opened.set(key, opening);
    const all = await opening;
    return all?.subarray(Math.min(offset, all.length), Math.min(offset + length, all.length));
  }

  async putIfAbsent(key: string, body: Body): Promise<'created' | 'identical'> {
    if (isPlainKey(key)) return this.inner.putIfAbsent(key, body);
    const plaintext = isStreamBody(body) ? await collectChunks(body.open()) : body;
    const name = this.#name(key);
    try {
      return await this.inner.putIfAbsent(name, sealObject(this.keyring, key, plaintext, this.random));
    } catch (e) {
      if (!isBmError(e, ErrorCode.objectExists)) throw e;
      const there = await this.inner.get(name);
      if (there !== undefined && bytesEqual(openObject(this.keyring, key, there), plaintext)) return 'identical';
      throw objectExistsError(key);
    }
  }

  async list(prefix: string, options: { startAfter?: string; limit?: number } = {}): Promise<ListPage> {
    mustListPrefix(prefix);
    if (!isKeyedPrefix(prefix)) {
      const page = await this.inner.list(prefix, options);
      return { ...page, objects: page.objects.map((o) => this.#plainListed(o, o.key)) };
    }
    const objects: ListedObject[] = [];
    for (const o of await listAll(this.inner, prefix)) {
      const key = this.#named.get(o.key);
      if (key?.startsWith(prefix) && (options.startAfter === undefined || key > options.startAfter))
        objects.push(this.#plainListed(o, key));
    }
    objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return { objects, truncated: false };
  }

  #plainListed(o: ListedObject, key: string): ListedObject {
    return isPlainKey(key) ? o : { ...o, key, size: Math.max(0, o.size - SEALED_OVERHEAD) };
  }

  async delete(key: string): Promise<void> {
    this.#opened.delete(key);
    await this.inner.delete(this.#name(key));
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
