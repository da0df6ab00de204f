// Descriptor loads and stores at addresses given as numbers (the page-table
// walkers' path) are the same memory as the bigint ones, copy-on-write
// clones included.

import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { PhysicalMemory } from '../../src/engine/memory/physmem';
import { CLONE } from '../../src/engine/snapshot';

const RAM = [{ start: 0x8000_0000n, end: 0x2_0000_0000n }];

describe('physical memory: 64-bit words at number addresses', () => {
  it('reads what the bigint path wrote and the other way round, and a clone keeps its own copy', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 4 * 4096 - 1 }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.boolean()), { minLength: 1, maxLength: 40 }), (writes) => {
        const mem = new PhysicalMemory(RAM);
        const base = 0x1_2345_0000;
        for (const [word, value, asNumber] of writes) {
          const addr = base + word * 8;
          if (asNumber) mem.writeU64N(addr, value);
          else mem.writeU64(BigInt(addr), value);
        }
        const clone = mem[CLONE]();
        clone.writeU64N(base + writes[0][0] * 8, 0x1234n);
        for (const [word] of writes) {
          const addr = base + word * 8;
          assert.equal(mem.readU64N(addr), mem.readU64(BigInt(addr)));
        }
        const last = new Map(writes.map(([w, v]) => [w, v]));
        assert.equal(mem.readU64N(base + writes[0][0] * 8), last.get(writes[0][0]));
        assert.equal(clone.readU64(BigInt(base + writes[0][0] * 8)), 0x1234n);
        assert.equal(mem.readU64N(base + 4 * 4096 * 8), 0n); // never written: zero, no frame made
      }),
      { numRuns: 200 },
    );
  });

  it('reads a word as a number exactly when it is below 2^53 (-1 above, 0 where nothing was written), clones included (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 2 * 512 - 1 }), fc.oneof(fc.bigInt({ min: 0n, max: (1n << 53n) - 1n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }))), { minLength: 1, maxLength: 40 }), (writes) => {
        const mem = new PhysicalMemory(RAM);
        const base = 0x1_2345_0000;
        for (const [word, value] of writes) mem.writeU64N(base + word * 8, value);
        const clone = mem[CLONE]();
        clone.writeU64N(base + writes[0][0] * 8, 0x8_1234_5003n);
        for (const [word] of writes) {
          const v = mem.readU64N(base + word * 8);
          assert.equal(mem.readU64NumN(base + word * 8), v < 1n << 53n ? Number(v) : -1);
        }
        assert.equal(clone.readU64NumN(base + writes[0][0] * 8), 0x8_1234_5003);
        assert.equal(mem.readU64NumN(base + 4 * 4096 * 8), 0);
      }),
      { numRuns: 200 },
    );
  });
});
