// `expect violations [...] CALL`, `expect !violation CALL`, `expect violation
// kernel|dmascope "..." [CALL]` and `expect ... NAME = CALL`.

import { strict as assert } from 'node:assert';
import { runScenario } from '../../src/lang/run';
import { parse } from '../../src/lang/parser';
import { check } from '../../src/lang/checker';

const HEAD = `device eth0 : pci "0000:02:00.0" { dma_mask = 64 }
buf = alloc_pages(0)
`;

describe('expect: exact findings, origin, captured values', () => {
  it('parses the forms', () => {
    const body = parse('expect violations ["a", "b"] f(1)\nexpect !violation x = g()\nexpect violation kernel "k"\nexpect error EINVAL y = h()\n').program.body;
    const shape = body.map((s) => {
      if (s.kind !== 'expect') return null;
      if (s.mode === 'findings') return ['findings', s.texts.map((t) => t.value), s.call.callee.text, s.assign?.name ?? null];
      if (s.mode === 'violation') return ['violation', s.origin ?? null, s.text.value, s.call?.callee.text ?? null];
      if (s.mode === 'error') return ['error', s.assign?.name ?? null];
      return null;
    });
    assert.deepEqual(shape, [['findings', ['a', 'b'], 'f', null], ['findings', [], 'g', 'x'], ['violation', 'kernel', 'k', null], ['error', 'y']]);
    assert.match(parse('expect violations ["a" f(1)\n').diagnostics[0]?.message ?? '', /a string or \] in the list of expected findings/);
  });

  it('a captured name is defined for the checker', () => {
    const src = `${HEAD}expect !violation h = dma_map_single(eth0, buf.phys, 4K, DMA_TO_DEVICE)\nexpect h == buf.phys\n`;
    const diags = check(parse(src).program).diagnostics.filter((d) => d.severity === 'error');
    assert.deepEqual(diags, []);
  });

  it('holds for exactly the set, fails naming what is missing or extra', () => {
    const r = runScenario(`${HEAD}expect !violation h = dma_map_single(eth0, buf.phys, 4K, DMA_FROM_DEVICE)
expect !dma_mapping_error(eth0, h)
expect violations ["different size"] dma_unmap_single(eth0, h, 2K, DMA_TO_DEVICE)
k = dma_map_single(eth0, buf.phys, 4K, DMA_FROM_DEVICE)
expect !dma_mapping_error(eth0, k)
expect !violation dma_unmap_single(eth0, k, 2K, DMA_FROM_DEVICE)
`, 'f.dmas');
    assert.deepEqual(r.expectations.map((e) => [e.line, e.passed]), [[3, true], [4, true], [5, false], [7, true], [8, false]]);
    assert.equal(r.values.h, '0x81000000');
    assert.match(r.expectations[2].message, /^expected exactly "different size" from dma_unmap_single\(eth0, h, 2K, DMA_TO_DEVICE\): also: DMA-API: eth0 0000:02:00\.0: device driver frees DMA memory with different direction/);
    assert.match(r.expectations[4].message, /^expected no finding from .*: also: .*different size/);
  });

  it('tells the kernel\'s findings from dmascope\'s, and an expected kernel BUG does not fail the run', () => {
    const r = runScenario(`platform { page_size = 4K; memory = 0x8000_0000 .. 0x4_0000_0000 }
iommu s : arm-smmu-v3 { granule = 64K }
device gpu : platform "gpu0" { iommu = s; coherent = true; dma_mask = 48; default_domain = dma }
expect violation dmascope "kernel BUG"
expect violation kernel "kernel BUG at drivers/iommu/iova.c"
`, 'o.dmas');
    assert.deepEqual(r.expectations.map((e) => e.passed), [false, true]);
    assert.match(r.expectations[0].message, /^expected a dmascope report containing "kernel BUG"; got: kernel: kernel BUG at drivers\/iommu\/iova\.c/);
    assert.deepEqual(r.checks.map((c) => [c.id, c.origin, c.expected]), [['kernel-bug', 'kernel', true]]);
    assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error'), [], 'the BUG\'s diagnostic goes with the expected finding');
    const unexpected = runScenario(`platform { page_size = 4K; memory = 0x8000_0000 .. 0x4_0000_0000 }
iommu s : arm-smmu-v3 { granule = 64K }
device gpu : platform "gpu0" { iommu = s; coherent = true; dma_mask = 48; default_domain = dma }
`, 'u.dmas');
    assert.equal(unexpected.ok, false);
    assert.equal(unexpected.diagnostics.find((d) => d.code === 'kernel-bug')?.line, 3);
  });
});
