import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BmError, ErrorCode } from '../../src/errors.js';
import { decodeCheckpoint, decodeMsgpack, encodeMsgpack } from '../../src/events/codec.js';
import { computeMsgpackShapeProblem } from '../../src/events/msgpack-shape.js';

/**
 * Found by the decoder fuzzer (test/fuzz/regressions/checkpoint-object/425e10578a9fab2c.bin):
 * msgpackr loops over a container's declared length before it notices the bytes ran out, so
 * 38 bytes declaring nested maps of thousands of entries cost 0.4 s of CPU to refuse (1.5 s on
 * a busy machine, 7.5 s under the fuzzer's instrumentation): a cheap way for any writer to the
 * bucket to slow every reader. The shape is now checked first, in one pass bounded by the
 * byte count, and such bytes never reach msgpackr.
 */
describe('msgpack shape check (fuzzer finding: declared lengths beyond the bytes)', () => {
  /** Refused as malformed by the shape check, before msgpackr runs (its own errors say other things). */
  const expectMalformed = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(BmError);
      expect((e as BmError).code).toBe(ErrorCode.malformed);
      expect((e as BmError).message).toMatch(/more than (remain|its bytes can hold)|ends before/);
      return;
    }
    expect.fail('no BmError');
  };

  it("refuses the fuzzer's 38-byte checkpoint and a 5-byte object declaring 2^32-1 entries before decoding them", () => {
    expectMalformed(() => decodeMsgpack(Buffer.from('dfffffffff', 'hex'), 'probe'));
    expectMalformed(() => decodeMsgpack(Buffer.from('ddffffffff', 'hex'), 'probe'));
    const found = readFileSync(new URL('../fuzz/regressions/checkpoint-object/425e10578a9fab2c.bin', import.meta.url));
    expect(found.length).toBe(38);
    expectMalformed(() => decodeMsgpack(found, 'probe'));
  }, 3_000); // a hang guard, not a speed measure: 5 to 7.5 s before the fix, a pass over 38 bytes after it

  it('accepts every encoding of a value, and says what is wrong with a cut one', () => {
    // msgpackr decodes a `__proto__` key as `__proto_` (its guard against prototype pollution),
    // so such values do not round-trip by design; schema checks reject the renamed key anyway.
    const value = fc.jsonValue().filter((v) => !JSON.stringify(v).includes('"__proto__"'));
    fc.assert(
      fc.property(value, (v) => {
        const bytes = encodeMsgpack(v);
        expect(computeMsgpackShapeProblem(bytes)).toBeUndefined();
        for (let cut = 0; cut < bytes.length; cut++) expect(computeMsgpackShapeProblem(bytes.subarray(0, cut))).toBeTypeOf('string');
        expect(decodeMsgpack(bytes, 'probe')).toEqual(v);
      }),
    );
  });

  it('never throws on arbitrary bytes (a problem or undefined), and whatever it passes decodes or throws a BmError quickly', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const problem = computeMsgpackShapeProblem(bytes);
        if (problem === undefined) {
          try {
            decodeMsgpack(bytes, 'probe');
          } catch (e) {
            expect(e).toBeInstanceOf(BmError);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('a checkpoint object made of such lengths is malformed, not a stall', () => {
    const key = { vault: '01HV0000000000000000000000', client: '01HC0000000000000000000000', seq: 3 };
    expect(() => decodeCheckpoint(Buffer.from('dfffffffff', 'hex'), { ...key, publicKey: undefined as never })).toThrow(BmError);
  });
});
