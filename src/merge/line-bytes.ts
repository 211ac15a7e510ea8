/**
 * The lines of UTF-8 texts as byte ranges, numbered without decoding them (ADR-0020; the speed
 * is in docs/performance.md). Equal lines get equal ids from one hash table over the base and
 * the heads. Comparing bytes is comparing text: valid UTF-8 decodes one way only, and an LF
 * byte never occurs inside a multi-byte character, so cutting at LF bytes cuts the text at LF.
 */

import type { LineRuns } from './line-merge.js';

const LF = 10;

/** A text's lines as ranges [starts[i], ends[i]) of `bytes` without their LF, and whether the last line had one. */
export interface ByteLines {
  readonly bytes: Uint8Array;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  readonly finalNewline: boolean;
}

/** Pure: `text` cut at LF. The empty text has no lines; "x\n" is one line with a final newline. */
export function computeByteLines(text: Uint8Array): ByteLines {
  if (text.length === 0) return { bytes: text, starts: new Int32Array(0), ends: new Int32Array(0), finalNewline: false };
  const finalNewline = text[text.length - 1] === LF;
  const end = finalNewline ? text.length - 1 : text.length;
  let starts: Int32Array = new Int32Array(64 + (end >> 4)); // grown by doubling when lines average under 16 bytes
  let k = 0;
  // indexOf (native) rather than a loop over every byte: far faster before the JIT has warmed up.
  for (let i = text.indexOf(LF); i >= 0 && i < end; i = text.indexOf(LF, i + 1)) {
    if (k + 1 >= starts.length) starts = grow(starts);
    starts[++k] = i + 1;
  }
  const ends = new Int32Array(k + 1);
  for (let j = 0; j < k; j++) ends[j] = (starts[j + 1] as number) - 1;
  ends[k] = end;
  return { bytes: text, starts: starts.subarray(0, k + 1), ends, finalNewline };
}

function grow(xs: Int32Array): Int32Array {
  const bigger = new Int32Array(xs.length * 2);
  bigger.set(xs);
  return bigger;
}

/** Line ids of three texts (equal ids: equal lines), each below `count`. */
export interface ByteLineIds {
  readonly o: Int32Array;
  readonly a: Int32Array;
  readonly b: Int32Array;
  readonly count: number;
}

/**
 * Pure: ids for the lines of a base and two heads. A head's line is first compared with the
 * base line it most likely is (the one after the base line its previous line matched), which
 * spares hashing nearly every line of a lightly edited note.
 */
export function computeByteLineIds(o: ByteLines, a: ByteLines, b: ByteLines): ByteLineIds {
  const table = new LineTable(o.starts.length + a.starts.length + b.starts.length, [o, a, b]);
  const ids = new Int32Array(o.starts.length);
  for (let i = 0; i < ids.length; i++) ids[i] = table.intern(0, o.starts[i] as number, o.ends[i] as number);
  const lastInBase = new Int32Array(table.count).fill(-1);
  for (let i = 0; i < ids.length; i++) lastInBase[ids[i] as number] = i;
  const headIds = (side: 1 | 2, x: ByteLines): Int32Array => {
    const out = new Int32Array(x.starts.length);
    let next = 0; // the base line expected next
    for (let i = 0; i < out.length; i++) {
      const [s, e] = [x.starts[i] as number, x.ends[i] as number];
      if (next < ids.length && sameBytes(x.bytes, s, e, o.bytes, o.starts[next] as number, o.ends[next] as number)) {
        out[i] = ids[next++] as number;
        continue;
      }
      const id = table.intern(side, s, e);
      out[i] = id;
      if (id < lastInBase.length) next = (lastInBase[id] as number) + 1;
    }
    return out;
  };
  const [ia, ib] = [headIds(1, a), headIds(2, b)];
  return { o: ids, a: ia, b: ib, count: table.count };
}

/** Open addressing over FNV-1a hashes of line bytes; ids are dense from 0. */
class LineTable {
  count = 0;
  // per id: the text (0 base, 1 a, 2 b) and the byte range where its line is, and its hash
  private readonly side: Uint8Array;
  private readonly start: Int32Array;
  private readonly end: Int32Array;
  private readonly hash: Int32Array;
  private readonly slots: Int32Array; // id + 1, 0 empty
  private readonly mask: number;

  constructor(
    most: number,
    private readonly sides: readonly ByteLines[],
  ) {
    [this.side, this.start, this.end, this.hash] = [new Uint8Array(most), new Int32Array(most), new Int32Array(most), new Int32Array(most)];
    let size = 16;
    while (size < most * 2) size *= 2;
    this.slots = new Int32Array(size);
    this.mask = size - 1;
  }

  /** The id of the line at [s, e) of text `side`, a new one when no equal line has one yet. */
  intern(side: number, s: number, e: number): number {
    const bytes = (this.sides[side] as ByteLines).bytes;
    let h = 0x811c9dc5 | 0;
    for (let i = s; i < e; i++) h = Math.imul(h ^ (bytes[i] as number), 0x01000193);
    for (let slot = h & this.mask; ; slot = (slot + 1) & this.mask) {
      const held = this.slots[slot] as number;
      if (held === 0) break;
      const id = held - 1;
      const other = (this.sides[this.side[id] as number] as ByteLines).bytes;
      if (this.hash[id] === h && sameBytes(bytes, s, e, other, this.start[id] as number, this.end[id] as number)) return id;
    }
    const id = this.count++;
    this.side[id] = side;
    this.start[id] = s;
    this.end[id] = e;
    this.hash[id] = h;
    for (let slot = h & this.mask; ; slot = (slot + 1) & this.mask) {
      if (this.slots[slot] === 0) {
        this.slots[slot] = id + 1;
        return id;
      }
    }
  }
}

function sameBytes(x: Uint8Array, xs: number, xe: number, y: Uint8Array, ys: number, ye: number): boolean {
  if (xe - xs !== ye - ys) return false;
  for (let i = 0; i < xe - xs; i++) if (x[xs + i] !== y[ys + i]) return false;
  return true;
}

/** Pure: the text of merged line runs over texts base, a, b (cut as `lines`), joined by LF, plus a final LF when `finalNewline`. */
export function renderByteLines(runs: LineRuns, lines: readonly ByteLines[], finalNewline: boolean): Uint8Array {
  const t = runs.triples;
  if (t.length === 0) return finalNewline ? Uint8Array.of(LF) : new Uint8Array(0);
  const range = (k: number): [Uint8Array, number, number] => {
    const side = lines[t[k] as number] as ByteLines;
    return [side.bytes, side.starts[t[k + 1] as number] as number, side.ends[(t[k + 2] as number) - 1] as number];
  };
  let size = t.length / 3 - 1 + (finalNewline ? 1 : 0);
  for (let k = 0; k < t.length; k += 3) {
    const [, s, e] = range(k);
    size += e - s;
  }
  const out = new Uint8Array(size);
  let p = 0;
  for (let k = 0; k < t.length; k += 3) {
    if (k > 0) out[p++] = LF;
    const [bytes, s, e] = range(k);
    out.set(bytes.subarray(s, e), p);
    p += e - s;
  }
  if (finalNewline) out[p] = LF;
  return out;
}
