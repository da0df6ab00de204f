// The run index (hovers on addresses) reads regions from the machine summary,
// which reads the engine: the swiotlb pool and iommu_map ranges come from
// engine state, not from the kernel log's text or a replay of the trace.

import { strict as assert } from 'node:assert';
import { runScenario } from '../../src/lang/run';
import { runIndex } from '../../src/lang/services/run-index';

describe('run index regions', () => {
  it('knows the swiotlb pool from the engine, end exclusive', () => {
    const r = runScenario('platform { memory = 0x8000_0000 .. 0x2_0000_0000; swiotlb = 4M }\nx = alloc_pages(0)\n', 't.dmas', { editorInfo: true });
    assert.deepEqual(r.machine?.platform.swiotlbPool, { start: '0xffc00000', end: '0x100000000' });
    const pool = runIndex(r).regionsAt(0xffc0_0000n).find((x) => x.what === 'the swiotlb bounce pool');
    assert.equal(pool?.size, 4n << 20n);
    assert.equal(runIndex(r).regionsAt(0x1_0000_0000n).some((x) => x.what === 'the swiotlb bounce pool'), false);
  });

  it('lists what an unmanaged domain still maps at the end, and drops what was unmapped', () => {
    const src = `iommu smmu0 : arm-smmu-v3 { granule = 4K }
device gpu : platform "gpu0" { iommu = smmu0; coherent = true; dma_mask = 48 }
d = iommu_paging_domain_alloc(gpu)
iommu_attach_device(d, gpu)
iommu_map(d, 0x10000, 0x8000_0000, 8K, IOMMU_READ | IOMMU_WRITE)
iommu_map(d, 0x40000, 0x8010_0000, 4K, IOMMU_READ)
iommu_unmap(d, 0x40000, 4K)
`;
    const r = runScenario(src, 't.dmas', { editorInfo: true });
    assert.deepEqual(r.diagnostics.filter((x) => x.severity === 'error'), []);
    const dom = r.machine?.domains.find((x) => x.label === 'd');
    assert.deepEqual(dom?.mappings, [{ iova: '0x10000', phys: '0x80000000', size: '0x2000', line: 5, via: 'iommu_map' }]);
  });
});
