// The calls into swiotlb that dma-direct and dma-iommu share: map with the
// trace_swiotlb_bounced event and the "buffer is full" report, unmap and the
// two syncs, all copying through the CPU (swiotlb_bounce is a memcpy).

import type { EngineCtx } from '../context';
import type { Device } from '../device';
import { CpuMemcpy } from '../memory/cpu-memcpy';
import { DMA_MAPPING_ERROR, hex } from '../u64';
import { DMA_ATTR_NO_WARN, type DmaDirection } from './dma-direction';

export function swiotlbActive(ctx: EngineCtx): boolean {
  return ctx.swiotlb !== null;
}

export function isSwiotlbBuffer(ctx: EngineCtx, addr: bigint): boolean {
  return ctx.swiotlb !== null && ctx.swiotlb.isSwiotlbBuffer(addr);
}

/** trace_swiotlb_bounced + swiotlb_tbl_map_single; DMA_MAPPING_ERROR when the pool is full. */
export function swiotlbTblMapSingle(ctx: EngineCtx, dev: Device, orig: bigint, size: bigint, allocAlignMask: bigint, dir: DmaDirection, attrs: number, traceAddr: bigint): bigint {
  const pool = ctx.swiotlb;
  if (!pool) return DMA_MAPPING_ERROR;
  ctx.trace.emit('swiotlb:swiotlb_bounced', {
    dev_name: dev.busId,
    dma_mask: hex(dev.dmaMask),
    dev_addr: hex(traceAddr),
    size: Number(size),
    mode: ctx.platform.swiotlbForce ? 'FORCE' : 'NORMAL',
  });
  const r = pool.mapSingle(
    { orig, mappingSize: Number(size), allocAlignMask, minAlignMask: dev.minAlignMask, segBoundaryMask: dev.segmentBoundary, cpu: ctx.cpu, dir, attrs, dev: dev.busId },
    new CpuMemcpy(ctx.cache),
    // CONFIG_SWIOTLB_DYNAMIC: a transient pool sized for this mapping, naturally aligned like a page allocation.
    ctx.platform.swiotlbDynamic
      ? (bytes: number): bigint | null => {
          let size = ctx.platform.pageSize;
          while (size < BigInt(bytes)) size *= 2n;
          return ctx.pages.alloc(size, size, 'swiotlb transient pool');
        }
      : undefined,
  );
  if (!r.ok && r.reason === 'full' && r.releasedTransient) ctx.pages.free(r.releasedTransient.start);
  if (!r.ok) {
    if (r.reason === 'bug') {
      report(ctx, dev, r);
      return DMA_MAPPING_ERROR;
    }
    if ((attrs & DMA_ATTR_NO_WARN) === 0) {
      const text = `${dev.driver} ${dev.busId}: ${r.message}`;
      // dev_warn_ratelimited() in swiotlb_tbl_map_single(): a warning the driver handles by checking
      // dma_mapping_error(); misuse of the error address is what dma-debug reports.
      ctx.trace.printk(text);
      ctx.trace.check('swiotlb-full', 'warning', text);
    }
    return DMA_MAPPING_ERROR;
  }
  for (const w of r.warnings) ctx.trace.printk(`${dev.driver} ${dev.busId}: ${w}`);
  ctx.trace.emit('engine:swiotlb_map', { orig: orig, tlb_addr: r.tlbAddr, index: r.index, nslots: r.nslots, pad_slots: r.padSlots });
  return r.tlbAddr;
}

export function swiotlbTblUnmapSingle(ctx: EngineCtx, dev: Device, tlbAddr: bigint, size: bigint, dir: DmaDirection, attrs: number): void {
  if (!isSwiotlbBuffer(ctx, tlbAddr) || !ctx.swiotlb) return;
  ctx.trace.emit('engine:swiotlb_unmap', { tlb_addr: tlbAddr, size: Number(size) });
  const r = ctx.swiotlb.unmapSingle(tlbAddr, Number(size), dir, attrs, new CpuMemcpy(ctx.cache), { name: dev.busId, minAlignMask: dev.minAlignMask });
  // A transient pool goes with its only mapping: its memory returns to the page allocator.
  if (r.ok && r.releasedTransient) ctx.pages.free(r.releasedTransient.start);
  report(ctx, dev, r);
}

/** WARNs (buffer overflow on a sync) and BUG()s (DMA_NONE) swiotlb hit: kernel log plus an error check. */
function report(ctx: EngineCtx, dev: Device, r: { ok: boolean; warnings: string[]; message?: string }): void {
  for (const w of r.warnings) {
    const text = `${dev.driver} ${dev.busId}: ${w}`;
    ctx.trace.printk(text);
    ctx.trace.check('swiotlb-warn', 'error', text);
  }
  if (!r.ok && r.message) {
    ctx.trace.printk(r.message);
    ctx.trace.check('swiotlb-bug', 'error', r.message);
  }
}

export function swiotlbSyncSingleForDevice(ctx: EngineCtx, dev: Device, tlbAddr: bigint, size: bigint, dir: DmaDirection): void {
  if (!isSwiotlbBuffer(ctx, tlbAddr) || !ctx.swiotlb) return;
  ctx.trace.emit('engine:swiotlb_sync_for_device', { tlb_addr: tlbAddr, size: Number(size) });
  report(ctx, dev, ctx.swiotlb.syncSingleForDevice(tlbAddr, Number(size), dir, new CpuMemcpy(ctx.cache), { name: dev.busId, minAlignMask: dev.minAlignMask }));
}

export function swiotlbSyncSingleForCpu(ctx: EngineCtx, dev: Device, tlbAddr: bigint, size: bigint, dir: DmaDirection): void {
  if (!isSwiotlbBuffer(ctx, tlbAddr) || !ctx.swiotlb) return;
  ctx.trace.emit('engine:swiotlb_sync_for_cpu', { tlb_addr: tlbAddr, size: Number(size) });
  report(ctx, dev, ctx.swiotlb.syncSingleForCpu(tlbAddr, Number(size), dir, new CpuMemcpy(ctx.cache), { name: dev.busId, minAlignMask: dev.minAlignMask }));
}
