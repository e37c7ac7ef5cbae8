/**
 * Philox4x32-10 against the known-answer vectors of Random123 (kat_vectors: philox4x32_10),
 * and the one-loop stream filler against the block function, so a faster rewrite of either
 * cannot change a seed's numbers.
 */
import { describe, expect, it } from 'vitest';
import { philox4x32, philoxFill } from '../src/random/philox.js';

const hex = (a: Uint32Array) => Array.from(a, (v) => v.toString(16).padStart(8, '0'));

describe('philox4x32', () => {
  it('matches the Random123 known-answer vectors', () => {
    const out = new Uint32Array(4);
    philox4x32(0, 0, 0, 0, 0, 0, out, 0);
    expect(hex(out)).toEqual(['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8']);
    philox4x32(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, out, 0);
    expect(hex(out)).toEqual(['408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd']);
    philox4x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, out, 0);
    expect(hex(out)).toEqual(['d16cfe09', '94fdcceb', '5001e420', '24126ea1']);
  });

  it('philoxFill gives the blocks philox4x32 gives, the last one cut to length', () => {
    for (const [n, first, k0, k1] of [
      [1, 0, 0, 0],
      [7, 5, 1, 2],
      [4096, 2 ** 32 - 3, 0x1badf00d, 0],
      [1023, 2 ** 40 + 17, 0xffffffff, 0xffffffff],
    ]) {
      const fast = new Uint32Array(n);
      philoxFill(fast, n, first, k0, k1);
      const slow = new Uint32Array(n);
      for (let b = 0; b < Math.ceil(n / 4); b++) {
        const c = first + b;
        philox4x32(c % 2 ** 32, Math.floor(c / 2 ** 32), 0, 0, k0, k1, slow, b * 4);
      }
      expect(hex(fast)).toEqual(hex(slow));
    }
  });
});
