// What the engine's units need from the machine they run in. Machine
// implements it; units take it as their first argument, as kernel code
// reaches global state, so no unit depends on the Machine class itself.

import type { DmaDebug } from './dma-debug/dma-debug';
import type { BufferRegistry } from './memory/buffers';
import type { CpuCache } from './memory/cpu-cache';
import type { PageAllocator } from './memory/page-alloc';
import type { PhysicalMemory } from './memory/physmem';
import type { OwnershipTracker } from './dma-mapping/ownership';
import type { MappingRecords } from './dma-mapping/mapping-records';
import type { PlatformConfig } from './platform';
import type { IoTlbMem } from './swiotlb/swiotlb';
import type { TraceRecorder } from './trace/recorder';
import type { TableAllocator } from './io-pgtable/types';
import type { IommuGroup } from './iommu/iommu-group';

export interface EngineCtx {
  readonly trace: TraceRecorder;
  readonly platform: PlatformConfig;
  readonly mem: PhysicalMemory;
  readonly cache: CpuCache;
  readonly pages: PageAllocator;
  readonly buffers: BufferRegistry;
  readonly ownership: OwnershipTracker;
  readonly mappings: MappingRecords;
  readonly debug: DmaDebug;
  readonly tables: TableAllocator;
  swiotlb: IoTlbMem | null;
  /** The CPU the current call runs on (raw_smp_processor_id()). */
  cpu: number;
  /** Emulated time in milliseconds (flush-queue timers, depot trimming). */
  timeMs: number;
  /** KASAN has printed its report (it prints only the first one: kasan_multi_shot is off). */
  kasanReported: boolean;
  nextId(): number;
  /**
   * Every device behind `group`, whose domain the IOMMU core just changed
   * (attach, detach), picks its DMA ops table again
   * (dma-mapping/dma-ops-setup.ts): the kernel's iommu_setup_dma_ops() runs
   * at probe and on a default domain change, but a chain's stacked ops also
   * depend on the domains attached. The IOMMU core calls it through the
   * machine because the tables sit above it.
   */
  setupGroupDmaOps(group: IommuGroup): void;
}
