// memcpy by the CPU, as swiotlb_bounce and the VDUSE bounce do it: the source
// is read as the CPU sees it (dirty cached data included) and the copy lands
// in memory and in any cached copy of the destination, without allocating
// lines (a streaming copy): bounce buffers never hold dirty lines the device
// could miss, as the kernel cleans them right after the copy anyway.

import type { CpuCache } from './cpu-cache';

export class CpuMemcpy {
  constructor(private readonly cache: CpuCache) {}

  copy(dst: bigint, src: bigint, len: number): void {
    if (len <= 0) return;
    this.cache.cpuWriteThrough(dst, this.cache.cpuReadNoAlloc(src, len));
  }

  zero(dst: bigint, len: number): void {
    if (len <= 0) return;
    this.cache.cpuWriteThrough(dst, new Uint8Array(len));
  }
}
