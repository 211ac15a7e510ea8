import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

const SPILL_PREFIX = 'json-list-';
/** Items are written in batches of about this many bytes. */
const FLUSH_BYTES = 1 << 18;
const READ_BYTES = 1 << 20;

/**
 * The items of one long list of a `--json` document, kept on disk until the document is
 * printed. A first sync's `applied` lists one op per file: at 100,000 files, keeping them
 * took the sync from ~140 MB to 208 MB (ADR-0013).
 *
 * Items are written as lines of compact JSON to a temp file in the state folder, which the
 * folder lock keeps to one bm-log at a time: any spill found there at `open` was left by a
 * process that died, and is removed. If the file cannot be created or written (a full disk),
 * the items not yet on disk are kept in memory instead: the report may cost memory, never
 * the sync.
 */
export class SpilledList {
  /** A string that stands for the list in the document until it is printed. */
  readonly marker = `\u0000bm-log-list-${randomBytes(6).toString('hex')}`;
  private fd: number | undefined;
  /** Bytes of whole lines on disk. */
  private flushed = 0;
  private pending: string[] = [];
  private pendingBytes = 0;
  /** Items kept in memory once the file failed (after those on disk). */
  private memory: string[] | undefined;
  count = 0;

  private constructor(private readonly file: string) {}

  static open(stateDir: string): SpilledList {
    try {
      for (const name of fs.readdirSync(stateDir)) if (name.startsWith(SPILL_PREFIX)) fs.rmSync(path.join(stateDir, name), { force: true });
    } catch {
      // Nothing to clean, or it cannot be read: the spill below will say.
    }
    const list = new SpilledList(path.join(stateDir, `${SPILL_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}.jsonl`));
    try {
      list.fd = fs.openSync(list.file, 'wx+', 0o600);
    } catch {
      list.memory = [];
    }
    return list;
  }

  add(item: unknown): void {
    const line = `${JSON.stringify(item)}\n`;
    this.count++;
    if (this.memory !== undefined) {
      this.memory.push(line);
      return;
    }
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
  }

  /** Every item, in the order added. Reads the file back in 1 MiB pieces. */
  *items(): Generator<unknown> {
    this.flush();
    if (this.fd !== undefined && this.flushed > 0) {
      const buf = Buffer.allocUnsafe(READ_BYTES);
      // Bytes of a line not yet ended (decoded only once whole: never mid-character).
      let rest: Buffer = Buffer.alloc(0);
      for (let at = 0; at < this.flushed; ) {
        const n = fs.readSync(this.fd, buf, 0, Math.min(buf.length, this.flushed - at), at);
        if (n === 0) throw new Error(`the --json list file ${this.file} ended early`);
        at += n;
        const bytes = rest.length === 0 ? buf.subarray(0, n) : Buffer.concat([rest, buf.subarray(0, n)]);
        const end = bytes.lastIndexOf(0x0a);
        rest = Buffer.from(bytes.subarray(end + 1));
        if (end < 0) continue;
        for (const line of bytes.toString('utf8', 0, end).split('\n')) yield JSON.parse(line) as unknown;
      }
    }
    for (const line of this.memory ?? []) yield JSON.parse(line) as unknown;
  }

  /** Closes and removes the file. */
  close(): void {
    if (this.fd !== undefined) {
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
    fs.rmSync(this.file, { force: true });
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const lines = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    if (this.fd === undefined || this.memory !== undefined) {
      (this.memory ??= []).push(...lines);
      return;
    }
    const bytes = Buffer.from(lines.join(''));
    try {
      for (let at = 0; at < bytes.length; ) at += fs.writeSync(this.fd, bytes, at, bytes.length - at, this.flushed + at);
      this.flushed += bytes.length;
    } catch {
      // A full disk: these lines (and all later ones) stay in memory; a partly written
      // batch past `flushed` is never read.
      this.memory = lines;
    }
  }
}
