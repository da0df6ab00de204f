// struct dma_map_ops (include/linux/dma-map-ops.h): what one DMA path does
// for each call of the DMA API. The DMA API layer (dma-mapping.ts) keeps the
// tracepoints, dma-debug, mapping records and ownership, and hands the rest
// to the table the device's probe picked (dma-ops-setup.ts), so a call
// dispatches through dev.dmaOps instead of testing the path each time.
//
// Four tables, one per path: DMA_DIRECT_OPS (dma-direct-ops.ts, swiotlb
// included), IOMMU_DMA_OPS (dma-iommu-ops.ts), STACKED_DMA_OPS (IOMMUs in
// series, iommu/iommu-chain-dma-ops.ts) and VDUSE_DMA_OPS (vduse/vduse-dma-ops.ts).
// Mainline keeps a table only for a device that brings its own ops
// (get_dma_ops(dev) = dev->dma_ops: VDUSE's until v6.18, a driver's own);
// dma-direct (no ops) and dma-iommu (dev->dma_iommu, use_dma_iommu()) are
// plain calls that kernel/dma/mapping.c picks by testing the device first.
// Here those two are tables of the same shape as the others: one call site a
// DMA API function, and the choice made once, where the kernel makes it.

import type { EngineCtx } from '../context';
import type { Device } from '../device';
import { CLONE } from '../snapshot';
import type { DmaDirection } from './dma-direction';
import type { SgTable } from './scatterlist';

/** What map_phys returns: the DMA address (DMA_MAPPING_ERROR on failure) and the bounce slot the data went through, if any. */
export interface DmaMapResult {
  dma: bigint;
  bounce: bigint | null;
}

/** Coherent memory an alloc made: the pages (cpu) and the address the device uses (dma). */
export interface DmaCoherentPages {
  cpu: bigint;
  dma: bigint;
}

/**
 * What alloc returns: the memory, or why there is none. 'no-pages': nothing
 * to allocate from (dma_alloc_coherent then traces the failure);
 * 'not-mapped': the pages were taken and given back because the IOMMU could
 * not map them.
 */
export type DmaAllocResult = DmaCoherentPages | 'no-pages' | 'not-mapped';

/** The functions of one table, in the kernel's order of struct dma_map_ops. */
export interface DmaMapOpsFns {
  /** alloc (dma_alloc_coherent): zeroed pages, mapped for the device. */
  readonly alloc: (ctx: EngineCtx, dev: Device, size: bigint) => DmaAllocResult;
  /** free (dma_free_coherent) of what alloc returned. */
  readonly free: (ctx: EngineCtx, dev: Device, size: bigint, cpu: bigint, dma: bigint) => void;
  /** map_phys (map_page before v6.18). The result may be an object the next map reuses: read it at once. */
  readonly mapPhys: (ctx: EngineCtx, dev: Device, phys: bigint, size: bigint, dir: DmaDirection, attrs: number) => DmaMapResult;
  readonly unmapPhys: (ctx: EngineCtx, dev: Device, addr: bigint, size: bigint, dir: DmaDirection, attrs: number) => void;
  /** map_sg: the number of DMA segments, or a negative errno. */
  readonly mapSg: (ctx: EngineCtx, dev: Device, sgt: SgTable, dir: DmaDirection, attrs: number) => number;
  readonly unmapSg: (ctx: EngineCtx, dev: Device, sgt: SgTable, dir: DmaDirection, attrs: number) => void;
  readonly syncSingleForCpu: (ctx: EngineCtx, dev: Device, addr: bigint, size: bigint, dir: DmaDirection) => void;
  readonly syncSingleForDevice: (ctx: EngineCtx, dev: Device, addr: bigint, size: bigint, dir: DmaDirection) => void;
  readonly syncSgForCpu: (ctx: EngineCtx, dev: Device, sgt: SgTable, dir: DmaDirection) => void;
  readonly syncSgForDevice: (ctx: EngineCtx, dev: Device, sgt: SgTable, dir: DmaDirection) => void;
}

/**
 * One path's table. Every table is built by this constructor, so all have
 * one shape and a call through dev.dmaOps stays monomorphic; a table is
 * shared by every device on the path and by every snapshot.
 */
export class DmaMapOps implements DmaMapOpsFns {
  readonly alloc: DmaMapOpsFns['alloc'];
  readonly free: DmaMapOpsFns['free'];
  readonly mapPhys: DmaMapOpsFns['mapPhys'];
  readonly unmapPhys: DmaMapOpsFns['unmapPhys'];
  readonly mapSg: DmaMapOpsFns['mapSg'];
  readonly unmapSg: DmaMapOpsFns['unmapSg'];
  readonly syncSingleForCpu: DmaMapOpsFns['syncSingleForCpu'];
  readonly syncSingleForDevice: DmaMapOpsFns['syncSingleForDevice'];
  readonly syncSgForCpu: DmaMapOpsFns['syncSgForCpu'];
  readonly syncSgForDevice: DmaMapOpsFns['syncSgForDevice'];

  /** `name` is what the machine view shows as the device's DMA ops. */
  constructor(readonly name: string, fns: DmaMapOpsFns) {
    this.alloc = fns.alloc;
    this.free = fns.free;
    this.mapPhys = fns.mapPhys;
    this.unmapPhys = fns.unmapPhys;
    this.mapSg = fns.mapSg;
    this.unmapSg = fns.unmapSg;
    this.syncSingleForCpu = fns.syncSingleForCpu;
    this.syncSingleForDevice = fns.syncSingleForDevice;
    this.syncSgForCpu = fns.syncSgForCpu;
    this.syncSgForDevice = fns.syncSgForDevice;
  }

  /** A snapshot keeps the table itself: it holds no state, only the path's functions. */
  [CLONE](): DmaMapOps {
    return this;
  }
}

/** The bytes dma_alloc_coherent takes for `size`: whole pages (PAGE_ALIGN). */
export function coherentBytes(ctx: EngineCtx, size: bigint): bigint {
  const pageSize = ctx.platform.pageSize;
  return (size + pageSize - 1n) & ~(pageSize - 1n);
}

/**
 * dma_alloc_coherent's pages for the paths that take them from the page
 * allocator (all but VDUSE), zeroed: 2^order pages, and with `belowMask`
 * (dma-direct) again below the DMA mask when the first ones end above it, as
 * dma_direct_alloc retries in ZONE_DMA32/ZONE_DMA. null when none are left.
 */
export function allocCoherentPages(ctx: EngineCtx, dev: Device, size: bigint, belowMask: boolean): bigint | null {
  const pageSize = ctx.platform.pageSize;
  const bytes = coherentBytes(ctx, size);
  let order = 0;
  while (pageSize << BigInt(order) < bytes) order++;
  let phys = ctx.pages.allocPages(order, `coherent ${dev.name}`);
  if (phys !== null && belowMask && phys + bytes - 1n > dev.dmaMask) {
    ctx.pages.free(phys);
    phys = ctx.pages.allocTopDown(pageSize << BigInt(order), pageSize << BigInt(order), dev.dmaMask + 1n, `coherent ${dev.name}`);
  }
  if (phys !== null) ctx.mem.fill(phys, Number(bytes), 0);
  return phys;
}
