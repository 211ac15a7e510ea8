import type { Chunks } from '../../../src/events/store/lent-chunks.js';
import type { Body, ListPage, ObjectStore } from '../../../src/events/store/object-store.js';

export type StoreOp = 'get' | 'getChunks' | 'head' | 'put' | 'list' | 'delete';

/** A store that awaits `before(op, key)` ahead of every call (and `after` a HEAD or a create-only write): a test can pause a run there, or act. */
export class HookStore implements ObjectStore {
  readonly description = 'memory (hooked)';

  constructor(
    private readonly inner: ObjectStore,
    private readonly before: (op: StoreOp, key: string) => Promise<void> | void,
    private readonly after: (op: StoreOp, key: string) => Promise<void> | void = () => undefined,
  ) {}

  async get(key: string): Promise<Uint8Array | undefined> {
    await this.before('get', key);
    return this.inner.get(key);
  }

  async getChunks(key: string, size?: number): Promise<Chunks | undefined> {
    await this.before('getChunks', key);
    return this.inner.getChunks(key, size);
  }

  async head(key: string): Promise<{ size: number } | undefined> {
    await this.before('head', key);
    const r = await this.inner.head(key);
    await this.after('head', key);
    return r;
  }

  async putIfAbsent(key: string, body: Body): Promise<'created' | 'identical'> {
    await this.before('put', key);
    const r = await this.inner.putIfAbsent(key, body);
    await this.after('put', key);
    return r;
  }

  async list(prefix: string, options: { startAfter?: string; limit?: number } = {}): Promise<ListPage> {
    await this.before('list', prefix);
    return this.inner.list(prefix, options);
  }

  async delete(key: string): Promise<void> {
    await this.before('delete', key);
    return this.inner.delete(key);
  }

  async close(): Promise<void> {}
}

/** A promise with its resolver outside. */
export function createLatch(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}
