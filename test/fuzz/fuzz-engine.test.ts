import { describe, expect, it } from 'vitest';
import { decodeMsgpack, encodeMsgpack } from '../../src/events/codec.js';
import { FuzzViolation, runFuzzLoop, type FuzzTarget } from './fuzz-engine.js';

describe('fuzz loop', () => {
  it('reports an input that breaks the property, with the input, and stops at its deadline', () => {
    // Broken by a value two mutations away from the seed: the loop has to search for it.
    const target: FuzzTarget = {
      name: 'toy',
      seeds: [encodeMsgpack({ a: 0, b: 'x' })],
      run(input) {
        let v: unknown;
        try {
          v = decodeMsgpack(input, 'toy');
        } catch {
          return;
        }
        const o = v as { a?: unknown; b?: unknown } | null;
        if (o !== null && typeof o === 'object' && typeof o.a === 'number' && o.a < 0 && o.b === 'x')
          throw new FuzzViolation(`negative a: ${String(o.a)}`);
      },
    };
    const started = Date.now();
    const stats = runFuzzLoop(target, { seed: 42, deadline: started + 20_000, maxFindings: 1 });
    expect(stats.findings).toHaveLength(1);
    expect(stats.findings[0]!.message).toMatch(/FuzzViolation: negative a/);
    expect(() => target.run(stats.findings[0]!.input)).toThrow(FuzzViolation);
    expect(stats.execs).toBeGreaterThan(1);

    const quiet = runFuzzLoop({ ...target, run: () => undefined }, { seed: 1, deadline: Date.now() + 300 });
    expect(quiet.findings).toEqual([]);
    expect(quiet.execs).toBeGreaterThan(64);
  });
});
