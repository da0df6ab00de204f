// memcpy by the CPU, as swiotlb_bounce and the VDUSE bounce do it: loads and
// stores go through the CPU cache, so a non-coherent device sees the copy
// only after the cache is cleaned.

import type { CpuCache } from './cpu-cache';

export class CpuMemcpy {
  constructor(private readonly cache: CpuCache) {}

  copy(dst: bigint, src: bigint, len: number): void {
    if (len <= 0) return;
    this.cache.cpuWrite(dst, this.cache.cpuRead(src, len).bytes);
  }

  zero(dst: bigint, len: number): void {
    if (len <= 0) return;
    this.cache.cpuWrite(dst, new Uint8Array(len));
  }
}
