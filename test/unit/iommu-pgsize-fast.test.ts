// iommu_pgsize()'s shortcut for one smallest page at aligned addresses gives
// what the kernel's general computation gives, for any bitmap and addresses.

import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { iommuPgsize } from '../../src/engine/iommu/iommu-pgsize';

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
