/**
 * Why `bytes` cannot be one msgpack value, or undefined. Pure; one pass, bounded by the byte
 * count. Checked before msgpackr decodes anything: msgpackr loops over a container's declared
 * length before it notices the bytes ran out, so a few hostile bytes declaring a map of 2^32
 * entries would stall a reader for minutes (found by the decoder fuzzer, ADR-0017). Here each
 * declared element must have at least one byte left, and each string, binary or extension its
 * whole length. Trailing bytes after the value are left to the decoder.
 */
export function computeMsgpackShapeProblem(bytes: Uint8Array): string | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.length;
  let pos = 0;
  let need = 1; // values still to read
  while (need > 0) {
    if (pos >= end) return 'ends before its last value';
    const t = bytes[pos]!;
    need--;
    const head = headerOf(t, view, pos, end);
    if (head === undefined) return `byte 0x${t.toString(16)} at ${pos} starts no value (or its header is cut)`;
    pos += head.size;
    if (head.skip > end - pos) return `a value at ${pos - head.size} declares ${head.skip} bytes, more than remain`;
    pos += head.skip;
    if (head.items > end - pos) return `a container at ${pos - head.size} declares ${head.items} values, more than its bytes can hold`;
    need += head.items;
    if (need > end - pos) return 'declares more values than its bytes can hold';
  }
  return undefined;
}

/** A value's header: its own size, the payload bytes to skip, and the values it contains. */
interface Header {
  readonly size: number;
  readonly skip: number;
  readonly items: number;
}

function headerOf(t: number, view: DataView, pos: number, end: number): Header | undefined {
  const fixed = (size: number, skip = 0, items = 0): Header | undefined => (pos + size <= end ? { size, skip, items } : undefined);
  const len = (size: number, bytes: 1 | 2 | 4, per: 'skip' | 'items' | 'pairs', extra = 0): Header | undefined => {
    if (pos + size > end) return undefined;
    const n = bytes === 1 ? view.getUint8(pos + 1) : bytes === 2 ? view.getUint16(pos + 1) : view.getUint32(pos + 1);
    return per === 'skip' ? { size, skip: n + extra, items: 0 } : { size, skip: 0, items: per === 'pairs' ? 2 * n : n };
  };
  if (t <= 0x7f || t >= 0xe0 || t === 0xc0 || t === 0xc2 || t === 0xc3) return fixed(1);
  if (t >= 0x80 && t <= 0x8f) return fixed(1, 0, 2 * (t & 0x0f));
  if (t >= 0x90 && t <= 0x9f) return fixed(1, 0, t & 0x0f);
  if (t >= 0xa0 && t <= 0xbf) return fixed(1, t & 0x1f);
  switch (t) {
    case 0xc4:
    case 0xd9:
      return len(2, 1, 'skip');
    case 0xc5:
    case 0xda:
      return len(3, 2, 'skip');
    case 0xc6:
    case 0xdb:
      return len(5, 4, 'skip');
    case 0xc7:
      return len(3, 1, 'skip'); // ext 8: length, type
    case 0xc8:
      return len(4, 2, 'skip');
    case 0xc9:
      return len(6, 4, 'skip');
    case 0xca:
      return fixed(5);
    case 0xcb:
      return fixed(9);
    case 0xcc:
    case 0xd0:
      return fixed(2);
    case 0xcd:
    case 0xd1:
      return fixed(3);
    case 0xce:
    case 0xd2:
      return fixed(5);
    case 0xcf:
    case 0xd3:
      return fixed(9);
    case 0xd4:
      return fixed(2, 1);
    case 0xd5:
      return fixed(2, 2);
    case 0xd6:
      return fixed(2, 4);
    case 0xd7:
      return fixed(2, 8);
    case 0xd8:
      return fixed(2, 16);
    case 0xdc:
      return len(3, 2, 'items');
    case 0xdd:
      return len(5, 4, 'items');
    case 0xde:
      return len(3, 2, 'pairs');
    case 0xdf:
      return len(5, 4, 'pairs');
    default:
      return undefined; // 0xc1: never used
  }
}
