// A device whose declaration a kernel BUG stopped (init_iova_domain's
// BUG_ON while it probes) is not declared; each later use says it was lost
// to that BUG, and so does a variable whose value needed it, instead of a
// cascade of "unknown name" errors that hides the BUG.

import { strict as assert } from 'node:assert';
import { DebugRuntime } from '../../src/debug/runtime';
import { runScenario } from '../../src/lang/run';

const SCENARIO = `platform { page_size = 4K; memory = 0x8000_0000 .. 0x4_0000_0000 }
iommu smmu64k : arm-smmu-v3 { granule = 64K }
device gpu : platform "gpu0" { iommu = smmu64k; coherent = true; dma_mask = 48; default_domain = dma }
b = alloc_pages(0)
h = dma_map_single(gpu, b.phys, 4K, DMA_TO_DEVICE)
expect !dma_mapping_error(gpu, h)
h2 = h + 1
`;

const BUG = 'kernel BUG at drivers/iommu/iova.c: init_iova_domain: BUG_ON((granule > PAGE_SIZE) || !is_power_of_2(granule)) with granule 0x10000, PAGE_SIZE 0x1000 (the real kernel would crash here)';

describe('names lost to a kernel BUG', () => {
  it('later uses of the device say it was lost to the BUG at its line, not "unknown name"', () => {
    const r = runScenario(SCENARIO, 'lost.dmas');
    assert.deepEqual(r.diagnostics.map((d) => [d.line, d.code, d.message]), [
      [3, 'kernel-bug', BUG],
      [5, 'lost-name', 'gpu was lost to the kernel BUG at line 3: its device declaration did not complete'],
      [6, 'lost-name', 'gpu was lost to the kernel BUG at line 3: its device declaration did not complete'],
      [7, 'lost-name', 'h was lost to the kernel BUG at line 3: its value at line 5 needed gpu'],
    ]);
  });

  it('a declaration that fails with another error loses its name to that error', () => {
    const r = runScenario('buf = alloc_pages(0)\nmm p1 {\n  map 0x7f00_0000_0000 -> buf.phys + 1 size 4K rw\n}\nx = p1\n', 'lost.dmas');
    assert.deepEqual(r.diagnostics.map((d) => [d.line, d.code, d.message]), [
      [2, 'kernel-error', 'mm p1: map 0x7f0000000000 -> 0x81000001 size 0x1000: address, target and size must be multiples of PAGE_SIZE (0x1000)'],
      [5, 'lost-name', 'p1 was lost to the error at line 2: its mm declaration did not complete'],
    ]);
  });

  it('the debugger says the same when the device is evaluated after the BUG (the state it restores keeps the lost names)', () => {
    const rt = new DebugRuntime(SCENARIO, 4);
    rt.goTo(rt.complete() - 1);
    assert.deepEqual(rt.evaluate('gpu'), { ok: false, value: 'gpu was lost to the kernel BUG at line 3: its device declaration did not complete' });
    assert.deepEqual(rt.evaluate('h'), { ok: false, value: 'h was lost to the kernel BUG at line 3: its value at line 5 needed gpu' });
  });
});
