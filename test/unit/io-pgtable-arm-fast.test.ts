// The Arm LPAE walker's number paths (descriptors as 32-bit halves, the
// last-level table kept between walks while memory is unchanged) against its
// BigInt path on the same operations: every result, warning, table
// allocation and descriptor must be the same, whatever else writes the
// tables (a zeroed entry, a table pointer aimed at another table, one aimed
// back up the walk) and across snapshots.

import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { ArmLpaeIoPgtable } from '../../src/engine/io-pgtable/arm-lpae';
import { IOMMU_READ, IOMMU_WRITE, PgtableHooks, TableAllocator, TableMemory, TlbCallbacks } from '../../src/engine/io-pgtable/types';
import { PhysicalMemory } from '../../src/engine/memory/physmem';
import { cloneState } from '../../src/engine/snapshot';

const RAM = [{ start: 0n, end: 1n << 48n }];
const RW = IOMMU_READ | IOMMU_WRITE;

/** Physical memory without the halves access and write generation: the walker takes its BigInt path. */
class BigIntOnlyMemory implements TableMemory {
  constructor(readonly mem: PhysicalMemory) {}
  readU64(addr: bigint): bigint {
    return this.mem.readU64(addr);
  }
  writeU64(addr: bigint, value: bigint): void {
    this.mem.writeU64(addr, value);
  }
}

/** Table pages from a bump allocator (classes, not closures: snapshots clone them with the rest). */
class SideAlloc implements TableAllocator {
  constructor(readonly side: Side) {}
  allocTable(bytes: number): bigint {
    const side = this.side;
    const pa = side.next;
    side.next += 4096n;
    side.mem.fill(pa, 4096, 0);
    side.tables.push(pa);
    side.log.push(`alloc ${pa.toString(16)} ${bytes}`);
    return pa;
  }
  freeTable(pa: bigint, bytes: number): void {
    this.side.log.push(`free ${pa.toString(16)} ${bytes}`);
  }
}

class SideTlb implements TlbCallbacks {
  constructor(readonly side: Side) {}
  tlbFlushWalk(iova: bigint, size: bigint): void {
    this.side.log.push(`flush_walk ${iova.toString(16)} ${size}`);
  }
  tlbAddPage(iova: bigint, size: bigint): void {
    this.side.log.push(`add_page ${iova.toString(16)} ${size}`);
  }
}

class SideHooks implements PgtableHooks {
  readonly alloc: SideAlloc;
  readonly tlb: SideTlb;
  constructor(readonly side: Side, readonly mem: TableMemory) {
    this.alloc = new SideAlloc(side);
    this.tlb = new SideTlb(side);
  }
  warn(func: string, what: string): void {
    this.side.log.push(`warn ${func}: ${what}`);
  }
}

/** One page table with its memory, bump allocator and a log of what it did. */
class Side {
  readonly log: string[] = [];
  next = 0x4000_0000n;
  readonly tables: bigint[] = [];
  readonly pt: ArmLpaeIoPgtable;

  constructor(readonly mem: PhysicalMemory, fast: boolean) {
    this.pt = new ArmLpaeIoPgtable({ stage: 1, granule: 4096n, ias: 48, oas: 48, pageSize: 4096n }, new SideHooks(this, fast ? mem : new BigIntOnlyMemory(mem)));
  }
}

type Op =
  | { op: 'map'; page: number; block: boolean; phys: number; count: number }
  | { op: 'unmap'; page: number; block: boolean; count: number }
  | { op: 'lookup'; page: number; offset: number }
  | { op: 'poke'; table: number; index: number; what: 'zero' | 'table' | 'pgd'; target: number }
  | { op: 'snapshot' }
  | { op: 'restore' };

/** IOVAs in a few 2 MiB regions around the first 1 GiB boundary, so walks share and miss tables. */
const page = fc.integer({ min: 0x3_ff00, max: 0x3_ff00 + 4 * 512 - 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('map' as const), page, block: fc.boolean(), phys: fc.integer({ min: 0, max: 1 << 20 }), count: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('unmap' as const), page, block: fc.boolean(), count: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('lookup' as const), page, offset: fc.integer({ min: 0, max: 4095 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('poke' as const), table: fc.nat(), index: fc.integer({ min: 0, max: 511 }), what: fc.constantFrom('zero' as const, 'table' as const, 'pgd' as const), target: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ op: 'snapshot' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'restore' as const }) },
);

function apply(side: Side, op: Op): string {
  const pt = side.pt;
  switch (op.op) {
    case 'map': {
      const size = op.block ? 2n << 20n : 4096n;
      const iova = op.block ? (BigInt(op.page) >> 9n) << 21n : BigInt(op.page) << 12n;
      const r = pt.mapPages(iova, BigInt(op.phys) * size, size, op.count, RW);
      return `map ${r.ret} ${r.mapped}`;
    }
    case 'unmap': {
      const size = op.block ? 2n << 20n : 4096n;
      const iova = op.block ? (BigInt(op.page) >> 9n) << 21n : BigInt(op.page) << 12n;
      return `unmap ${pt.unmapPages(iova, size, op.count)}`;
    }
    case 'lookup':
      return `lookup ${pt.iovaToPhys((BigInt(op.page) << 12n) + BigInt(op.offset))}`;
    case 'poke': {
      // Another writer of table memory: the walker must see it on its next walk.
      const table = side.tables[op.table % side.tables.length];
      const target = op.what === 'pgd' ? pt.root : side.tables[op.target % side.tables.length];
      side.mem.writeU64(table + BigInt(op.index) * 8n, op.what === 'zero' ? 0n : target | 3n);
      return 'poke';
    }
    default:
      return op.op;
  }
}

/** Everything both sides wrote: every table's descriptors. */
function tableWords(side: Side): bigint[] {
  const out: bigint[] = [];
  for (const t of side.tables) for (let i = 0n; i < 512n; i++) out.push(side.mem.readU64(t + i * 8n));
  return out;
}

describe('io-pgtable-arm: the number walker against the BigInt walker', () => {
  it('maps, unmaps and looks up exactly alike, with other writers poking the tables and snapshots restored (property)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), (ops) => {
        let fast = new Side(new PhysicalMemory(RAM), true);
        let slow = new Side(new PhysicalMemory(RAM), false);
        let saved: { fast: Side; slow: Side } | null = null;
        for (const op of ops) {
          if (op.op === 'snapshot') saved = { fast: cloneState(fast), slow: cloneState(slow) };
          if (op.op === 'restore' && saved) {
            fast = cloneState(saved.fast);
            slow = cloneState(saved.slow);
          }
          // A lookup right after a poke at a table above it, and a second one that may come from the kept table.
          const a = apply(fast, op);
          const b = apply(slow, op);
          assert.equal(a, b, `${JSON.stringify(op)}`);
          if (op.op === 'lookup') assert.equal(apply(fast, op), a);
        }
        assert.deepEqual(fast.log, slow.log);
        assert.deepEqual(tableWords(fast), tableWords(slow));
      }),
      { numRuns: 300 },
    );
  });

  it('does not answer from the kept last-level table once a table above it was rewritten', () => {
    const side = new Side(new PhysicalMemory(RAM), true);
    const iova = 0x4020_1000n;
    assert.equal(side.pt.mapPages(iova, 0x8000_0000n, 4096n, 1, RW).ret, 0);
    assert.equal(side.pt.iovaToPhys(iova + 0x10n), 0x8000_0010n);
    // Zero the level-2 entry over the page: the next lookup walks and finds nothing.
    const [, , l2] = side.tables;
    side.mem.writeU64(l2 + ((iova >> 21n) & 511n) * 8n, 0n);
    assert.equal(side.pt.iovaToPhys(iova + 0x10n), 0n);
  });
  it('walks again when a last-level table is a table above it (a level-2 entry aimed back at the pgd)', () => {
    const run = (fast: boolean): { log: string[]; results: string[] } => {
      const side = new Side(new PhysicalMemory(RAM), fast);
      const iova = 0x4020_0000n; // level-0 index 0 and level-3 index 0: a leaf there rewrites the pgd's entry on the walk
      const results: string[] = [];
      results.push(String(side.pt.mapPages(iova, 0x8000_0000n, 4096n, 1, RW).ret));
      const [pgd, , l2] = side.tables;
      side.mem.writeU64(l2 + ((iova >> 21n) & 511n) * 8n, pgd | 3n);
      results.push(String(side.pt.iovaToPhys(iova)));
      results.push(String(side.pt.unmapPages(iova, 4096n, 1))); // clears pgd[0]: the whole walk is gone
      results.push(String(side.pt.mapPages(iova, 0x8000_0000n, 4096n, 1, RW).ret)); // so this allocates a new walk
      results.push(String(side.pt.iovaToPhys(iova + 8n)));
      return { log: side.log, results };
    };
    const fast = run(true);
    assert.deepEqual(fast, run(false));
    assert.equal(fast.results[4], String(0x8000_0008n));
    assert.equal(fast.log.filter((l) => l.startsWith('alloc')).length, 7); // 4 tables, then 3 new ones below the pgd
  });
});
