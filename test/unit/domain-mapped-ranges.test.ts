// What a domain maps, as the views list it: iommu_map adds a range,
// iommu_unmap takes back what it covers and keeps the parts it cuts, at any
// IOVA (page-aligned ones are keyed by page number, others by the IOVA).

import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { DomainMappedRanges, type MappedRange } from '../../src/engine/iommu/domain-mapped-ranges';

/** The same bookkeeping as a plain list. */
class ModelRanges {
  ranges: MappedRange[] = [];

  add(iova: bigint, phys: bigint, size: bigint, prot: number, line: number): void {
    this.ranges = this.ranges.filter((r) => r.iova !== iova);
    this.ranges.push({ iova, phys, size, prot, line });
  }

  remove(iova: bigint, size: bigint): void {
    if (size <= 0n) return;
    const end = iova + size;
    const out: MappedRange[] = [];
    for (const r of this.ranges) {
      const rEnd = r.iova + r.size;
      if (rEnd <= iova || r.iova >= end || (r.iova === iova && r.size === size)) {
        if (!(r.iova === iova && r.size === size)) out.push(r);
        continue;
      }
      if (r.iova < iova) out.push({ ...r, size: iova - r.iova });
      if (rEnd > end) out.push({ ...r, iova: end, phys: r.phys + (end - r.iova), size: rEnd - end });
    }
    this.ranges = out;
  }

  list(): MappedRange[] {
    return [...this.ranges].sort((a, b) => (a.iova < b.iova ? -1 : a.iova > b.iova ? 1 : 0));
  }
}

/** IOVAs near 0, at 4 GiB, at 2^43 (where page-number keys end) and above 2^53, aligned or not. */
const iovaArb = fc
  .tuple(fc.constantFrom(0n, 0xffff_0000n, (1n << 43n) - 0x4000n, 1n << 53n, (1n << 64n) - 0x10_0000n), fc.integer({ min: 0, max: 15 }), fc.constantFrom(0n, 0x200n, 0xfffn))
  .map(([base, page, off]) => base + BigInt(page) * 0x1000n + off);

type Op = { op: 'add'; iova: bigint; pages: number } | { op: 'remove'; iova: bigint; size: bigint };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('add' as const), iova: iovaArb, pages: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ op: fc.constant('remove' as const), iova: iovaArb, size: fc.constantFrom(0n, 0x200n, 0x1000n, 0x2000n, 0x3e00n) }),
);

describe('iommu domain: mapped ranges', () => {
  it('lists what a plain list of ranges lists after any maps and unmaps, aligned or not, below and above 2^43 and 2^53 (property)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 80 }), (ops) => {
        const ranges = new DomainMappedRanges();
        const model = new ModelRanges();
        ops.forEach((o, line) => {
          if (o.op === 'add') {
            const size = BigInt(o.pages) * 0x1000n;
            // iommu_map refuses to map over a live range: only free IOVA is added.
            if (model.ranges.some((r) => r.iova < o.iova + size && o.iova < r.iova + r.size)) return;
            ranges.add(o.iova, 0x8000_0000n + BigInt(line) * 0x10_0000n, size, 3, line);
            model.add(o.iova, 0x8000_0000n + BigInt(line) * 0x10_0000n, size, 3, line);
          } else {
            ranges.remove(o.iova, o.size);
            model.remove(o.iova, o.size);
          }
          assert.deepEqual(ranges.list(), model.list());
          assert.equal(ranges.size, model.ranges.length);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('keeps an aligned range and the unaligned range whose IOVA equals its page number apart', () => {
    const ranges = new DomainMappedRanges();
    ranges.add(0x5000n, 0x9000_0000n, 0x1000n, 3, 1); // page number 5
    ranges.add(0x5n, 0xa000_0000n, 0x200n, 1, 2); // the IOVA 5 itself
    ranges.remove(0x5n, 0x200n);
    assert.deepEqual(ranges.list(), [{ iova: 0x5000n, phys: 0x9000_0000n, size: 0x1000n, prot: 3, line: 1 }]);
  });
});
