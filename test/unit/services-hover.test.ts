import { strict as assert } from 'node:assert';
import { runScenario } from '../../src/lang/run';
import { DocumentModel } from '../../src/lang/services/document-model';
import { describeNumber, friendlyValue, humanSize } from '../../src/lang/services/format';
import { hover } from '../../src/lang/services/hover';
import { posOf } from './services-helpers';

const SCENARIO = [
  'platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000 }',
  'iommu smmu0 : arm-smmu-v3 { granule = 4K; ias = 48 }',
  'device eth0 : pci "0000:02:00.0" { iommu = smmu0; dma_mask = 64 }',
  'tx = alloc_pages(2)',
  't = dma_map_page(eth0, tx, 0, 0x4000, DMA_TO_DEVICE)',
  'expect !dma_mapping_error(eth0, t)',
  'expect t == 0xffffc000',
  'd = iommu_paging_domain_alloc(eth0)',
  'expect error EINVAL iommu_map(d, 0x1001, tx, 4K, IOMMU_READ)',
  'x = dev_read(eth0, t + 0x10, 4)',
  '',
].join('\n');

describe('services: hover', () => {
  const model = new DocumentModel(SCENARIO);
  const run = runScenario(SCENARIO, 'hover.dmas', { editorInfo: true });
  const hov = (needle: string, delta = 0, occurrence = 0): string => hover(model, posOf(model, needle, delta, occurrence), run)?.contents ?? '';

  it('formats numbers', () => {
    assert.equal(describeNumber(0x4000n), '0x4000 = 16384 = 16 KiB');
    assert.equal(describeNumber(12n), '0xc = 12');
    assert.equal(humanSize(1536n), '≈ 1.5 KiB');
    assert.equal(friendlyValue('-22'), '-EINVAL');
    assert.equal(friendlyValue('0xffffffffffffffff'), 'DMA_MAPPING_ERROR');
  });

  it('shows what a call does and what it returned in the last run', () => {
    const h = hov('dma_map_page');
    assert.ok(h.includes('dma_map_page_attrs'), 'kernel prototype');
    assert.ok(h.includes('dma_map_page(dev, page, offset, size, dir[, attrs])'));
    assert.ok(h.includes('returned `0xffffc000`'), h);
  });

  it('shows expectation results and errno names on the line of a call', () => {
    const h = hov('iommu_map');
    assert.ok(h.includes('✓ expectation holds'), h);
    assert.ok(h.includes('-EINVAL'), h);
  });

  it('shows a number in hex, decimal and size, and what held it in the last run', () => {
    const h = hov('0x4000');
    assert.ok(h.includes('0x4000 = 16384 = 16 KiB'), h);
    const addr = hov('0xffffc000');
    assert.ok(addr.includes('single mapping of eth0 (line 5)'), addr);
    assert.ok(addr.includes('as a device (DMA) address'), addr);
  });

  it('shows the value of a variable and what holds it', () => {
    const h = hov('t +');
    assert.ok(h.includes('assigned on line 5'), h);
    assert.ok(h.includes('0xffffc000'), h);
    assert.ok(h.includes('mapping of eth0'), h);
    const buf = hov('tx =');
    assert.ok(buf.includes('Mappings of tx (1)'), buf);
  });

  it('shows a device configuration with the defaults the engine applied, and its mappings at the end', () => {
    const h = hov('eth0 :');
    assert.ok(h.includes('`iommu = smmu0`'), h);
    assert.ok(h.includes('`coherent = true` *(default)*'), h);
    assert.ok(h.includes('`max_segment_size = 0x10000` *(default)*'), h);
    assert.ok(h.includes('group 0, domain default domain of eth0 (dma)'), h);
    assert.ok(h.includes('Live mappings (1)'), h);
    // The same on a use of the name.
    assert.ok(hov('eth0, tx').includes('Live mappings (1)'));
  });

  it('shows an IOMMU with its engine values and what sits behind it', () => {
    const h = hov('smmu0 :');
    assert.ok(h.includes('`granule = 4K`'), h);
    assert.ok(h.includes('`iotlb = 128` *(default)*'), h);
    assert.ok(h.includes('device eth0'), h);
  });

  it('shows a domain at the end of the run', () => {
    const h = hov('d =');
    assert.ok(h.includes('IOMMU domain'), h);
    assert.ok(h.includes('type unmanaged on smmu0'), h);
  });

  it('shows constants with value and header, keys and kinds with their docs', () => {
    const c = hov('DMA_TO_DEVICE');
    assert.ok(c.includes('`0x1`') && c.includes('include/linux/dma-direction.h'), c);
    const e = hov('EINVAL');
    assert.ok(e.includes('errno 22'), e);
    assert.ok(hov('dma_mask').includes('DMA mask in bits'));
    assert.ok(hov('arm-smmu-v3').includes('SMMUv3'));
    assert.ok(hov('pci').includes('BDF'));
  });

  it('shows the walk of a device access', () => {
    const h = hov('dev_read');
    assert.ok(h.includes('walk of 0xffffc010'), h);
  });

  it('works without a run and on broken text', () => {
    assert.ok(hover(model, posOf(model, 'dma_map_page'))?.contents.includes('dma_map_page_attrs'));
    const broken = new DocumentModel('h = dma_map_page(eth0, 0x4000');
    assert.ok(hover(broken, posOf(broken, '0x4000'))?.contents.includes('16 KiB'));
    assert.equal(hover(broken, { line: 99, character: 99 }), undefined);
  });
});
