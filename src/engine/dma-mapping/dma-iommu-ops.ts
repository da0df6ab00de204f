// The dma-iommu path as a table (dma-map-ops.ts): a device whose default
// domain is a DMA API domain. v6.18 has no table for it: iommu_setup_dma_ops()
// sets dev->dma_iommu at probe and kernel/dma/mapping.c calls iommu_dma_*
// directly when use_dma_iommu(dev): mainline replaced its iommu_dma_ops table
// with those direct calls.

import type { EngineCtx } from '../context';
import type { Device } from '../device';
import { iommuIovaToPhys } from '../iommu/iommu-core';
import { DMA_MAPPING_ERROR } from '../u64';
import { DMA_DIRECT_OPS } from './dma-direct-ops';
import { DMA_ATTR_SKIP_CPU_SYNC, DMA_BIDIRECTIONAL, type DmaDirection } from './dma-direction';
import { dmaDomain, iommuDmaMapPhys, iommuDmaSyncSingleForCpu, iommuDmaSyncSingleForDevice, iommuDmaUnmapPhys } from './dma-iommu';
import { allocCoherentPages, DmaMapOps, type DmaAllocResult } from './dma-map-ops';
import { iommuDmaMapSg, iommuDmaUnmapSg, type SgTable } from './scatterlist';

/** iommu_dma_sync_sg_for_cpu: segments bounced one by one sync each; otherwise only the CPU cache of the whole list. */
function iommuDmaSyncSgForCpu(ctx: EngineCtx, dev: Device, sgt: SgTable, dir: DmaDirection): void {
  if (sgt.bouncedEach) {
    for (let i = 0; i < sgt.mappedNents; i++) iommuDmaSyncSingleForCpu(ctx, dev, sgt.entries[i].dmaAddress, sgt.entries[i].dmaLength, dir);
  } else if (!dev.coherent) {
    for (const s of sgt.entries) ctx.cache.invalidate(s.phys, Number(s.length));
  }
}

/** iommu_dma_sync_sg_for_device, the same split. */
function iommuDmaSyncSgForDevice(ctx: EngineCtx, dev: Device, sgt: SgTable, dir: DmaDirection): void {
  if (sgt.bouncedEach) {
    for (let i = 0; i < sgt.mappedNents; i++) iommuDmaSyncSingleForDevice(ctx, dev, sgt.entries[i].dmaAddress, sgt.entries[i].dmaLength, dir);
  } else if (!dev.coherent) {
    for (const s of sgt.entries) ctx.cache.clean(s.phys, Number(s.length));
  }
}

/**
 * Coherent memory behind an IOMMU: pages mapped by `mapPhys` bidirectionally
 * with no CPU sync (they are page aligned, so never bounced), or given back
 * when the device has no DMA domain or the map fails.
 */
export function allocIommuCoherent(ctx: EngineCtx, dev: Device, size: bigint, mapPhys: DmaMapOps['mapPhys']): DmaAllocResult {
  const phys = allocCoherentPages(ctx, dev, size, false);
  if (phys === null) return 'no-pages';
  const dma = dmaDomain(dev) ? mapPhys(ctx, dev, phys, size, DMA_BIDIRECTIONAL, DMA_ATTR_SKIP_CPU_SYNC).dma : DMA_MAPPING_ERROR;
  if (dma === DMA_MAPPING_ERROR) {
    ctx.pages.free(phys);
    return 'not-mapped';
  }
  return { cpu: phys, dma };
}

/** iommu_dma_alloc: pages mapped at a new IOVA. */
function iommuDmaAlloc(ctx: EngineCtx, dev: Device, size: bigint): DmaAllocResult {
  return allocIommuCoherent(ctx, dev, size, iommuDmaMapPhys);
}

/** iommu_dma_free: unmap what is still mapped, free the pages. */
function iommuDmaFree(ctx: EngineCtx, dev: Device, size: bigint, cpu: bigint, dma: bigint): void {
  const domain = dmaDomain(dev);
  if (domain && iommuIovaToPhys(domain, dma) !== 0n) iommuDmaUnmapPhys(ctx, dev, dma, size, DMA_BIDIRECTIONAL, DMA_ATTR_SKIP_CPU_SYNC);
  ctx.pages.free(cpu);
}

export const IOMMU_DMA_OPS = new DmaMapOps('dma-iommu', {
  alloc: iommuDmaAlloc,
  free: iommuDmaFree,
  mapPhys: iommuDmaMapPhys,
  unmapPhys: iommuDmaUnmapPhys,
  mapSg: iommuDmaMapSg,
  unmapSg: iommuDmaUnmapSg,
  syncSingleForCpu: iommuDmaSyncSingleForCpu,
  syncSingleForDevice: iommuDmaSyncSingleForDevice,
  syncSgForCpu: iommuDmaSyncSgForCpu,
  syncSgForDevice: iommuDmaSyncSgForDevice,
});

/**
 * The table use_dma_iommu(dev) alone picks: dma-iommu when dev->dma_iommu,
 * else dma-direct. The stacked and VDUSE tables send the calls they have no
 * function of their own for here.
 */
export function dmaIommuOrDirectOps(dev: Device): DmaMapOps {
  return dev.dmaIommu ? IOMMU_DMA_OPS : DMA_DIRECT_OPS;
}
