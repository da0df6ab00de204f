// The DMA ops of a device behind a VDUSE instance (vduse_dev.c): the
// virtio driver's map/unmap/sync/alloc/free land in the VDUSE device's
// vduse_iova_domain instead of an IOMMU page table. Up to v6.17 these were
// the vdpa device's dma_map_ops; since v6.18 the virtio core calls the same
// functions as virtio_map_ops. The generic DMA API layer (dma-mapping.ts)
// keeps its tracepoints, dma-debug and ownership tracking around them.

import type { EngineCtx } from '../context';
import type { Device } from '../device';
import type { DmaDirection } from '../dma-mapping/dma-direction';
import type { Iommu } from '../iommu/iommu-instance';
import { hex } from '../u64';
import {
  VDUSE_BOUNCE_SIZE, VDUSE_IOVA_SIZE, type VduseCoherent, type VduseIovaDomain, type VduseMapResult,
  vduseDomainAllocCoherent, vduseDomainCreate, vduseDomainFreeCoherent, vduseDomainMapPage, vduseDomainSyncSingleForCpu, vduseDomainSyncSingleForDevice, vduseDomainUnmapPage,
} from './vduse-iova-domain';

/**
 * The instance's domain, created on first use: at probe of the first device
 * behind it (vdpa_dev_add -> vduse_domain_create), or when a scenario drives
 * an instance without a device (set_map, user access). `iova_limit` in the
 * declaration is the size of the IOVA space (VDUSE_IOVA_SIZE), so the last
 * IOVA is one below it.
 */
export function vduseIommuDomain(ctx: EngineCtx, iommu: Iommu): VduseIovaDomain {
  if (!iommu.vduse) iommu.vduse = vduseDomainCreate(ctx, iommu.name, iommu.cfg.iovaLimit ?? VDUSE_IOVA_SIZE, iommu.cfg.bounceSize ?? VDUSE_BOUNCE_SIZE);
  return iommu.vduse;
}

/** The VDUSE domain the device's DMA goes through; null when it is not behind a `vduse` instance. */
export function vduseDomainOf(dev: Device): VduseIovaDomain | null {
  const near = dev.path[0];
  return near !== undefined && near.iommu.cfg.kind === 'vduse' ? near.iommu.vduse : null;
}

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
