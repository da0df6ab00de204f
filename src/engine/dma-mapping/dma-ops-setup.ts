// Which DMA ops table a device uses (dma-map-ops.ts), picked once where the
// kernel picks: at probe, where iommu_setup_dma_ops() sets dev->dma_iommu
// and a bus or driver with its own ops calls set_dma_ops(). The emulator
// picks again when the IOMMU core changes the domain of a group the device
// is behind (EngineCtx.setupGroupDmaOps), because a chain's stacked ops
// apply only while some IOMMU on it has a DMA API domain. dma-mapping.ts
// then calls dev.dmaOps without testing the path.

import type { Device } from '../device';
import { iommuChainStacked } from '../iommu/iommu-chain';
import { STACKED_DMA_OPS } from '../iommu/iommu-chain-dma-ops';
import { VDUSE_DMA_OPS } from '../vduse/vduse-dma-ops';
import { vduseDomainOf } from '../vduse/vduse-iova-domain';
import { dmaIommuOrDirectOps } from './dma-iommu-ops';
import type { DmaMapOps } from './dma-map-ops';

/** The table for dev as it is now: VDUSE's own ops, a chain's stacked ops, else dma-iommu or dma-direct as dev->dma_iommu says. */
export function dmaOpsFor(dev: Device): DmaMapOps {
  if (vduseDomainOf(dev) !== null) return VDUSE_DMA_OPS;
  if (iommuChainStacked(dev)) return STACKED_DMA_OPS;
  return dmaIommuOrDirectOps(dev);
}

/** set_dma_ops(dev, ...) with the table dmaOpsFor picks. */
export function setupDmaOps(dev: Device): void {
  dev.dmaOps = dmaOpsFor(dev);
}
