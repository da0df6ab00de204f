// arch_sync_dma_for_device / arch_sync_dma_for_cpu with arm64 semantics:
// clean to PoC for every direction on the way to the device, invalidate
// unless DMA_TO_DEVICE on the way back. After a map the CPU may prefetch the
// lines again at any time, which is why the for_cpu invalidate is needed.

import type { EngineCtx } from '../context';
import { DMA_TO_DEVICE, dirName, type DmaDirection } from './dma-direction';

export function archSyncDmaForDevice(ctx: EngineCtx, phys: bigint, size: bigint, dir: DmaDirection): void {
  ctx.trace.emit('engine:arch_sync_dma_for_device', { phys: phys, size: Number(size), dir: dirName(dir), op: 'clean' });
  ctx.cache.clean(phys, Number(size));
  if (dir !== DMA_TO_DEVICE) ctx.cache.speculativeFill(phys, Number(size));
}

export function archSyncDmaForCpu(ctx: EngineCtx, phys: bigint, size: bigint, dir: DmaDirection): void {
  if (dir === DMA_TO_DEVICE) return;
  ctx.trace.emit('engine:arch_sync_dma_for_cpu', { phys: phys, size: Number(size), dir: dirName(dir), op: 'invalidate' });
  ctx.cache.invalidate(phys, Number(size));
}
