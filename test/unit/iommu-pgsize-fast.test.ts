// iommu_pgsize()'s shortcut for one smallest page at aligned addresses gives
// what the kernel's general computation gives, for any bitmap and addresses;
// the map and unmap loops (with their one-page shortcut) make the kernel's calls.

import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { iommuMapPages, iommuMapPagesQuiet, iommuPgsize, iommuUnmapPagesQuiet } from '../../src/engine/iommu/iommu-pgsize';
import type { IoPgtableOps } from '../../src/engine/io-pgtable/types';

const U64_MASK = (1n << 64n) - 1n;
const genmask = (h: number): bigint => (1n << BigInt(h + 1)) - 1n;
const fls = (x: bigint): number => x.toString(2).length - 1;
const ffs = (x: bigint): number => fls(x & -x);

/** drivers/iommu/iommu.c iommu_pgsize(), written out as the kernel has it. */
function reference(bitmap: bigint, iova: bigint, paddr: bigint, size: bigint): { pgsize: bigint; count: number } {
  const addrMerge = paddr | iova;
  let pgsizes = bitmap & genmask(fls(size));
  if (addrMerge) pgsizes &= genmask(ffs(addrMerge));
  const idx = fls(pgsizes);
  const pgsize = 1n << BigInt(idx);
  let count = size;
  const bigger = bitmap & ~genmask(idx);
  if (bigger) {
    const next = 1n << BigInt(ffs(bigger));
    if (!((iova ^ paddr) & (next - 1n))) {
      const offset = next - (addrMerge & (next - 1n));
      if (offset + next <= U64_MASK && offset + next <= size) count = offset;
    }
  }
  return { pgsize, count: Number(count >> BigInt(idx)) };
}

describe('iommu_pgsize: one smallest page', () => {
  it('equals the general computation for any page-size bitmap and aligned addresses', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 12, max: 40 }), { minLength: 1, maxLength: 5 }), fc.bigInt({ min: 0n, max: (1n << 52n) - 1n }), fc.bigInt({ min: 0n, max: (1n << 52n) - 1n }), (bits, a, b) => {
        const bitmap = bits.reduce((m, x) => m | (1n << BigInt(x)), 0n);
        const size = bitmap & -bitmap;
        const iova = a & ~(size - 1n);
        const paddr = b & ~(size - 1n);
        assert.deepEqual(iommuPgsize(bitmap, iova, paddr, size), reference(bitmap, iova, paddr, size));
        assert.deepEqual(iommuPgsize(bitmap, iova, paddr, size), { pgsize: size, count: 1 });
      }),
      { numRuns: 500 },
    );
  });
});

/** A format that records its calls and maps or unmaps at most `budget` bytes in all (then fails with -ENOMEM or returns 0). */
class ScriptedOps {
  calls: string[] = [];
  constructor(readonly cfg: { pgsizeBitmap: bigint; ias: number; oas: number }, private budget: bigint, private readonly partial: boolean) {}
  mapPages(iova: bigint, paddr: bigint, pgsize: bigint, count: number, prot: number): { mapped: bigint; ret: number } {
    this.calls.push(`map ${iova} ${paddr} ${pgsize} ${count} ${prot}`);
    return this.take(pgsize, count);
  }
  unmapPages(iova: bigint, pgsize: bigint, count: number): bigint {
    this.calls.push(`unmap ${iova} ${pgsize} ${count}`);
    return this.take(pgsize, count).mapped;
  }
  private take(pgsize: bigint, count: number): { mapped: bigint; ret: number } {
    // A partial format maps as many whole pages as are left; otherwise all or nothing.
    const want = pgsize * BigInt(count);
    const got = want <= this.budget ? want : this.partial ? this.budget - (this.budget % pgsize) : 0n;
    this.budget -= got;
    return { mapped: got, ret: got === want ? 0 : -12 };
  }
}

/** iommu_map_nosync()'s loop and __iommu_unmap() as drivers/iommu/iommu.c has them (v6.18), over the reference iommu_pgsize(). */
function referenceMap(ops: ScriptedOps, iova: bigint, paddr: bigint, size: bigint, prot: number): { ret: number; mapped: bigint } {
  const bitmap = ops.cfg.pgsizeBitmap;
  const minPg = (1n << BigInt(ffs(bitmap))) & 0xffffffffn;
  if ((iova | paddr | size) & (minPg - 1n)) return { ret: -22, mapped: 0n };
  const origIova = iova;
  const origSize = size;
  let ret = 0;
  while (size) {
    const { pgsize, count } = reference(bitmap, iova, paddr, size);
    const r = ops.mapPages(iova, paddr, pgsize, count, prot);
    ret = r.ret;
    size = (size - r.mapped) & U64_MASK;
    if (ret) break;
    iova = (iova + r.mapped) & U64_MASK;
    paddr = (paddr + r.mapped) & U64_MASK;
  }
  const mapped = (origSize - size) & U64_MASK;
  if (ret) referenceUnmap(ops, origIova, mapped);
  return { ret, mapped };
}

function referenceUnmap(ops: ScriptedOps, iova: bigint, size: bigint): bigint {
  const bitmap = ops.cfg.pgsizeBitmap;
  const minPg = (1n << BigInt(ffs(bitmap))) & 0xffffffffn;
  if ((iova | size) & (minPg - 1n)) return 0n;
  let unmapped = 0n;
  while (unmapped < size) {
    const { pgsize, count } = reference(bitmap, iova, iova, size - unmapped);
    const page = ops.unmapPages(iova, pgsize, count);
    if (!page) break;
    iova = (iova + page) & U64_MASK;
    unmapped += page;
  }
  return unmapped;
}

describe('iommu_map / iommu_unmap page splitting', () => {
  it('makes the calls and gives the results of the kernel loops, one-page shortcut, failures and partial maps included', () => {
    const K4 = 4096n;
    fc.assert(
      fc.property(
        fc.constantFrom([12], [12, 21, 30], [12, 16, 21], [14, 25], [16, 29], [33]),
        fc.bigInt({ min: 0n, max: (1n << 40n) - 1n }),
        fc.bigInt({ min: 0n, max: (1n << 40n) - 1n }),
        fc.oneof(fc.constant(1n), fc.bigInt({ min: 1n, max: 1024n })),
        fc.boolean(),
        fc.oneof(fc.constant(1n << 60n), fc.bigInt({ min: 0n, max: 1n << 22n })),
        fc.boolean(),
        (bits, a, b, units, aligned, budget, partial) => {
          const bitmap = bits.reduce((m, x) => m | (1n << BigInt(x)), 0n);
          const smallest = bitmap & -bitmap;
          const size = units === 1n ? smallest : aligned ? units * smallest : units * K4;
          const iova = aligned ? a & ~(smallest - 1n) : a & ~(K4 - 1n);
          const paddr = aligned ? b & ~(smallest - 1n) : b & ~(K4 - 1n);
          const cfg = { pgsizeBitmap: bitmap, ias: 48, oas: 48 };
          const ours = new ScriptedOps(cfg, budget, partial);
          const theirs = new ScriptedOps(cfg, budget, partial);
          const r = iommuMapPagesQuiet(ours as unknown as IoPgtableOps, iova, paddr, size, 3);
          assert.deepEqual({ ret: r.ret, mapped: r.mapped }, referenceMap(theirs, iova, paddr, size, 3));
          const loud = new ScriptedOps(cfg, budget, partial);
          const chunked = iommuMapPages(loud as unknown as IoPgtableOps, iova, paddr, size, 3);
          assert.equal(chunked.chunks.length, loud.calls.length);
          const u = iommuUnmapPagesQuiet(ours as unknown as IoPgtableOps, iova, size).unmapped;
          assert.equal(u, referenceUnmap(theirs, iova, size));
          assert.deepEqual(ours.calls, theirs.calls);
        },
      ),
      { numRuns: 600 },
    );
  });
});
