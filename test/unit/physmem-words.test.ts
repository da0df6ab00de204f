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
  it('reads and writes a word as two 32-bit halves exactly as the bigint path does, through the view cache and across copy-on-write clones (property)', () => {
    const word = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 40 * 512 - 1 }), word, fc.boolean(), fc.boolean()), { minLength: 1, maxLength: 60 }), (writes) => {
        const mem = new PhysicalMemory(RAM);
        // 40 frames: more than the view cache holds, so slots are evicted and refilled; the base is above 2^32.
        const base = 0x1_2345_0000;
        const model = new Map<number, bigint>();
        let clone: PhysicalMemory | null = null;
        for (const [w, value, asHalves, cloneNow] of writes) {
          const addr = base + w * 8;
          if (asHalves) mem.writeU64HalvesN(addr, Number(value & 0xffff_ffffn), Number(value >> 32n));
          else mem.writeU64N(addr, value);
          model.set(w, value);
          // A clone made mid-way keeps what was written before it, whatever the original writes after.
          if (cloneNow && clone === null) clone = mem[CLONE]();
          const lo = mem.readU64LoN(addr);
          assert.equal((BigInt(mem.lastHigh) << 32n) | BigInt(lo), value);
        }
        for (const [w, value] of model) {
          const addr = base + w * 8;
          const lo = mem.readU64LoN(addr);
          assert.equal((BigInt(mem.lastHigh) << 32n) | BigInt(lo), value);
          assert.equal(mem.readU64(BigInt(addr)), value);
        }
        if (clone) {
          const at = writes.findIndex(([, , , c]) => c);
          const before = new Map(writes.slice(0, at + 1).map(([w, v]) => [w, v]));
          for (const [w] of model) {
            const lo = clone.readU64LoN(base + w * 8);
            assert.equal((BigInt(clone.lastHigh) << 32n) | BigInt(lo), before.get(w) ?? 0n);
          }
        }
        assert.equal(mem.readU64LoN(base + 41 * 4096), 0); // never written: zero
        assert.equal(mem.lastHigh, 0);
      }),
      { numRuns: 200 },
    );
  });
});
