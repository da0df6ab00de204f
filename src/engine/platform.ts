// The machine's platform block (docs/language.md) with defaults.

import type { RamRange } from './memory/physmem';

export interface PlatformConfig {
  /** CPU PAGE_SIZE. */
  pageSize: bigint;
  memory: RamRange[];
  /** ARCH_DMA_MINALIGN. */
  cacheLine: number;
  /** Bytes of the default swiotlb pool; 0 = none. */
  swiotlb: bigint;
  swiotlbForce: boolean;
  swiotlbDynamic: boolean;
  cpus: number;
  /** The DMA sanitizer's rules (sanitizer.ts), each on unless a scenario switches it off. */
  sanitize: SanitizerRules;
}

export interface SanitizerRules {
  /** sanitize_cpu_bounds: a CPU access past the end of the buffer it names. */
  cpuBounds: boolean;
  /** sanitize_dma_bounds: a device access through an IOMMU mapping past the mapped bytes (inside the mapped granule). */
  dmaBounds: boolean;
  /** sanitize_dma_direct: a dma-direct device touching memory no live mapping of it covers. */
  dmaDirect: boolean;
  /** sanitize_stale_iotlb: a device access through a stale IOTLB entry after a deferred unmap. */
  staleIotlb: boolean;
}

export const DEFAULT_PLATFORM: Readonly<PlatformConfig> = {
  pageSize: 4096n,
  memory: [{ start: 0x8000_0000n, end: 0x2_0000_0000n }],
  cacheLine: 64,
  swiotlb: 64n << 20n,
  swiotlbForce: false,
  swiotlbDynamic: false,
  cpus: 4,
  sanitize: { cpuBounds: true, dmaBounds: true, dmaDirect: true, staleIotlb: true },
};
