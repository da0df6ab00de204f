// events("name")[i]: a tracepoint's fields, not only counts.

import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { runScenario } from '../../src/lang/run';

const SRC = `platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000 }
iommu smmu0 : arm-smmu-v3 { granule = 4K }
device gpu : platform "gpu0" { iommu = smmu0; coherent = true; dma_mask = 48 }
d = iommu_paging_domain_alloc(gpu)
iommu_map(d, 0x10000, 0x8000_0000, 4K, IOMMU_READ)
iommu_map(d, 0x20000, 0x8010_0000, 2M, IOMMU_READ)
expect events("iommu:map") == 2
expect events("iommu:map")[1].size == 2M
expect events("iommu:map")[1].iova == 0x20000
expect events("iommu:map")[1].line == 6
expect events("iommu_map")[0].ret == 0
print events("iommu:map")[0]
`;

describe('events("name")[i]', () => {
  it('gives the i-th event as a record of its fields, seq and line, and a call its return value', () => {
    const r = runScenario(SRC, 'e.dmas');
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.expectations.map((e) => e.passed), [true, true, true, true, true]);
    const printed = r.log.find((l) => l.text.startsWith('print: '))?.text;
    assert.match(printed ?? '', /^print: \{iova = 0x10000, paddr = 0x80000000, size = 4096, seq = \d+, line = 5\}$/);
  });

  it('says how many there are when the index is past them', () => {
    const r = runScenario(`${SRC}x = events("iommu:map")[2]\n`, 'e.dmas');
    assert.deepEqual(r.diagnostics.map((d) => [d.line, d.message]), [[13, 'events("iommu:map")[2]: there are 2 such events so far']]);
  });

  it('is documented with this form', () => {
    assert.match(readFileSync(`${__dirname}/../../docs/language.md`, 'utf8'), /events\("iommu:map"\)\[1\]\.size/);
  });
});
