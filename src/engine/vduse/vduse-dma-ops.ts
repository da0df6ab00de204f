// The DMA ops of a device behind a VDUSE instance (vduse_dev.c): the
// virtio driver's map/unmap/sync/alloc/free land in the VDUSE device's
// vduse_iova_domain instead of an IOMMU page table. Up to v6.17 these were
// the vdpa device's dma_map_ops (vduse_dev_dma_ops, reached through
// get_dma_ops); since v6.18 the virtio core calls the same functions as
// virtio_map_ops. VDUSE_DMA_OPS is that table (dma-map-ops.ts); the generic
// DMA API layer (dma-mapping.ts) keeps its tracepoints, dma-debug and
// ownership tracking around it.

import type { EngineCtx } from '../context';
import type { Device } from '../device';
import type { DmaDirection } from '../dma-mapping/dma-direction';
import { dmaIommuOrDirectOps } from '../dma-mapping/dma-iommu-ops';
import { coherentBytes, DmaMapOps, type DmaAllocResult } from '../dma-mapping/dma-map-ops';
import type { SgTable } from '../dma-mapping/scatterlist';
import { EINVAL, KernelBug } from '../errno';
import { iommuChainStacked } from '../iommu/iommu-chain';
import { STACKED_DMA_OPS } from '../iommu/iommu-chain-dma-ops';
import { hex } from '../u64';
import {
  type VduseCoherent, type VduseIovaDomain, type VduseMapResult,
  vduseDomainAllocCoherent, vduseDomainFreeCoherent, vduseDomainMapPage, vduseDomainOf, vduseDomainSyncSingleForCpu, vduseDomainSyncSingleForDevice, vduseDomainUnmapPage,
} from './vduse-iova-domain';

/** vduse_dev_map_page. */
export function vduseDevMapPage(ctx: EngineCtx, domain: VduseIovaDomain, phys: bigint, size: bigint, dir: DmaDirection, attrs: number): VduseMapResult {
  return ctx.trace.call('vduse_dev_map_page', { phys: hex(phys), size: Number(size) }, () => vduseDomainMapPage(ctx, domain, phys, size, dir, attrs));
}

/** vduse_dev_unmap_page. */
export function vduseDevUnmapPage(ctx: EngineCtx, domain: VduseIovaDomain, dma: bigint, size: bigint, dir: DmaDirection, attrs: number): void {
  ctx.trace.call('vduse_dev_unmap_page', { dma_addr: hex(dma), size: Number(size) }, () => vduseDomainUnmapPage(ctx, domain, dma, size, dir, attrs));
}

/** vduse_dev_sync_single_for_device. */
export function vduseDevSyncSingleForDevice(ctx: EngineCtx, domain: VduseIovaDomain, dma: bigint, size: bigint, dir: DmaDirection): void {
  ctx.trace.call('vduse_dev_sync_single_for_device', { dma_addr: hex(dma), size: Number(size) }, () => vduseDomainSyncSingleForDevice(ctx, domain, dma, size, dir));
}

/** vduse_dev_sync_single_for_cpu. */
export function vduseDevSyncSingleForCpu(ctx: EngineCtx, domain: VduseIovaDomain, dma: bigint, size: bigint, dir: DmaDirection): void {
  ctx.trace.call('vduse_dev_sync_single_for_cpu', { dma_addr: hex(dma), size: Number(size) }, () => vduseDomainSyncSingleForCpu(ctx, domain, dma, size, dir));
}

/** vduse_dev_alloc_coherent: pages and an IOVA above the bounce area, or null. */
export function vduseDevAllocCoherent(ctx: EngineCtx, domain: VduseIovaDomain, size: bigint): VduseCoherent | null {
  return ctx.trace.call('vduse_dev_alloc_coherent', { size: Number(size) }, () => vduseDomainAllocCoherent(ctx, domain, size));
}

/** vduse_dev_free_coherent: returns the physical address freed (null on the WARN path). */
export function vduseDevFreeCoherent(ctx: EngineCtx, domain: VduseIovaDomain, size: bigint, dma: bigint): bigint | null {
  return ctx.trace.call('vduse_dev_free_coherent', { dma_addr: hex(dma), size: Number(size) }, () => vduseDomainFreeCoherent(ctx, domain, size, dma));
}

/** The domain of the device the table was picked for (dma-ops-setup.ts picks it only for a device behind a `vduse` instance). */
function domainOf(dev: Device): VduseIovaDomain {
  const domain = vduseDomainOf(dev);
  if (domain === null) throw new KernelBug(`${dev.busId}: VDUSE DMA ops on a device not behind a vduse instance`);
  return domain;
}

/** dma_alloc_coherent: the domain's coherent pages, zeroed. */
function vduseOpsAlloc(ctx: EngineCtx, dev: Device, size: bigint): DmaAllocResult {
  const coh = vduseDevAllocCoherent(ctx, domainOf(dev), size);
  if (coh === null) return 'no-pages';
  ctx.mem.fill(coh.cpu, Number(coherentBytes(ctx, size)), 0);
  return coh;
}

/** The virtio core maps VDUSE buffers one page at a time: the ops have no map_sg, and the emulator reports the call instead of oopsing. */
function vduseOpsMapSg(ctx: EngineCtx, dev: Device): number {
  ctx.trace.check('vduse-no-map-sg', 'error', `${dev.busId}: dma_map_sg on a VDUSE device: its DMA ops have no map_sg, map each segment with dma_map_page`);
  return -EINVAL;
}

/**
 * The ops have no unmap_sg or sync_sg either. A table only gets there mapped
 * through another device; it is unmapped and synced as the device's path
 * would without VDUSE: stacked when it sits in a chain that has them, else
 * as use_dma_iommu(dev) says.
 */
function vduseOpsUnmapSg(ctx: EngineCtx, dev: Device, sgt: SgTable, dir: DmaDirection, attrs: number): void {
  (iommuChainStacked(dev) ? STACKED_DMA_OPS : dmaIommuOrDirectOps(dev)).unmapSg(ctx, dev, sgt, dir, attrs);
}

export const VDUSE_DMA_OPS = new DmaMapOps('vduse', {
  alloc: vduseOpsAlloc,
  free: (ctx, dev, size, _cpu, dma) => {
    vduseDevFreeCoherent(ctx, domainOf(dev), size, dma);
  },
  mapPhys: (ctx, dev, phys, size, dir, attrs) => vduseDevMapPage(ctx, domainOf(dev), phys, size, dir, attrs),
  unmapPhys: (ctx, dev, addr, size, dir, attrs) => vduseDevUnmapPage(ctx, domainOf(dev), addr, size, dir, attrs),
  mapSg: vduseOpsMapSg,
  unmapSg: vduseOpsUnmapSg,
  syncSingleForCpu: (ctx, dev, addr, size, dir) => vduseDevSyncSingleForCpu(ctx, domainOf(dev), addr, size, dir),
  syncSingleForDevice: (ctx, dev, addr, size, dir) => vduseDevSyncSingleForDevice(ctx, domainOf(dev), addr, size, dir),
  syncSgForCpu: (ctx, dev, sgt, dir) => dmaIommuOrDirectOps(dev).syncSgForCpu(ctx, dev, sgt, dir),
  syncSgForDevice: (ctx, dev, sgt, dir) => dmaIommuOrDirectOps(dev).syncSgForDevice(ctx, dev, sgt, dir),
});
