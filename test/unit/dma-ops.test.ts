// The DMA ops table of a device (dma-map-ops.ts, dma-ops-setup.ts): which
// path's table probe picks, that the DMA API goes through it, that a domain
// change picks again for every device behind the group, and that snapshots
// share the tables instead of copying them.

import { strict as assert } from 'node:assert';
import { Machine } from '../../src/engine/machine';
import { DEFAULT_PLATFORM } from '../../src/engine/platform';
import type { Device } from '../../src/engine/device';
import { DMA_DIRECT_OPS } from '../../src/engine/dma-mapping/dma-direct-ops';
import { DMA_TO_DEVICE } from '../../src/engine/dma-mapping/dma-direction';
import { IOMMU_DMA_OPS } from '../../src/engine/dma-mapping/dma-iommu-ops';
import { dmaAllocCoherent, dmaMapPhys } from '../../src/engine/dma-mapping/dma-mapping';
import { iommuChainIovaToPhys } from '../../src/engine/iommu/iommu-chain';
import { STACKED_DMA_OPS } from '../../src/engine/iommu/iommu-chain-dma-ops';
import { iommuAttachDevice, iommuDetachDevice, iommuDomainAlloc, iommuIovaToPhys } from '../../src/engine/iommu/iommu-core';
import type { IommuDomain } from '../../src/engine/iommu/iommu-domain';
import { inspectDevice } from '../../src/engine/inspect';
import { DMA_MAPPING_ERROR } from '../../src/engine/u64';
import { VDUSE_DMA_OPS } from '../../src/engine/vduse/vduse-dma-ops';

function machine(): Machine {
  return new Machine({ ...DEFAULT_PLATFORM, memory: [{ start: 0x8000_0000n, end: 0x2_0000_0000n }], swiotlb: 0n });
}

function page(m: Machine): bigint {
  const b = m.allocPages(0, 'buf');
  assert.ok(b);
  return b.phys;
}

function domainOf(d: IommuDomain | number): IommuDomain {
  if (typeof d === 'number') throw new Error(`allocation failed: ${d}`);
  return d;
}

/** dma_map_phys of one page, and the names of the calls it made (returns left out). */
function mapPage(m: Machine, dev: Device, phys: bigint): { h: bigint; calls: string[] } {
  const before = m.trace.events.length;
  const h = dmaMapPhys(m, dev, phys, 4096n, DMA_TO_DEVICE, 0);
  return { h, calls: m.trace.events.slice(before).filter((e) => e.kind === 'call').map((e) => e.name) };
}

/** An imaging MMU in front of VT-d, each with the given default domain type; `group` puts the device in a named group on both. */
function chain(m: Machine, name: string, policies: ('dma' | 'identity')[], group?: string): Device {
  if (!m.iommus.has('ipu_mmu')) {
    m.addIommu({ name: 'ipu_mmu', kind: 'generic', granule: 4096n, levels: 2, ias: 32, iotlb: 0 }, 1);
    m.addIommu({ name: 'v', kind: 'intel-vtd', aw: 48, iotlb: 0 }, 2);
  }
  return m.addDevice({ name, bus: 'pci', busId: `0000:00:0${m.devices.size + 5}.0`, iommus: ['ipu_mmu', 'v'], dmaMask: 32, defaultDomain: policies, ...(group ? { group } : {}) }, 3);
}

describe('DMA ops: one table a path, picked at probe', () => {
  it('gives each path its table, and dma_map_phys calls that path only', () => {
    const m = machine();
    m.addIommu({ name: 'smmu0', kind: 'arm-smmu-v3' }, 1);
    m.addIommu({ name: 'vd0', kind: 'vduse' }, 2);
    const eth = m.addDevice({ name: 'eth0', bus: 'pci', busId: '0000:02:00.0', iommus: [], dmaMask: 64 }, 3);
    const gpu = m.addDevice({ name: 'gpu', bus: 'pci', busId: '0000:03:00.0', iommus: ['smmu0'], dmaMask: 64, defaultDomain: ['identity'] }, 4);
    const nvme = m.addDevice({ name: 'nvme', bus: 'pci', busId: '0000:04:00.0', iommus: ['smmu0'], dmaMask: 64, defaultDomain: ['dma'] }, 5);
    const vblk = m.addDevice({ name: 'vblk', bus: 'virtio', busId: 'vduse-blk0', iommus: ['vd0'] }, 6);
    assert.equal(eth.dmaOps, DMA_DIRECT_OPS);
    assert.equal(gpu.dmaOps, DMA_DIRECT_OPS, 'an identity default domain leaves dev->dma_iommu clear');
    assert.equal(nvme.dmaOps, IOMMU_DMA_OPS);
    assert.equal(vblk.dmaOps, VDUSE_DMA_OPS);
    assert.deepEqual([eth, gpu, nvme, vblk].map((d) => inspectDevice(d).dmaOps), ['dma-direct', 'dma-direct', 'dma-iommu', 'vduse']);

    const phys = page(m);
    const direct = mapPage(m, eth, phys);
    assert.equal(direct.h, phys, 'dma-direct: the DMA address is the physical one');
    assert.deepEqual(direct.calls, ['dma_map_phys', 'dma_direct_map_phys']);
    const iommu = mapPage(m, nvme, phys);
    assert.notEqual(iommu.h, phys);
    assert.equal(iommuIovaToPhys(nvme.path[0].group.domain as IommuDomain, iommu.h), phys);
    assert.equal(iommu.calls.slice(0, 2).join(' '), 'dma_map_phys iommu_dma_map_phys');
    assert.equal(iommu.calls.includes('dma_direct_map_phys'), false);
    const vduse = mapPage(m, vblk, phys);
    assert.equal(vduse.calls.slice(0, 2).join(' '), 'dma_map_phys vduse_dev_map_page');
    assert.ok(vduse.h < 64n << 20n, `a VDUSE streaming IOVA lies in the bounce area, got ${vduse.h.toString(16)}`);
  });

  it('gives a chain with a DMA API domain the stacked table, and one in passthrough all along dma-direct', () => {
    const m = machine();
    const ipu = chain(m, 'ipu', ['dma', 'dma']);
    const cam = chain(m, 'cam', ['identity', 'identity']);
    assert.equal(ipu.dmaOps, STACKED_DMA_OPS);
    assert.equal(inspectDevice(ipu).dmaOps, 'dma-iommu (stacked)');
    assert.equal(cam.dmaOps, DMA_DIRECT_OPS);
    const phys = page(m);
    const { h } = mapPage(m, ipu, phys);
    assert.equal(iommuChainIovaToPhys(ipu, 0, h), phys);
    assert.notEqual(iommuIovaToPhys(ipu.path[0].group.domain as IommuDomain, h), phys, 'the MMU maps to a VT-d IOVA, not to the page');
    assert.equal(mapPage(m, cam, phys).h, phys);
  });
});

describe('DMA ops: a domain change picks again', () => {
  it('drops the stacked table while no IOMMU of the chain has a DMA API domain, and takes it back on detach', () => {
    const m = machine();
    const ipu = chain(m, 'ipu', ['dma', 'dma']);
    const near = domainOf(iommuDomainAlloc(m, ipu.path[0].iommu, 'unmanaged', 'near'));
    const far = domainOf(iommuDomainAlloc(m, ipu.path[1].iommu, 'unmanaged', 'far'));
    const phys = page(m);
    assert.equal(iommuAttachDevice(m, near, ipu), 0);
    assert.equal(ipu.dmaOps, STACKED_DMA_OPS, 'VT-d still has its DMA domain');
    assert.equal(iommuAttachDevice(m, far, ipu), 0);
    assert.equal(ipu.dmaOps, IOMMU_DMA_OPS, 'no DMA API domain left: dev->dma_iommu, set at probe, decides');
    const lost = mapPage(m, ipu, phys);
    assert.equal(lost.h, DMA_MAPPING_ERROR, 'the unmanaged domain has no IOVA allocator to map with');
    assert.equal(lost.calls.join(' '), 'dma_map_phys iommu_dma_map_phys');
    assert.equal(iommuDetachDevice(m, far, ipu), 0);
    assert.equal(ipu.dmaOps, STACKED_DMA_OPS);
    assert.equal(iommuDetachDevice(m, near, ipu), 0);
    const back = mapPage(m, ipu, phys);
    assert.equal(iommuChainIovaToPhys(ipu, 0, back.h), phys);
  });

  it('picks again for every device behind the group, not only the one detached', () => {
    const m = machine();
    const first = chain(m, 'ipu', ['dma', 'dma'], 'cam');
    const near = domainOf(iommuDomainAlloc(m, first.path[0].iommu, 'unmanaged', 'near'));
    const far = domainOf(iommuDomainAlloc(m, first.path[1].iommu, 'unmanaged', 'far'));
    assert.equal(iommuAttachDevice(m, near, first), 0);
    assert.equal(iommuAttachDevice(m, far, first), 0);
    // A second device joins both groups while they hold the unmanaged domains: nothing to stack through.
    const second = chain(m, 'ipu2', ['dma', 'dma'], 'cam');
    assert.equal(second.path[1].group, first.path[1].group);
    assert.equal(second.dmaOps, DMA_DIRECT_OPS);
    assert.equal(iommuDetachDevice(m, far, first), 0);
    assert.equal(second.dmaOps, STACKED_DMA_OPS, "VT-d's DMA domain is back for the whole group");
    assert.equal(first.dmaOps, STACKED_DMA_OPS);
  });
});

describe('DMA ops: snapshots', () => {
  it('keep the table itself, so a restored device maps through the same functions', () => {
    const m = machine();
    m.addIommu({ name: 'smmu0', kind: 'arm-smmu-v3' }, 1);
    const nvme = m.addDevice({ name: 'nvme', bus: 'pci', busId: '0000:04:00.0', iommus: ['smmu0'], dmaMask: 64, defaultDomain: ['dma'] }, 2);
    const phys = page(m);
    const back = Machine.restore(m.snapshot(), m.trace);
    const dev = back.devices.get('nvme');
    assert.ok(dev && dev !== nvme);
    assert.equal(dev.dmaOps, IOMMU_DMA_OPS, 'the same table, not a copy of it');
    const h = dmaMapPhys(back, dev, phys, 4096n, DMA_TO_DEVICE, 0);
    assert.equal(iommuIovaToPhys(dev.path[0].group.domain as IommuDomain, h), phys);
    const coh = dmaAllocCoherent(back, dev, 4096n);
    assert.ok(coh);
    assert.equal(iommuIovaToPhys(dev.path[0].group.domain as IommuDomain, coh.dma), coh.cpu);
  });
});
