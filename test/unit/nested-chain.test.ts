// Nested (two-stage) domains and IOMMUs in series: walk costs, where the
// tables live, which stage and level a fault names, IOTLB tagging and the
// stacked DMA ops of a chain.

import { strict as assert } from 'node:assert';
import { Machine } from '../../src/engine/machine';
import { DEFAULT_PLATFORM } from '../../src/engine/platform';
import { devRead, devWrite, probeDma } from '../../src/engine/device-access';
import { dmaAllocCoherent, dmaFreeCoherent, dmaMapPhys, dmaMapSg, dmaUnmapPhys, dmaUnmapSg } from '../../src/engine/dma-mapping/dma-mapping';
import { DMA_BIDIRECTIONAL, DMA_TO_DEVICE } from '../../src/engine/dma-mapping/dma-direction';
import { SgTable } from '../../src/engine/dma-mapping/scatterlist';
import { iommuAttachDevice, iommuFlushIotlbAll, iommuIovaToPhys, iommuMap, iommuPagingDomainAlloc, iommuUnmap } from '../../src/engine/iommu/iommu-core';
import type { IommuDomain } from '../../src/engine/iommu/iommu-domain';
import { GuestTableMemory, iommuNestedDomainAlloc } from '../../src/engine/iommu/iommu-nested';
import { iommuChainIovaToPhys } from '../../src/engine/iommu/iommu-chain';
import type { IommuKind } from '../../src/engine/iommu/iommu-kinds';
import { IOMMU_READ, IOMMU_WRITE } from '../../src/engine/io-pgtable/types';
import { EINVAL, EOPNOTSUPP } from '../../src/engine/errno';
import { cloneState } from '../../src/engine/snapshot';
import { DMA_MAPPING_ERROR } from '../../src/engine/u64';
import { runScenario } from '../../src/lang/run';

const RW = IOMMU_READ | IOMMU_WRITE;
const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

function machine(): Machine {
  return new Machine({ ...DEFAULT_PLATFORM, memory: [{ start: 0x8000_0000n, end: 0x4_0000_0000n }], swiotlb: 0n });
}

function domainOf(d: IommuDomain | number): IommuDomain {
  if (typeof d === 'number') throw new Error(`allocation failed: ${d}`);
  return d;
}

/** A device behind one IOMMU with an identity default domain, a nest parent and a nested domain attached. */
function nestedSetup(kind: IommuKind, cfg: { ias?: number; oas?: number; aw?: number; iotlb?: number } = {}) {
  const m = machine();
  m.addIommu({ name: 'io0', kind, granule: 4096n, ...cfg }, 1);
  const dev = m.addDevice({ name: 'gpu', bus: 'pci', busId: '0000:03:00.0', iommus: ['io0'], defaultDomain: ['identity'] }, 2);
  const s2 = domainOf(iommuPagingDomainAlloc(m, dev, 's2', true));
  const s1 = domainOf(iommuNestedDomainAlloc(m, s2, dev, 's1'));
  assert.equal(iommuAttachDevice(m, s1, dev), 0, 'a nested domain attaches over an identity default domain');
  const page = m.allocPages(0, 'page');
  assert.ok(page);
  m.cpuWrite(page.phys, bytes('nested'));
  return { m, dev, s1, s2, page };
}

describe('nested domains: two-stage walks', () => {
  it('4-level stage 1 over 4-level stage 2 costs 24 accesses, each stage-1 read carrying its 4-read stage-2 walk', () => {
    const { m, dev, s1, s2, page } = nestedSetup('arm-smmu-v3', { ias: 48, oas: 48, iotlb: 64 });
    assert.equal(iommuMap(m, s2, 0x4000_0000n, page.phys, 4096n, RW), 0);
    assert.equal(iommuMap(m, s1, 0x1000n, 0x4000_0000n, 4096n, RW), 0);
    const t = probeDma(m, dev, 0x1000n, null, null);
    assert.equal(t.phys, page.phys);
    assert.equal(t.accesses, 24);
    assert.equal(t.iotlbHit, false);
    assert.deepEqual(t.steps.map((s) => [s.stage, s.level]), [[1, 0], [1, 1], [1, 2], [1, 3], [2, 0], [2, 1], [2, 2], [2, 3]]);
    for (const s of t.steps.slice(0, 4)) {
      assert.equal(s.nested?.accesses, 4);
      assert.deepEqual(s.nested?.steps.map((n) => n.stage), [2, 2, 2, 2]);
      // The stage-1 descriptor address is an IPA; stage 2 turned it into the host page that holds it.
      assert.equal(s.nested?.phys !== undefined && s.nested.phys !== s.descAddr, true);
    }
    // The final stage-2 walk translates the IPA the stage-1 leaf gave.
    assert.equal(t.steps[3].desc & 0xffff_ffff_f000n, 0x4000_0000n);
    assert.equal(iommuIovaToPhys(s1, 0x1000n), 0x4000_0000n, 'iova_to_phys of a nested domain is the guest view: the IPA');
  });

  it('3-level over 3-level (ias 39, oas 39 read back as IDR5 40) costs 15, and a write to a read-only stage 1 is a stage-1 level-3 permission fault', () => {
    const { m, dev, s1, s2, page } = nestedSetup('arm-smmu-v3', { ias: 39, oas: 39, iotlb: 0 });
    assert.equal(s2.ops?.levels, 3);
    assert.equal(s1.ops?.levels, 3);
    iommuMap(m, s2, 0x4000_0000n, page.phys, 4096n, RW);
    iommuMap(m, s1, 0x2000n, 0x4000_0000n, 4096n, IOMMU_READ);
    assert.equal(probeDma(m, dev, 0x2000n, null, null).accesses, 15);
    assert.equal(text(devRead(m, dev, 0x2000n, 6, null).bytes), 'nested');
    const w = probeDma(m, dev, 0x2000n, null, 'write');
    assert.equal(w.phys, undefined);
    assert.deepEqual(w.faultAt, { iommu: 'io0', stage: 1, level: 3, reason: 'permission' });
    assert.match(w.fault ?? '', /stage-1 permission fault at level 3: write to 0x2000/);
    assert.equal(devWrite(m, dev, 0x2000n, bytes('x'), null).faulted, true);
  });

  it('a read-only stage 2 under a writable stage 1 refuses the write at stage 2', () => {
    const { m, dev, s1, s2, page } = nestedSetup('arm-smmu-v3', { iotlb: 0 });
    iommuMap(m, s2, 0x4000_0000n, page.phys, 4096n, IOMMU_READ);
    iommuMap(m, s1, 0x1000n, 0x4000_0000n, 4096n, RW);
    const w = probeDma(m, dev, 0x1000n, null, 'write');
    assert.deepEqual(w.faultAt, { iommu: 'io0', stage: 2, level: 3, reason: 'permission' });
    assert.match(w.fault ?? '', /IPA 0x40000000 stage 2 maps read-only/);
  });

  it('names a stage-2 fault on the final IPA, and one on a stage-1 descriptor fetch whose table page stage 2 stopped mapping', () => {
    const { m, dev, s1, s2 } = nestedSetup('arm-smmu-v3', { iotlb: 0 });
    iommuMap(m, s1, 0x1000n, 0x4000_0000n, 4096n, RW);
    const miss = probeDma(m, dev, 0x1000n, null, 'read');
    // Stage 2 maps only the guest's table pages, at the top of the IPA space: the IPA's level-0 entry is empty.
    assert.deepEqual(miss.faultAt, { iommu: 'io0', stage: 2, level: 0, reason: 'translation' });
    assert.equal(miss.accesses, 21, 'the 20-access stage-1 walk, then one stage-2 read');
    assert.match(miss.fault ?? '', /stage-2 translation fault at level 0 on IPA 0x40000000/);

    // The guest's root table sits at the top of the IPA space; the VMM mapped it in stage 2.
    const guest = (s1.ops as unknown as { hooks: { mem: GuestTableMemory } }).hooks.mem;
    assert.ok(guest instanceof GuestTableMemory);
    const root = s1.ops?.root ?? 0n;
    assert.equal(root, 0xffff_ffff_f000n);
    assert.equal(iommuIovaToPhys(s2, root), guest.backing.get(root));
    assert.equal(iommuUnmap(m, s2, root, 4096n), 4096n);
    const fetch = probeDma(m, dev, 0x1000n, null, 'read');
    assert.deepEqual(fetch.faultAt, { iommu: 'io0', stage: 2, level: 3, reason: 'translation' });
    assert.equal(fetch.accesses, 4, 'only the failed stage-2 walk of the root descriptor');
    assert.match(fetch.fault ?? '', /on IPA 0xfffffffff000, fetching the stage-1 level-0 descriptor \(the guest's table page is not mapped/);
    // Mapped back write-only: the SMMU may not read the guest's table, a stage-2 permission fault on the fetch.
    assert.equal(iommuMap(m, s2, root, guest.backing.get(root) ?? 0n, 4096n, IOMMU_WRITE), 0);
    const perm = probeDma(m, dev, 0x1000n, null, 'read');
    assert.deepEqual(perm.faultAt, { iommu: 'io0', stage: 2, level: 3, reason: 'permission' });
    assert.match(perm.fault ?? '', /stage-2 permission fault at level 3 on IPA 0xfffffffff000, fetching the stage-1 level-0 descriptor \(stage 2 maps the guest's table page without read access\)/);
  });

  it('caches the combined translation tagged by the nested domain; stage-2 invalidations of the parent drop it (TLBI_NH_ALL)', () => {
    const { m, dev, s1, s2, page } = nestedSetup('arm-smmu-v3', { iotlb: 64 });
    iommuMap(m, s2, 0x4000_0000n, page.phys, 4096n, RW);
    iommuMap(m, s2, 0x5000_0000n, page.phys, 4096n, RW);
    iommuMap(m, s1, 0x1000n, 0x4000_0000n, 4096n, RW);
    assert.equal(text(devRead(m, dev, 0x1000n, 6, null).bytes), 'nested');
    const entry = [...s1.iommu.iotlb.entries.values()].find((e) => e.domainId === s1.id);
    assert.deepEqual(entry && { iova: entry.iova, phys: entry.phys, s2: entry.s2DomainId }, { iova: 0x1000n, phys: page.phys, s2: s2.id });
    const warm = probeDma(m, dev, 0x1000n, null, null);
    assert.equal(warm.iotlbHit, true);
    assert.equal(warm.accesses, 0);
    // An unrelated IPA range: the hardware cannot tell which stage-1 entries used it, so all go.
    iommuUnmap(m, s2, 0x5000_0000n, 4096n);
    assert.equal(probeDma(m, dev, 0x1000n, null, null).iotlbHit, false);
    devRead(m, dev, 0x1000n, 1, null);
    iommuFlushIotlbAll(m, s2);
    assert.equal(probeDma(m, dev, 0x1000n, null, null).iotlbHit, false);
    // The guest's own invalidation (iommu_unmap on the nested domain) drops the entry too, and the walk then faults at stage 1.
    devRead(m, dev, 0x1000n, 1, null);
    assert.equal(iommuUnmap(m, s1, 0x1000n, 4096n), 4096n);
    const gone = probeDma(m, dev, 0x1000n, null, null);
    assert.equal(gone.iotlbHit, false);
    assert.deepEqual(gone.faultAt, { iommu: 'io0', stage: 1, level: 3, reason: 'translation' });
  });

  it('VT-d: first-stage guest tables over a second-stage parent, 24 accesses, steps labelled 1 and 2', () => {
    const { m, dev, s1, s2, page } = nestedSetup('intel-vtd', { aw: 48, iotlb: 0 });
    assert.equal(s1.fmt, 'vtd-first');
    assert.equal(s2.fmt, 'vtd-second');
    iommuMap(m, s2, 0x4000_0000n, page.phys, 4096n, RW);
    iommuMap(m, s1, 0x1000n, 0x4000_0000n, 4096n, RW);
    const t = probeDma(m, dev, 0x1000n, null, 'read');
    assert.equal(t.phys, page.phys);
    assert.equal(t.accesses, 24);
    assert.deepEqual(t.steps.map((s) => s.stage), [1, 1, 1, 1, 2, 2, 2, 2]);
    assert.deepEqual(t.steps[0].nested?.steps.map((s) => s.stage), [2, 2, 2, 2]);
  });

  it('refuses a parent that is not a nest parent, a device behind another IOMMU, and drivers without nesting', () => {
    const m = machine();
    m.addIommu({ name: 'smmu0', kind: 'arm-smmu-v3' }, 1);
    m.addIommu({ name: 'smmu1', kind: 'arm-smmu-v3' }, 2);
    m.addIommu({ name: 'amd0', kind: 'amd-vi' }, 3);
    const a = m.addDevice({ name: 'a', bus: 'pci', busId: '0000:01:00.0', iommus: ['smmu0'], defaultDomain: ['identity'] }, 4);
    const b = m.addDevice({ name: 'b', bus: 'pci', busId: '0000:02:00.0', iommus: ['smmu1'], defaultDomain: ['identity'] }, 5);
    const c = m.addDevice({ name: 'c', bus: 'pci', busId: '0000:03:00.0', iommus: ['amd0'], defaultDomain: ['identity'] }, 6);
    const plain = domainOf(iommuPagingDomainAlloc(m, a, 'plain', false));
    const parent = domainOf(iommuPagingDomainAlloc(m, a, 'parent', true));
    assert.equal(iommuNestedDomainAlloc(m, plain, a, 'n'), -EINVAL);
    assert.equal(iommuNestedDomainAlloc(m, parent, b, 'n'), -EINVAL);
    assert.equal(iommuNestedDomainAlloc(m, domainOf(iommuPagingDomainAlloc(m, c, 'amdp', true)), c, 'n'), -EOPNOTSUPP);
    assert.equal(typeof iommuNestedDomainAlloc(m, parent, a, 'n', 36, 4096n), 'object');
  });

  it('survives a snapshot: the clone walks its own copy of the guest tables', () => {
    const { m, dev, s1, s2, page } = nestedSetup('arm-smmu-v3', { iotlb: 0 });
    iommuMap(m, s2, 0x4000_0000n, page.phys, 4096n, RW);
    iommuMap(m, s1, 0x1000n, 0x4000_0000n, 4096n, RW);
    const snap = m.snapshot();
    iommuUnmap(m, s1, 0x1000n, 4096n);
    const back = Machine.restore(snap, m.trace);
    const gpu = back.devices.get('gpu');
    assert.ok(gpu);
    assert.equal(probeDma(back, gpu, 0x1000n, null, null).accesses, 24);
    assert.equal(probeDma(m, dev, 0x1000n, null, null).phys, undefined);
    assert.equal(cloneState(back) instanceof Machine, true);
  });
});

describe('IOMMUs in series: stacked DMA ops and translated table reads', () => {
  function chainSetup(policies: ('dma' | 'identity')[], far: 'v' | 'b,v' = 'v') {
    const m = machine();
    m.addIommu({ name: 'ipu_mmu', kind: 'generic', granule: 4096n, levels: 2, ias: 32, iotlb: 0 }, 1);
    m.addIommu({ name: 'b', kind: 'generic', granule: 4096n, levels: 2, ias: 32, iotlb: 0 }, 2);
    m.addIommu({ name: 'v', kind: 'intel-vtd', aw: 48, iotlb: 0 }, 3);
    const iommus = far === 'v' ? ['ipu_mmu', 'v'] : ['ipu_mmu', 'b', 'v'];
    const dev = m.addDevice({ name: 'ipu', bus: 'pci', busId: '0000:00:05.0', iommus, coherent: false, dmaMask: 32, defaultDomain: policies }, 4);
    const page = m.allocPages(0, 'page');
    assert.ok(page);
    m.cpuWrite(page.phys, bytes('frame!'));
    const domains = dev.path.map((p) => p.group.domain as IommuDomain);
    return { m, dev, page, domains };
  }

  it('maps at VT-d first and then at the MMU; 14 accesses = 2 MMU reads each behind a 4-read VT-d walk, plus 4', () => {
    const { m, dev, page, domains } = chainSetup(['dma', 'dma']);
    const [near, far] = domains;
    // The MMU's root table is DMA-mapped through VT-d: its address is a VT-d IOVA backed by another host page.
    const root = near.ops?.root ?? 0n;
    assert.notEqual(iommuIovaToPhys(far, root), 0n);
    assert.notEqual(iommuIovaToPhys(far, root), root);
    const h = dmaMapPhys(m, dev, page.phys, 4096n, DMA_TO_DEVICE, 0);
    assert.equal(h, 0xfffff000n);
    const farIova = iommuIovaToPhys(near, h);
    assert.notEqual(farIova, page.phys, 'the MMU outputs a VT-d IOVA, not the physical address');
    assert.equal(iommuIovaToPhys(far, farIova), page.phys);
    const t = probeDma(m, dev, h, null, 'read');
    assert.equal(t.phys, page.phys);
    assert.equal(t.accesses, 14);
    assert.deepEqual(t.steps.map((s) => [s.stage, s.level]), [[1, 1], [1, 2], [2, 4], [2, 3], [2, 2], [2, 1]]);
    assert.equal(t.steps[0].table, root);
    assert.deepEqual(t.steps[0].nested?.steps.map((s) => s.stage), [2, 2, 2, 2]);
    assert.equal(t.steps[0].nested?.phys, iommuIovaToPhys(far, root) + BigInt(t.steps[0].index) * 8n);
    assert.equal(text(devRead(m, dev, h, 6, null).bytes), 'frame!');
    // Unmap goes the other way: the MMU's mapping, then VT-d's.
    const before = m.trace.events.length;
    dmaUnmapPhys(m, dev, h, 4096n, DMA_TO_DEVICE, 0);
    const unmaps = m.trace.events.slice(before).filter((e) => e.kind !== 'return' && e.name === 'iommu_dma_unmap_phys').map((e) => e.fields.iommu);
    assert.deepEqual(unmaps, ['ipu_mmu', 'v']);
    assert.equal(iommuIovaToPhys(near, h), 0n);
    assert.equal(iommuIovaToPhys(far, farIova), 0n);
    assert.equal(probeDma(m, dev, h, null, 'read').faultAt?.iommu, 'ipu_mmu');
  });

  it('with VT-d in passthrough only the MMU walk remains: 2 accesses, tables at physical addresses', () => {
    const { m, dev, page, domains } = chainSetup(['dma', 'identity']);
    const h = dmaMapPhys(m, dev, page.phys, 4096n, DMA_TO_DEVICE, 0);
    assert.equal(iommuIovaToPhys(domains[0], h), page.phys);
    const t = probeDma(m, dev, h, null, 'read');
    assert.equal(t.accesses, 2);
    assert.equal(t.steps.every((s) => s.nested === undefined), true);
    assert.equal(m.mem.isRam(domains[0].ops?.root ?? 0n), true);
  });

  it('a passthrough MMU in front of VT-d leaves VT-d\'s walk only', () => {
    const { m, dev, page } = chainSetup(['identity', 'dma']);
    const h = dmaMapPhys(m, dev, page.phys, 4096n, DMA_TO_DEVICE, 0);
    assert.notEqual(h, DMA_MAPPING_ERROR);
    const t = probeDma(m, dev, h, null, 'read');
    assert.equal(t.phys, page.phys);
    assert.equal(t.accesses, 4);
  });

  it('three in series compound: 2 reads x (14 + 1) + 14 = 44', () => {
    const { m, dev, page } = chainSetup(['dma', 'dma', 'dma'], 'b,v');
    const h = dmaMapPhys(m, dev, page.phys, 4096n, DMA_BIDIRECTIONAL, 0);
    assert.equal(iommuChainIovaToPhys(dev, 0, h), page.phys);
    assert.equal(probeDma(m, dev, h, null, 'write').accesses, 44);
    assert.equal(devWrite(m, dev, h, bytes('ok'), null).faulted, false);
  });

  it('a table read VT-d cannot translate is a fault of the walk, located in VT-d', () => {
    const { m, dev, page, domains } = chainSetup(['dma', 'dma']);
    const h = dmaMapPhys(m, dev, page.phys, 4096n, DMA_TO_DEVICE, 0);
    const root = domains[0].ops?.root ?? 0n;
    iommuUnmap(m, domains[1], root, 0x4000n);
    const t = probeDma(m, dev, h, null, 'read');
    assert.equal(t.phys, undefined);
    assert.deepEqual(t.faultAt, { iommu: 'v', stage: 2, level: 1, reason: 'translation' });
    assert.match(t.fault ?? '', /ipu_mmu: its level-1 table read at 0x[0-9a-f]+ failed upstream \(v: translation fault at level 1/);
    assert.equal(t.accesses, 4);
  });

  it('coherent allocations and scatterlists go through the whole chain and leave nothing mapped', () => {
    const { m, dev, domains } = chainSetup(['dma', 'dma']);
    const coh = dmaAllocCoherent(m, dev, 8192n);
    assert.ok(coh);
    assert.equal(probeDma(m, dev, coh.dma + 0x1000n, null, 'write').phys, coh.cpu + 0x1000n);
    dmaFreeCoherent(m, dev, 8192n, coh);
    assert.equal(iommuIovaToPhys(domains[0], coh.dma), 0n);
    const a = m.allocPages(0, 'a');
    const b = m.allocPages(0, 'b');
    assert.ok(a && b);
    const sgt = new SgTable([{ phys: a.phys, length: 4096n }, { phys: b.phys, length: 4096n }], 9);
    assert.equal(dmaMapSg(m, dev, sgt, DMA_BIDIRECTIONAL, 0), 2);
    assert.equal(probeDma(m, dev, sgt.entries[1].dmaAddress, null, 'read').phys, b.phys);
    dmaUnmapSg(m, dev, sgt, DMA_BIDIRECTIONAL, 0);
    assert.equal(iommuIovaToPhys(domains[0], sgt.entries[1].dmaAddress), 0n);
    assert.equal(m.mappings.live.size, 0);
  });
});

describe('iommu_nested_domain_alloc builtin', () => {
  it('takes ias and granule by position or by name and returns -errno on refusal', () => {
    const r = runScenario(`platform { page_size = 4K; memory = 0x8000_0000 .. 0x2_0000_0000; swiotlb = 0 }
iommu smmu0 : arm-smmu-v3 { ias = 48; oas = 48; iotlb = 0 }
device gpu : pci "0000:03:00.0" { iommu = smmu0; default_domain = identity }
s2 = iommu_paging_domain_alloc(gpu, nest_parent = true)
p = iommu_paging_domain_alloc(gpu)
s1 = iommu_nested_domain_alloc(s2, gpu, ias = 39)
expect iommu_attach_device(s1, gpu) == 0
page = alloc_pages(0)
iommu_map(s2, 0x4000_0000, page.phys, 4K, IOMMU_READ)
iommu_map(s1, 0x1000, 0x4000_0000, 4K, IOMMU_READ)
expect translate(gpu, 0x1000).accesses == 19
expect translate(gpu, 0x1000).phys == page.phys
expect iommu_nested_domain_alloc(p, gpu) == -EINVAL
t = iommu_nested_domain_alloc(s2, gpu, 48, 4K)
`, 't.dmas');
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.expectations.map((e) => e.passed), [true, true, true, true]);
  });
});
