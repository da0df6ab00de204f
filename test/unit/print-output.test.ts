// `print` shows in every report, numbers as the kernel would print them:
// addresses in 0x hex, counts and sizes in decimal, literals in their own base.

import { strict as assert } from 'node:assert';
import { runScenario } from '../../src/lang/run';
import { formatRunReport } from '../../src/report/format-report';

const SRC = `platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000 }
iommu smmu0 : arm-smmu-v3 { granule = 4K; ias = 48; oas = 48 }
device eth0 : pci "0000:02:00.0" { iommu = smmu0; coherent = true; dma_mask = 64; default_domain = dma }
print 4096
print 4K
print 0x1000
b = alloc_pages(0)
h = dma_map_page(eth0, b, 0, 4K, DMA_TO_DEVICE)
print h
print h + 0x10
n = 3
print n * 2
w = translate(eth0, h)
print w.accesses
print w.phys == b.phys
print [h, n]
print events("iommu:map")
expect w.accesses == 3
`;

describe('print', () => {
  const r = runScenario(SRC, 'p.dmas');
  const printed = r.log.filter((l) => l.text.startsWith('print: ')).map((l) => [l.line, l.text.slice(7)]);

  it('prints addresses in hex and counts in decimal, literals in the base they were written in', () => {
    assert.deepEqual(printed, [
      [4, '4096'],
      [5, '4096'],
      [6, '0x1000'],
      [9, '0xfffff000'],
      [10, '0xfffff010'],
      [12, '6'],
      [14, '4'],
      [15, 'true'],
      [16, '[0xfffff000, 3]'],
      [17, '1'],
    ]);
  });

  it('shows print output in the report without --verbose, and explains a failed count in decimal', () => {
    const report = formatRunReport(r, 'p.dmas');
    assert.match(report, /^p\.dmas:4: print: 4096$/m);
    assert.match(report, /^p\.dmas:9: print: 0xfffff000$/m);
    assert.doesNotMatch(report, /software IO TLB/, 'the kernel log stays behind --verbose');
    assert.match(report, /expected w\.accesses == 3, but w\.accesses is 4/);
  });
});
