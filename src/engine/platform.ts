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
}

export const DEFAULT_PLATFORM: Readonly<PlatformConfig> = {
  pageSize: 4096n,
  memory: [{ start: 0x8000_0000n, end: 0x2_0000_0000n }],
  cacheLine: 64,
  swiotlb: 64n << 20n,
  swiotlbForce: false,
  swiotlbDynamic: false,
  cpus: 4,
};
