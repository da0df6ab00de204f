import { strict as assert } from 'node:assert';
import { complete } from '../../src/lang/services/completion';
import { signatureHelp } from '../../src/lang/services/signature-help';
import { at, MACHINE } from './services-helpers';

function labels(source: string): string[] {
  const { model, pos } = at(source);
  return complete(model, pos).items.map((i) => i.label);
}

function items(source: string) {
  const { model, pos } = at(source);
  return complete(model, pos).items;
}

describe('services: completion', () => {
  it('offers kernel calls with their arguments as a snippet in kernel order', () => {
    const list = items(`${MACHINE}h = dma_map_p‸`);
    const map = list.find((i) => i.label === 'dma_map_page');
    assert.ok(map, 'dma_map_page offered');
    assert.equal(map.kind, 'function');
    assert.equal(map.snippet, true);
    // dev offers the declared devices; dir its three directions; attrs (optional) is left out.
    assert.equal(map.insertText, 'dma_map_page(${1|eth0,nvme0|}, ${2:page}, ${3:offset}, ${4:size}, ${5|DMA_TO_DEVICE,DMA_FROM_DEVICE,DMA_BIDIRECTIONAL|})$0');
    assert.ok(map.documentation?.includes('dma_map_page_attrs'));
  });

  it('inserts only the name when a parenthesis already follows', () => {
    const map = items(`${MACHINE}h = dma_map_p‸(eth0, a, 0, 4K, DMA_TO_DEVICE)`).find((i) => i.label === 'dma_map_page');
    assert.ok(map);
    assert.equal(map.insertText, undefined);
  });

  it('offers devices where a device goes', () => {
    assert.deepEqual(labels(`${MACHINE}h = dma_map_page(‸`), ['eth0', 'nvme0']);
    assert.deepEqual(labels(`${MACHINE}h = dma_map_page(et‸`), ['eth0', 'nvme0']);
  });

  it('offers domains, IOVA states and buffers by parameter kind', () => {
    assert.ok(labels(`${MACHINE}iommu_map(‸`).includes('d'));
    assert.ok(!labels(`${MACHINE}iommu_map(‸`).includes('eth0'));
    const link = labels(`${MACHINE}dma_iova_link(nvme0, ‸`);
    assert.deepEqual(link, ['st', 'dma_iova_try_alloc']);
    const page = labels(`${MACHINE}h = dma_map_page(eth0, ‸`);
    assert.ok(page.includes('a'));
    assert.ok(page.includes('alloc_pages'), 'calls that make a buffer');
    assert.ok(!page.includes('eth0'));
  });

  it('offers IOMMUs of the kinds a call accepts', () => {
    assert.deepEqual(labels(`${MACHINE}user_read(‸`), ['vd0']);
  });

  it('offers directions where dir goes, IOMMU_* where prot goes, DMA_ATTR_* for attrs', () => {
    const dir = labels(`${MACHINE}h = dma_map_page(eth0, a, 0, 4K, ‸`);
    assert.ok(dir.includes('DMA_TO_DEVICE') && dir.includes('DMA_FROM_DEVICE') && dir.includes('DMA_BIDIRECTIONAL'));
    assert.ok(!dir.includes('IOMMU_READ'));
    const prot = labels(`${MACHINE}iommu_map(d, 0x1000, a, 4K, IOMMU_READ | ‸`);
    assert.ok(prot.includes('IOMMU_WRITE'));
    assert.ok(!prot.includes('DMA_TO_DEVICE'));
    const attrs = labels(`${MACHINE}h = dma_map_page(eth0, a, 0, 4K, DMA_TO_DEVICE, ‸`);
    assert.ok(attrs.includes('DMA_ATTR_SKIP_CPU_SYNC'));
    assert.ok(!attrs.includes('IOMMU_READ'));
  });

  it('offers named-only arguments and their values', () => {
    const first = labels(`${MACHINE}x = dev_read(eth0, 0x1000, 4, ‸`);
    assert.ok(first.includes('pasid ='));
    const val = labels(`${MACHINE}x = dev_read(eth0, 0x1000, 4, pasid = ‸`);
    assert.ok(val.includes('n'), 'integer variables');
    assert.ok(val.includes('IOMMU_NO_PASID'));
  });

  it('offers nothing right after a complete argument', () => {
    assert.deepEqual(labels(`${MACHINE}h = dma_map_page(eth0 ‸`), []);
  });

  it('offers errno names after expect error, then calls', () => {
    const e = labels(`${MACHINE}expect error ‸`);
    assert.ok(e.includes('EINVAL') && e.includes('EIO') && e.includes('ENOMEM'));
    assert.ok(!e.includes('DMA_TO_DEVICE'));
    const c = labels(`${MACHINE}expect error EIO ‸`);
    assert.ok(c.includes('dma_iova_link'));
    assert.ok(!c.includes('dma_unmap_page'), 'void calls cannot fail with an errno');
  });

  it('offers expect sub-forms', () => {
    const l = labels(`${MACHINE}expect ‸`);
    for (const f of ['fault', 'error', 'violation', 'stale', 'bounced', '!bounced', 'no_leaks']) assert.ok(l.includes(f), f);
    assert.deepEqual(labels(`${MACHINE}expect fault ‸`), ['dev_read', 'dev_write', 'user_read', 'user_write', 'translate']);
    assert.deepEqual(labels(`${MACHINE}expect stale ‸`), ['dev_read', 'cpu_read', 'user_read']);
    assert.ok(labels(`${MACHINE}expect violation "different size" ‸`).includes('dma_unmap_page'));
  });

  it('offers statement keywords at the start of a line', () => {
    const l = labels(`${MACHINE}‸`);
    for (const k of ['platform', 'iommu', 'device', 'mm', 'for', 'expect', 'print', 'checkpoint', 'dma_unmap_page', 'eth0']) assert.ok(l.includes(k), k);
  });

  it('offers iommu kinds and buses after the colon', () => {
    const k = items(`iommu x : arm-‸`);
    assert.ok(k.some((i) => i.label === 'arm-smmu-v3'));
    // The dashed word is replaced whole.
    const arm = k.find((i) => i.label === 'arm-smmu-v3')!;
    assert.deepEqual(arm.range?.start, { line: 0, character: 10 });
    assert.deepEqual(labels('device x : ‸'), ['pci', 'platform', 'virtio']);
  });

  it('offers declaration keys with doc and value hint, leaving out keys already set', () => {
    const dev = items(`${MACHINE}device z : pci "0000:03:00.0" {\n  iommu = smmu0\n  ‸\n}`);
    const names = dev.map((i) => i.label);
    assert.ok(names.includes('coherent') && names.includes('dma_mask') && names.includes('default_domain'));
    assert.ok(!names.includes('iommu'), 'already set');
    const coherent = dev.find((i) => i.label === 'coherent')!;
    assert.equal(coherent.insertText, 'coherent = ${1|true,false|}');
    assert.ok(coherent.documentation?.includes('snoops'));
    const plat = labels('platform { page_size = 4K; ‸ }');
    assert.ok(plat.includes('swiotlb') && plat.includes('memory') && !plat.includes('page_size'));
    // A key that applies to another kind goes last.
    const vtd = items('iommu v : intel-vtd { ‸ }');
    const aw = vtd.find((i) => i.label === 'aw')!;
    const bounce = vtd.find((i) => i.label === 'bounce_size')!;
    assert.ok(aw.sortText! < bounce.sortText!);
  });

  it('offers values of a key', () => {
    assert.deepEqual(labels(`${MACHINE}device z : pci "0000:03:00.0" { iommu = ‸ }`), ['smmu0', 'vd0']);
    assert.deepEqual(labels(`${MACHINE}device z : pci "0000:03:00.0" { default_domain = ‸ }`), ['dma', 'dma-fq', 'identity']);
    assert.deepEqual(labels('platform { page_size = ‸ }'), ['4K', '16K', '64K']);
    assert.deepEqual(labels('device z : pci "0000:03:00.0" { coherent = ‸ }'), ['true', 'false']);
    assert.deepEqual(labels('iommu v : intel-vtd { stage = ‸ }'), ['first', 'second']);
  });

  it('offers members by the kind of the object', () => {
    assert.deepEqual(labels(`${MACHINE}x = st.‸`), ['addr', 'size']);
    assert.deepEqual(labels(`${MACHINE}x = a.‸`), ['phys', 'size']);
    const sg = labels(`${MACHINE}s = sg_table(a : 4K)\nx = s[0].‸`);
    assert.ok(sg.includes('dma_address') && sg.includes('dma_length'));
    const w = labels(`${MACHINE}x = translate(eth0, 0x1000).‸`);
    assert.ok(w.includes('iotlb_hit') && w.includes('accesses'));
  });

  it('offers record fields in vduse_domain_set_map ranges', () => {
    assert.ok(labels(`${MACHINE}vduse_domain_set_map(vd0, [{‸`).includes('start'));
    assert.ok(labels(`${MACHINE}vduse_domain_set_map(vd0, [{start = 0, ‸`).includes('last'));
  });

  it('offers nothing in comments and strings', () => {
    assert.deepEqual(labels(`${MACHINE}# dma_‸`), []);
    assert.deepEqual(labels(`${MACHINE}cpu_write(a, 0, "dma_‸")`), []);
  });

  it('offers loop variables inside the loop only', () => {
    assert.ok(labels(`${MACHINE}for i in 0 .. 4 {\n  x = dma_map_page(eth0, a, ‸`).includes('i'));
    assert.ok(!labels(`${MACHINE}for i in 0 .. 4 {\n  print i\n}\nx = dma_map_page(eth0, a, ‸`).includes('i'));
  });

  it('offers mm map parts', () => {
    assert.deepEqual(labels(`${MACHINE}mm p1 {\n  ‸\n}`), ['map']);
    assert.ok(labels(`${MACHINE}mm p1 { map 0x7f00_0000_0000 -> ‸`).includes('a'));
    assert.ok(labels(`${MACHINE}mm p1 { map 0x7f00_0000_0000 -> a size 4K ‸ }`).includes('rw'));
  });
});

describe('services: signature help', () => {
  it('shows kernel argument names in kernel order with the active one', () => {
    const { model, pos } = at(`${MACHINE}h = dma_map_page(eth0, a, ‸`);
    const s = signatureHelp(model, pos);
    assert.ok(s);
    assert.equal(s.label, 'dma_map_page(dev, page, offset, size, dir[, attrs])');
    assert.deepEqual(s.parameters.map((p) => s.label.slice(p.label[0], p.label[1])), ['dev', 'page', 'offset', 'size', 'dir', 'attrs']);
    assert.equal(s.activeParameter, 2);
  });

  it('follows named arguments and skips named-only parameters for positional ones', () => {
    const named = at(`${MACHINE}x = dev_read(eth0, 0x1000, 4, pasid = ‸`);
    const s = signatureHelp(named.model, named.pos)!;
    assert.equal(s.parameters[s.activeParameter!]!.name, 'pasid');
    const pos = at(`${MACHINE}dma_map_sg(eth0, s, DMA_TO_DEVICE, ‸`);
    const t = signatureHelp(pos.model, pos.pos)!;
    assert.equal(t.parameters[t.activeParameter!]!.name, 'attrs');
  });

  it('works after a complete argument, inside strings, in nested calls and across lines', () => {
    const after = at(`${MACHINE}h = dma_map_page(eth0 ‸`);
    assert.equal(signatureHelp(after.model, after.pos)?.activeParameter, 0);
    const str = at(`${MACHINE}cpu_write(a, 0, "he‸`);
    assert.equal(signatureHelp(str.model, str.pos)?.activeParameter, 2);
    const nested = at(`${MACHINE}expect !dma_mapping_error(eth0, dma_map_page(eth0, a, 0, ‸`);
    const n = signatureHelp(nested.model, nested.pos)!;
    assert.equal(n.callee, 'dma_map_page');
    assert.equal(n.activeParameter, 3);
    const multi = at(`${MACHINE}h = dma_map_page(eth0,\n    a, 0,\n    ‸`);
    assert.equal(signatureHelp(multi.model, multi.pos)?.activeParameter, 3);
  });

  it('is undefined outside calls and for unknown functions', () => {
    const out = at(`${MACHINE}h = ‸`);
    assert.equal(signatureHelp(out.model, out.pos), undefined);
    const unk = at(`${MACHINE}h = frob(‸`);
    assert.equal(signatureHelp(unk.model, unk.pos), undefined);
  });
});
