// The stacked DMA ops of a device behind IOMMUs in series (iommu-chain.ts),
// as a table (dma-map-ops.ts): each map goes through the whole chain, far
// IOMMU first, as a driver with its own ops (ipu6-dma.c) maps over its PCI
// device's DMA API. The kernel reaches such ops through dev->dma_ops
// (get_dma_ops); here dma-ops-setup.ts picks this table while some IOMMU of
// the chain has a DMA API domain. For the calls a driver's ops leave to the
// DMA API (sync_sg, and coherent memory without dev->dma_iommu) the table
// goes where use_dma_iommu(dev) sends them.

import type { EngineCtx } from '../context';
import type { Device } from '../device';
import { archSyncDmaForCpu, archSyncDmaForDevice } from '../dma-mapping/arch-sync';
import { DMA_DIRECT_OPS } from '../dma-mapping/dma-direct-ops';
import { DMA_ATTR_MMIO, DMA_ATTR_SKIP_CPU_SYNC, DMA_BIDIRECTIONAL, type DmaDirection } from '../dma-mapping/dma-direction';
import { dmaInfoToProt } from '../dma-mapping/dma-iommu';
import { allocIommuCoherent, dmaIommuOrDirectOps } from '../dma-mapping/dma-iommu-ops';
import { DmaMapOps, type DmaAllocResult, type DmaMapResult } from '../dma-mapping/dma-map-ops';
import type { SgTable } from '../dma-mapping/scatterlist';
import { DMA_MAPPING_ERROR } from '../u64';
import { iommuChainIovaToPhys, iommuChainMap, iommuChainUnmap } from './iommu-chain';

function stackedDmaMapPhys(ctx: EngineCtx, dev: Device, phys: bigint, size: bigint, dir: DmaDirection, attrs: number): DmaMapResult {
  if (!dev.coherent && (attrs & (DMA_ATTR_SKIP_CPU_SYNC | DMA_ATTR_MMIO)) === 0) archSyncDmaForDevice(ctx, phys, size, dir);
  return { dma: iommuChainMap(ctx, dev, 0, phys, size, dmaInfoToProt(dir, dev.coherent, attrs)), bounce: null };
}

function stackedDmaUnmapPhys(ctx: EngineCtx, dev: Device, addr: bigint, size: bigint, dir: DmaDirection, attrs: number): void {
  const phys = iommuChainIovaToPhys(dev, 0, addr);
  if (phys !== 0n && !dev.coherent && (attrs & DMA_ATTR_SKIP_CPU_SYNC) === 0) archSyncDmaForCpu(ctx, phys, size, dir);
  iommuChainUnmap(ctx, dev, 0, addr, size);
}

function stackedDmaSyncSingle(ctx: EngineCtx, dev: Device, addr: bigint, size: bigint, dir: DmaDirection, forCpu: boolean): void {
  if (dev.coherent) return;
  const phys = iommuChainIovaToPhys(dev, 0, addr);
  if (phys === 0n) return;
  if (forCpu) archSyncDmaForCpu(ctx, phys, size, dir);
  else archSyncDmaForDevice(ctx, phys, size, dir);
}

function stackedDmaSyncSingleForCpu(ctx: EngineCtx, dev: Device, addr: bigint, size: bigint, dir: DmaDirection): void {
  stackedDmaSyncSingle(ctx, dev, addr, size, dir, true);
}

function stackedDmaSyncSingleForDevice(ctx: EngineCtx, dev: Device, addr: bigint, size: bigint, dir: DmaDirection): void {
  stackedDmaSyncSingle(ctx, dev, addr, size, dir, false);
}

/** One mapping per segment (no merging), each through the whole chain; returns the count or 0. */
function stackedDmaMapSg(ctx: EngineCtx, dev: Device, sgt: SgTable, dir: DmaDirection, attrs: number): number {
  sgt.bouncedEach = false;
  for (let i = 0; i < sgt.entries.length; i++) {
    const s = sgt.entries[i];
    const dma = stackedDmaMapPhys(ctx, dev, s.phys, s.length, dir, attrs).dma;
    if (dma === DMA_MAPPING_ERROR) {
      for (let j = 0; j < i; j++) stackedDmaUnmapPhys(ctx, dev, sgt.entries[j].dmaAddress, sgt.entries[j].dmaLength, dir, attrs | DMA_ATTR_SKIP_CPU_SYNC);
      return 0;
    }
    s.dmaAddress = dma;
    s.dmaLength = s.length;
  }
  return sgt.entries.length;
}

function stackedDmaUnmapSg(ctx: EngineCtx, dev: Device, sgt: SgTable, dir: DmaDirection, attrs: number): void {
  for (const s of sgt.entries) if (s.dmaLength !== 0n) stackedDmaUnmapPhys(ctx, dev, s.dmaAddress, s.dmaLength, dir, attrs);
}

/** The pages mapped through the whole chain; without dev->dma_iommu, dma-direct's coherent memory. */
function stackedDmaAlloc(ctx: EngineCtx, dev: Device, size: bigint): DmaAllocResult {
  return dev.dmaIommu ? allocIommuCoherent(ctx, dev, size, stackedDmaMapPhys) : DMA_DIRECT_OPS.alloc(ctx, dev, size);
}

function stackedDmaFree(ctx: EngineCtx, dev: Device, size: bigint, cpu: bigint, dma: bigint): void {
  stackedDmaUnmapPhys(ctx, dev, dma, size, DMA_BIDIRECTIONAL, DMA_ATTR_SKIP_CPU_SYNC);
  ctx.pages.free(cpu);
}

export const STACKED_DMA_OPS = new DmaMapOps('dma-iommu (stacked)', {
  alloc: stackedDmaAlloc,
  free: stackedDmaFree,
  mapPhys: stackedDmaMapPhys,
  unmapPhys: stackedDmaUnmapPhys,
  mapSg: stackedDmaMapSg,
  unmapSg: stackedDmaUnmapSg,
  syncSingleForCpu: stackedDmaSyncSingleForCpu,
  syncSingleForDevice: stackedDmaSyncSingleForDevice,
  syncSgForCpu: (ctx, dev, sgt, dir) => dmaIommuOrDirectOps(dev).syncSgForCpu(ctx, dev, sgt, dir),
  syncSgForDevice: (ctx, dev, sgt, dir) => dmaIommuOrDirectOps(dev).syncSgForDevice(ctx, dev, sgt, dir),
});
