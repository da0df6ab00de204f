// The DMA sanitizer (src/engine/sanitizer.ts): each rule has a scenario in
// test/fixtures/sanitizer that passes with the rule (its findings are
// expected there) and fails with the rule switched off by its platform key.

import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { runScenario } from '../../src/lang/run';
import { REPO_ROOT, dmasFiles } from './fixtures';

const RULES: Record<string, { key: string; id: string; count: number }> = {
  'cpu-out-of-bounds.dmas': { key: 'sanitize_cpu_bounds', id: 'dmascope-cpu-out-of-bounds', count: 4 },
  'dma-beyond-mapping.dmas': { key: 'sanitize_dma_bounds', id: 'dmascope-dma-beyond-mapping', count: 2 },
  'dma-direct-unmapped.dmas': { key: 'sanitize_dma_direct', id: 'dmascope-dma-unmapped', count: 2 },
  'stale-iotlb.dmas': { key: 'sanitize_stale_iotlb', id: 'dmascope-use-after-unmap', count: 1 },
};

/** The scenario with the rule's platform key set to false. */
function switchedOff(source: string, key: string): string {
  return source.replace(/^platform \{ /m, `platform { ${key} = false; `);
}

describe('DMA sanitizer rules', () => {
  const files = dmasFiles(path.join(REPO_ROOT, 'test', 'fixtures', 'sanitizer'));

  it('has one scenario per rule', () => assert.deepEqual(files.map((f) => f.name), Object.keys(RULES).sort()));

  for (const f of files) {
    const rule = RULES[f.name];
    it(`${f.name}: finds what the rule is for, and nothing with ${rule.key} = false`, () => {
      const on = runScenario(f.source, f.name);
      assert.deepEqual(on.diagnostics.filter((d) => d.severity === 'error'), []);
      assert.equal(on.ok, true, JSON.stringify(on.expectations.filter((e) => !e.passed)));
      assert.equal(on.checks.filter((c) => c.id === rule.id).length, rule.count);
      const off = runScenario(switchedOff(f.source, rule.key), f.name);
      assert.equal(off.checks.filter((c) => c.id === rule.id).length, 0);
      assert.ok(off.expectations.some((e) => !e.passed), 'the expected findings are missing without the rule');
    });
  }

  it('prints KASAN\'s report of the first kmalloc overrun to the kernel log, once', () => {
    const f = dmasFiles(path.join(REPO_ROOT, 'test', 'fixtures', 'sanitizer')).find((x) => x.name === 'cpu-out-of-bounds.dmas');
    assert.ok(f);
    const r = runScenario(f.source, f.name);
    const rule = '==================================================================';
    const report = r.log.filter((l) => l.line === 11).map((l) => l.text);
    assert.deepEqual(report, [
      rule,
      'BUG: KASAN: slab-out-of-bounds in cpu_write',
      'Write of size 10 at addr 0x8100003c',
      'The buggy address belongs to the object at 0x81000000',
      ' which belongs to the cache kmalloc-64 of size 64',
      'The buggy address is located 60 bytes inside of',
      ' allocated 64-byte region [0x81000000, 0x81000040)',
      rule,
    ]);
    assert.equal(r.log.filter((l) => l.text.startsWith('BUG: KASAN:')).length, 1, 'the read on line 12 and the page overruns print nothing more');
    const off = runScenario(switchedOff(f.source, 'sanitize_cpu_bounds'), f.name);
    assert.equal(off.log.filter((l) => l.text.includes('KASAN')).length, 0);
  });

  it('describes a kmalloc above KMALLOC_MAX_CACHE_SIZE by its pages, as KASAN does', () => {
    const r = runScenario('platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000 }\nbig = kmalloc(10000)\nexpect violation "slab-out-of-bounds in cpu_fill" cpu_fill(big, 0, 9990, 20)\n', 'l.dmas');
    assert.equal(r.ok, true);
    assert.match(r.checks[0].message, /^BUG: KASAN: slab-out-of-bounds in cpu_fill: Write of size 20 at addr 0x[0-9a-f]+; the buggy address belongs to the physical page: the write runs 10 bytes past the end of buffer `big` \(kmalloc-16384 object /);
    assert.deepEqual(r.log.map((l) => l.text).filter((t) => /buggy|BUG/.test(t)), ['BUG: KASAN: slab-out-of-bounds in cpu_fill', 'The buggy address belongs to the physical page:']);
  });

  it('leaves the other rules on when one is switched off', () => {
    const src = dmasFiles(path.join(REPO_ROOT, 'test', 'fixtures', 'sanitizer')).find((f) => f.name === 'cpu-out-of-bounds.dmas')?.source ?? '';
    const r = runScenario(switchedOff(src, 'sanitize_dma_bounds'), 'x.dmas');
    assert.equal(r.checks.filter((c) => c.id === 'dmascope-cpu-out-of-bounds').length, 4);
  });
  it('leaves a driver-owned domain alone: iommu_map ranges are not DMA API mappings', () => {
    // A paging domain the driver attaches itself (iommu_attach_device) is mapped
    // with iommu_map; the DMA API never tracks those ranges, so a device read
    // inside one is not "beyond a mapping".
    const src = [
      'platform { page_size = 4K; memory = 0x8000_0000 .. 0x1_0000_0000 }',
      'iommu smmu0 : arm-smmu-v3 { granule = 4K }',
      'device gpu : platform "gpu0" { iommu = smmu0; coherent = true }',
      'page = alloc_pages(0)',
      'cpu_write(page, 0, "driver")',
      'd = iommu_paging_domain_alloc(gpu)',
      'expect iommu_map(d, 0x10000, page.phys, 4K, IOMMU_READ | IOMMU_WRITE) == 0',
      'expect iommu_attach_device(d, gpu) == 0',
      'expect dev_read(gpu, 0x10000, 6) == "driver"',
      '',
    ].join('\n');
    const r = runScenario(src, 'driver-domain.dmas');
    assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error'), []);
    assert.equal(r.ok, true, JSON.stringify(r.expectations.filter((e) => !e.passed)));
    assert.deepEqual(r.checks.filter((c) => c.id.startsWith('dmascope-')).map((c) => c.message), []);
  });
  it('blames a missing invalidation, not the flush queue, when a table changed under a cached entry', () => {
    const f = dmasFiles(path.join(REPO_ROOT, 'test', 'fixtures', 'kernel-rules')).find((x) => x.name === 'nested-stale-iotlb.dmas');
    assert.ok(f, 'test/fixtures/kernel-rules/nested-stale-iotlb.dmas');
    const stale = runScenario(f.source, f.name).checks.filter((c) => c.id === 'dmascope-use-after-unmap').map((c) => c.message);
    assert.ok(stale.length > 0);
    for (const m of stale) {
      assert.equal(m, 'dmascope: gpu0 used IOVA 0x1000 through a stale IOTLB entry: the page table no longer translates it this way, and no invalidation has reached the IOTLB since it changed');
    }
  });
});
