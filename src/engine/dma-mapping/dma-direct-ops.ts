// The dma-direct path as a table (dma-map-ops.ts): a device with no IOMMU,
// or whose domain is not a DMA API domain. In the kernel this is no table:
// dma_map_direct() (dma_go_direct: no dev->dma_ops, not use_dma_iommu) sends
// kernel/dma/mapping.c to the dma_direct_* calls, swiotlb bouncing inside them.

import type { EngineCtx } from '../context';
import type { Device } from '../device';
import { DMA_MAPPING_ERROR } from '../u64';
import { dmaDirectMapPhys, dmaDirectSyncSingleForCpu, dmaDirectSyncSingleForDevice, dmaDirectUnmapPhys } from './dma-direct';
import type { DmaDirection } from './dma-direction';
import { allocCoherentPages, DmaMapOps, type DmaAllocResult, type DmaMapResult } from './dma-map-ops';
import { dmaDirectMapSg, dmaDirectUnmapSg, type SgTable } from './scatterlist';

/** The one result object dmaDirectOpsMapPhys fills (its caller reads it at once): no object a map. */
const MAP_RESULT: DmaMapResult = { dma: 0n, bounce: null };

/** dma_direct_map_phys; the DMA address is the bounce slot when it is not phys. */
function dmaDirectOpsMapPhys(ctx: EngineCtx, dev: Device, phys: bigint, size: bigint, dir: DmaDirection, attrs: number): DmaMapResult {
  const dma = dmaDirectMapPhys(ctx, dev, phys, size, dir, attrs);
  MAP_RESULT.dma = dma;
  MAP_RESULT.bounce = dma !== DMA_MAPPING_ERROR && dma !== phys ? dma : null;
  return MAP_RESULT;
}

/** dma_direct_sync_sg_for_cpu: each mapped segment. */
function dmaDirectSyncSgForCpu(ctx: EngineCtx, dev: Device, sgt: SgTable, dir: DmaDirection): void {
  for (let i = 0; i < sgt.mappedNents; i++) dmaDirectSyncSingleForCpu(ctx, dev, sgt.entries[i].dmaAddress, sgt.entries[i].dmaLength, dir);
}

/** dma_direct_sync_sg_for_device: each mapped segment. */
function dmaDirectSyncSgForDevice(ctx: EngineCtx, dev: Device, sgt: SgTable, dir: DmaDirection): void {
  for (let i = 0; i < sgt.mappedNents; i++) dmaDirectSyncSingleForDevice(ctx, dev, sgt.entries[i].dmaAddress, sgt.entries[i].dmaLength, dir);
}

/** dma_direct_alloc: pages below the DMA mask, their physical address the DMA address. */
function dmaDirectAlloc(ctx: EngineCtx, dev: Device, size: bigint): DmaAllocResult {
  const phys = allocCoherentPages(ctx, dev, size, true);
  return phys === null ? 'no-pages' : { cpu: phys, dma: phys };
}

/** dma_direct_free. */
function dmaDirectFree(ctx: EngineCtx, _dev: Device, _size: bigint, cpu: bigint): void {
  ctx.pages.free(cpu);
}

export const DMA_DIRECT_OPS = new DmaMapOps('dma-direct', {
  alloc: dmaDirectAlloc,
  free: dmaDirectFree,
  mapPhys: dmaDirectOpsMapPhys,
  unmapPhys: dmaDirectUnmapPhys,
  mapSg: dmaDirectMapSg,
  unmapSg: dmaDirectUnmapSg,
  syncSingleForCpu: dmaDirectSyncSingleForCpu,
  syncSingleForDevice: dmaDirectSyncSingleForDevice,
  syncSgForCpu: dmaDirectSyncSgForCpu,
  syncSgForDevice: dmaDirectSyncSgForDevice,
});
