// The buffer registry's find and roomAt (asked on every DMA map) answer from a sorted
// index; it must give what a scan of the list from the newest buffer gives,
// overlapping buffers, removals, repeated addresses and snapshot clones included.

import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { BufferRegistry, type DmaBuffer } from '../../src/engine/memory/buffers';
import { cloneState } from '../../src/engine/snapshot';

/** The list scan the index replaced: the newest buffer holding addr. */
function scan(buffers: readonly DmaBuffer[], addr: bigint): DmaBuffer | undefined {
  for (let i = buffers.length - 1; i >= 0; i--) {
    const b = buffers[i];
    if (addr >= b.phys && addr < b.phys + b.size) return b;
  }
  return undefined;
}

type Op =
  | { op: 'add'; phys: number; size: number }
  | { op: 'remove'; pick: number }
  | { op: 'find'; addr: number }
  | { op: 'clone' };

// Small address space so that buffers overlap, share starts and abut often.
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('add' as const), phys: fc.integer({ min: 0, max: 64 }), size: fc.integer({ min: 1, max: 24 }) }),
  fc.record({ op: fc.constant('remove' as const), pick: fc.nat(40) }),
  fc.record({ op: fc.constant('find' as const), addr: fc.integer({ min: 0, max: 96 }) }),
  fc.record({ op: fc.constant('find' as const), addr: fc.integer({ min: 0, max: 96 }) }),
  fc.constant({ op: 'clone' as const }),
);

describe('BufferRegistry.find', () => {
  it('answers as the scan from the newest buffer does, through adds, removals, repeats and clones', () => {
    fc.assert(fc.property(fc.array(opArb, { maxLength: 80 }), fc.bigInt({ min: 0n, max: 1n << 60n }), (ops, base) => {
      let reg = new BufferRegistry();
      for (const o of ops) {
        if (o.op === 'add') reg.add('phys_buffer', base + BigInt(o.phys), BigInt(o.size), BigInt(o.size), 1, `b${o.phys}`);
        else if (o.op === 'remove') {
          if (reg.buffers.length > 0) reg.remove(reg.buffers[o.pick % reg.buffers.length].phys);
        } else if (o.op === 'clone') reg = cloneState(reg);
        else {
          const addr = base + BigInt(o.addr);
          assert.equal(reg.find(addr), scan(reg.buffers, addr), `find(${addr - base})`);
          assert.equal(reg.find(addr), scan(reg.buffers, addr), `find(${addr - base}) again`);
          const b = scan(reg.buffers, addr);
          assert.equal(reg.roomAt(addr), b ? b.phys + b.size - addr : -1n, `roomAt(${addr - base})`);
        }
      }
      for (let a = 0n; a <= 96n; a++) {
        const b = scan(reg.buffers, base + a);
        assert.equal(reg.roomAt(base + a), b ? b.phys + b.size - base - a : -1n);
        assert.equal(reg.find(base + a), b);
      }
    }), { numRuns: 400 });
  });

  it('finds the newest of two overlapping buffers and the older one again after the newer is freed', () => {
    const reg = new BufferRegistry();
    const pages = reg.add('alloc_pages', 0x8000_0000n, 0x4000n, 0x4000n, 1, 'pages');
    assert.equal(reg.find(0x8000_1080n), pages);
    const inner = reg.add('phys_buffer', 0x8000_1000n, 0x100n, 0x100n, 2, 'inner');
    assert.equal(reg.find(0x8000_1080n)?.label, 'inner');
    assert.equal(reg.find(0x8000_1100n)?.label, 'pages');
    assert.equal(reg.find(0x8000_4000n), undefined);
    assert.equal(reg.find(0x8000_1080n)?.label, 'inner', 'asked again');
    reg.remove(inner.phys);
    assert.equal(reg.find(0x8000_1080n), pages);
  });
});
