// kernel/dma/direct.c: no IOMMU (or an identity domain). The DMA address is
// the physical address; swiotlb bounces what the device cannot reach, what
// is forced, and small kmalloc buffers on non-coherent devices.

import type { EngineCtx } from '../context';
import type { Device } from '../device';
import { DMA_MAPPING_ERROR, fmtPa } from '../u64';
import { archSyncDmaForCpu, archSyncDmaForDevice } from './arch-sync';
import { DMA_ATTR_MMIO, DMA_ATTR_SKIP_CPU_SYNC, DMA_TO_DEVICE, type DmaDirection } from './dma-direction';
import { isSwiotlbBuffer, swiotlbActive, swiotlbSyncSingleForCpu, swiotlbSyncSingleForDevice, swiotlbTblMapSingle, swiotlbTblUnmapSingle } from './swiotlb-glue';

/** dma_capable(): the whole range is below the device's mask. */
export function dmaCapable(dev: Device, addr: bigint, size: bigint): boolean {
  if (addr === DMA_MAPPING_ERROR) return false;
  return addr + size - 1n <= dev.dmaMask;
}

/** dma_kmalloc_needs_bounce(): a non-coherent device, not TO_DEVICE, and a size whose kmalloc cache is not cache-line aligned. */
export function dmaKmallocNeedsBounce(ctx: EngineCtx, dev: Device, size: bigint, dir: DmaDirection): boolean {
  // dma_kmalloc_safe(): coherent devices and TO_DEVICE never need it.
  if (dev.coherent || dir === DMA_TO_DEVICE) return false;
  // dma_kmalloc_size_aligned(): sizes of two cache lines or more are aligned, smaller ones when their kmalloc cache is.
  const line = ctx.platform.cacheLine;
  if (size >= BigInt(2 * line)) return false;
  return ctx.pages.kmallocSizeRoundup(Number(size)) % line !== 0;
}

function overflow(ctx: EngineCtx, dev: Device, what: string, addr: bigint, size: bigint): bigint {
  const text = `${dev.driver} ${dev.busId}: ${what} ${fmtPa(addr)}+${size} overflow (mask ${dev.dmaMask.toString(16)}, bus limit 0).`;
  ctx.trace.printk(text);
  ctx.trace.check('dma-overflow', 'error', text);
  return DMA_MAPPING_ERROR;
}

/** swiotlb_map(): bounce, then check the bounce buffer is reachable. */
function swiotlbMap(ctx: EngineCtx, dev: Device, phys: bigint, size: bigint, dir: DmaDirection, attrs: number): bigint {
  const tlb = swiotlbTblMapSingle(ctx, dev, phys, size, 0n, dir, attrs, phys);
  if (tlb === DMA_MAPPING_ERROR) return tlb;
  if (!dmaCapable(dev, tlb, size)) {
    swiotlbTblUnmapSingle(ctx, dev, tlb, size, dir, attrs | DMA_ATTR_SKIP_CPU_SYNC);
    return overflow(ctx, dev, 'swiotlb addr', tlb, size);
  }
  if (!dev.coherent && (attrs & DMA_ATTR_SKIP_CPU_SYNC) === 0) archSyncDmaForDevice(ctx, tlb, size, dir);
  return tlb;
}

export function dmaDirectMapPhys(ctx: EngineCtx, dev: Device, phys: bigint, size: bigint, dir: DmaDirection, attrs: number): bigint {
  return ctx.trace.call('dma_direct_map_phys', { device: dev.busId, phys: phys, size: Number(size) }, () => {
    const mmio = (attrs & DMA_ATTR_MMIO) !== 0;
    if (ctx.platform.swiotlbForce && swiotlbActive(ctx)) return mmio ? DMA_MAPPING_ERROR : swiotlbMap(ctx, dev, phys, size, dir, attrs);
    if (!dmaCapable(dev, phys, size) || (!mmio && dmaKmallocNeedsBounce(ctx, dev, size, dir))) {
      if (swiotlbActive(ctx) && !mmio) return swiotlbMap(ctx, dev, phys, size, dir, attrs);
      return overflow(ctx, dev, 'DMA addr', phys, size);
    }
    if (!dev.coherent && (attrs & (DMA_ATTR_SKIP_CPU_SYNC | DMA_ATTR_MMIO)) === 0) archSyncDmaForDevice(ctx, phys, size, dir);
    return phys;
  });
}

export function dmaDirectSyncSingleForCpu(ctx: EngineCtx, dev: Device, addr: bigint, size: bigint, dir: DmaDirection): void {
  if (!dev.coherent) archSyncDmaForCpu(ctx, addr, size, dir);
  swiotlbSyncSingleForCpu(ctx, dev, addr, size, dir);
}

export function dmaDirectSyncSingleForDevice(ctx: EngineCtx, dev: Device, addr: bigint, size: bigint, dir: DmaDirection): void {
  swiotlbSyncSingleForDevice(ctx, dev, addr, size, dir);
  if (!dev.coherent) archSyncDmaForDevice(ctx, addr, size, dir);
}

export function dmaDirectUnmapPhys(ctx: EngineCtx, dev: Device, addr: bigint, size: bigint, dir: DmaDirection, attrs: number): void {
  ctx.trace.call('dma_direct_unmap_phys', { device: dev.busId, dma_addr: addr, size: Number(size) }, () => {
    if ((attrs & DMA_ATTR_SKIP_CPU_SYNC) === 0) dmaDirectSyncSingleForCpu(ctx, dev, addr, size, dir);
    if (isSwiotlbBuffer(ctx, addr)) swiotlbTblUnmapSingle(ctx, dev, addr, size, dir, attrs | DMA_ATTR_SKIP_CPU_SYNC);
  });
}
