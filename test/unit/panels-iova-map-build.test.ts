// The IOVA map model's columns from any mapping list: parsed without BigInt
// and sorted by a radix sort, they must come out exactly as BigInt
// arithmetic and a plain sort say (addresses past 2^32 and 2^53 included).

import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import type { MachineView, MappedRangeView } from '../../src/engine/inspect/types';
import { buildIovaMapModel, hexOfHalves, rangesOf } from '../../src/panels/iova-map-model';

const hex = (v: bigint): string => `0x${v.toString(16)}`;
const DOMAIN = 'default domain of nvme0';

function machineOf(mappings: MappedRangeView[], allocations: { start: string; last: string; pages: number; cached: boolean }[]): MachineView {
  return {
    iommus: [], devices: [], iotlb: [], mappings: [], swiotlb: null, vduse: [], buffers: [],
    domains: [{
      id: 1, label: DOMAIN, type: 'DMA', iommu: 'smmu0', format: 'arm-lpae-s1', granule: '0x1000', pgsizeBitmap: '0x40201000', aperture: ['0x0', hex((1n << 64n) - 1n)],
      nestParent: false, parent: null, users: ['nvme0'], line: 3, mappings,
      iova: { granule: '0x1000', startPfn: 1, dma32bitPfn: 0x100000, allocations, rcache: [] }, flushQueue: null,
    }],
  };
}

// Page numbers from a few clusters (so high halves repeat and low halves decide) and anywhere below 2^52.
const page = fc.oneof(fc.bigInt({ min: 0n, max: (1n << 52n) - 17n }), fc.bigInt({ min: 0xfffff0n, max: 0x100000fn }), fc.bigInt({ min: (1n << 44n) - 8n, max: (1n << 44n) + 8n }));

describe('IOVA map model: columns from any mapping list', () => {
  it('orders ranges by IOVA and the physical view by phys (ties by IOVA order), exactly as BigInt says', () => {
    fc.assert(fc.property(fc.uniqueArray(page, { minLength: 0, maxLength: 60 }), fc.array(fc.bigInt({ min: 0n, max: (1n << 40n) - 1n }), { minLength: 60, maxLength: 60 }), fc.array(fc.integer({ min: 1, max: 16 }), { minLength: 60, maxLength: 60 }), (pages, physPages, sizes) => {
      const mappings = pages.map((p, i) => ({ iova: hex(p << 12n), phys: hex(physPages[i] << 12n), size: hex(BigInt(sizes[i]) << 12n), prot: ['r', 'w', 'rw', 'rw,mmio'][i % 4], line: i + 1 }));
      const allocations = pages.map((p, i) => ({ start: hex(p << 12n), last: hex((p << 12n) + (BigInt(sizes[i]) << 12n) - 1n), pages: sizes[i], cached: i % 3 === 0 }));
      const model = buildIovaMapModel(machineOf(mappings, allocations), DOMAIN)!;
      const byIova = [...mappings].sort((a, b) => (BigInt(a.iova) < BigInt(b.iova) ? -1 : 1));
      const drawn = rangesOf(model.ranges);
      assert.deepEqual(drawn.map((r) => [r.iova, r.phys, r.size, r.prot, r.line]), byIova.map((r) => [r.iova, r.phys, r.size, r.prot, r.line]));
      assert.deepEqual(drawn.map((r) => hexOfHalves(r.end.hi, r.end.lo)), byIova.map((r) => hex(BigInt(r.iova) + BigInt(r.size))));
      const physOrder = byIova.map((_, i) => i).sort((a, b) => (BigInt(byIova[a].phys) - BigInt(byIova[b].phys) > 0n ? 1 : BigInt(byIova[a].phys) < BigInt(byIova[b].phys) ? -1 : a - b));
      assert.deepEqual(Array.from(model.ranges.physOrder), physOrder);
      const al = model.allocations;
      const starts = Array.from({ length: al.count }, (_, i) => hexOfHalves(al.start[2 * i], al.start[2 * i + 1]));
      const ends = Array.from({ length: al.count }, (_, i) => hexOfHalves(al.end[2 * i], al.end[2 * i + 1]));
      assert.deepEqual(starts, byIova.map((r) => r.iova));
      assert.deepEqual(ends, byIova.map((r) => hex(BigInt(r.iova) + BigInt(r.size))));
    }), { numRuns: 300 });
  });

  it('reads upper-case hex and an allocation ending at the top of a 32-bit half (carry into the high half)', () => {
    const model = buildIovaMapModel(machineOf(
      [{ iova: '0X1FFFFF000', phys: '0xABC000', size: '0x1000', prot: 'rw', line: 4 }, { iova: '0x1000', phys: '0x2000', size: '0x2000', prot: 'r', line: 3 }],
      [{ start: '0x1fffff000', last: '0x1ffffffff', pages: 1, cached: false }],
    ), DOMAIN)!;
    assert.deepEqual(rangesOf(model.ranges).map((r) => [r.iova, hexOfHalves(r.end.hi, r.end.lo), r.phys]), [['0x1000', '0x3000', '0x2000'], ['0x1fffff000', '0x200000000', '0xabc000']]);
    assert.deepEqual([model.allocations.end[0], model.allocations.end[1]], [2, 0]);
  });
});
