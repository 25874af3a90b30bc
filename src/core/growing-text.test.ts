import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GrowingText } from './growing-text.js';

describe('GrowingText', () => {
  it('holds exactly the concatenation of its appends, across flattening points and sets', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string({ unit: 'binary' }), fc.constant(null)), { maxLength: 300 }), fc.string(), (ops, start) => {
        const text = new GrowingText(start);
        let expected = start;
        for (const op of ops) {
          if (op === null) {
            expected = `reset:${expected.length}`;
            text.set(expected);
          } else {
            expected += op;
            text.append(op);
          }
          expect(text.length).toBe(expected.length);
        }
        expect(text.text).toBe(expected);
      }),
    );
  });
});
