// Physical page and slab allocation for the emulated machine: alloc_pages,
// kmalloc (kmalloc-N caches), page-table pages and the swiotlb pool all come
// from here, deterministically, so the same scenario always gets the same
// physical addresses.

import type { RamRange } from './physmem';
import { alignUp } from '../u64';

export interface PhysRange {
  start: bigint;
  end: bigint;
  owner: string;
  align: bigint;
}

/** kmalloc size classes up to KMALLOC_MAX_CACHE_SIZE (2 * PAGE_SIZE); which exist depends on the minimum alignment. */
const KMALLOC_CLASSES = [8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072];

/** ARCH_KMALLOC_MINALIGN on arm64 with CONFIG_DMA_BOUNCE_UNALIGNED_KMALLOC. */
export const ARCH_KMALLOC_MINALIGN = 8;

/** Where allocations start: above a 16 MiB window left for the kernel image. */
const KERNEL_IMAGE_BYTES = 16n << 20n;

export class PageAllocator {
  /** Allocated or reserved ranges, sorted by start. */
  readonly used: PhysRange[] = [];
  private cursor: bigint;
  private rangeIndex = 0;
  /** Freed blocks by "size:align", reused first (LIFO like a page freelist). */
  private readonly freeBlocks = new Map<string, bigint[]>();
  /** Slab pages per kmalloc class: the free objects left in the current slab. */
  private readonly slabFree = new Map<number, bigint[]>();

  constructor(readonly ram: readonly RamRange[], readonly pageSize: bigint) {
    if (ram.length === 0) throw new Error('no RAM');
    this.cursor = ram[0].start + KERNEL_IMAGE_BYTES < ram[0].end ? ram[0].start + KERNEL_IMAGE_BYTES : ram[0].start;
  }

  /**
   * The kmalloc minimum alignment (mm/slab_common.c __kmalloc_minalign):
   * the DMA cache alignment, lowered to ARCH_KMALLOC_MINALIGN only once a
   * swiotlb pool exists to bounce unaligned buffers (Machine sets it).
   * Caches whose size is not a multiple of it do not exist (kmalloc-96 and
   * kmalloc-192 go with 128-byte lines, and smaller sizes share the line-sized cache).
   */
  kmallocMinalign = ARCH_KMALLOC_MINALIGN;

  /** kmalloc_size_roundup. */
  kmallocSizeRoundup(size: number): number {
    if (size <= KMALLOC_CLASSES[KMALLOC_CLASSES.length - 1] && size <= Number(this.pageSize) * 2) {
      for (const c of KMALLOC_CLASSES) if (c >= size && c % this.kmallocMinalign === 0) return c;
    }
    let bytes = Number(this.pageSize);
    while (bytes < size) bytes *= 2;
    return bytes;
  }

  overlapping(start: bigint, end: bigint): PhysRange | undefined {
    // Binary search for the first range ending after start.
    let lo = 0;
    let hi = this.used.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.used[mid].end <= start) lo = mid + 1;
      else hi = mid;
    }
    const r = this.used[lo];
    return r && r.start < end ? r : undefined;
  }

  private insert(range: PhysRange): void {
    let lo = 0;
    let hi = this.used.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.used[mid].start < range.start) lo = mid + 1;
      else hi = mid;
    }
    this.used.splice(lo, 0, range);
  }

  /** Allocate `bytes` aligned to `align`, or null when RAM is exhausted. */
  alloc(bytes: bigint, align: bigint, owner: string): bigint | null {
    const key = `${bytes}:${align}`;
    const reuse = this.freeBlocks.get(key);
    if (reuse && reuse.length > 0) {
      const start = reuse.pop() as bigint;
      this.insert({ start, end: start + bytes, owner, align });
      return start;
    }
    while (this.rangeIndex < this.ram.length) {
      const ram = this.ram[this.rangeIndex];
      let start = alignUp(this.cursor < ram.start ? ram.start : this.cursor, align);
      for (;;) {
        const end = start + bytes;
        if (end > ram.end) break;
        const clash = this.overlapping(start, end);
        if (!clash) {
          this.insert({ start, end, owner, align });
          this.cursor = end;
          return start;
        }
        start = alignUp(clash.end, align);
      }
      this.rangeIndex++;
      if (this.rangeIndex < this.ram.length) this.cursor = this.ram[this.rangeIndex].start;
    }
    return null;
  }

  /** Reserve the highest free block below `limit` (memblock's top-down allocation, e.g. the swiotlb pool). */
  allocTopDown(bytes: bigint, align: bigint, limit: bigint, owner: string): bigint | null {
    for (let i = this.ram.length - 1; i >= 0; i--) {
      const ram = this.ram[i];
      const top = ram.end < limit ? ram.end : limit;
      let start = (top - bytes) & ~(align - 1n);
      while (start >= ram.start) {
        const clash = this.overlapping(start, start + bytes);
        if (!clash) {
          this.insert({ start, end: start + bytes, owner, align });
          return start;
        }
        start = (clash.start - bytes) & ~(align - 1n);
      }
    }
    return null;
  }

  /** Claim a fixed range (phys_buffer). Returns false when part of it is already in use. */
  reserve(start: bigint, end: bigint, owner: string): boolean {
    if (this.overlapping(start, end)) return false;
    this.insert({ start, end, owner, align: 1n });
    return true;
  }

  free(start: bigint): boolean {
    const i = this.used.findIndex((r) => r.start === start);
    if (i < 0) return false;
    const r = this.used[i];
    this.used.splice(i, 1);
    if (r.align === 1n) return true; // a fixed reservation is not reusable memory
    const key = `${r.end - r.start}:${r.align}`;
    const list = this.freeBlocks.get(key) ?? [];
    list.push(start);
    this.freeBlocks.set(key, list);
    return true;
  }

  allocPages(order: number, owner: string): bigint | null {
    const bytes = this.pageSize << BigInt(order);
    return this.alloc(bytes, bytes, owner);
  }

  /** kmalloc: objects of the size class from slab pages; large sizes straight from pages. */
  kmalloc(size: number, owner: string): { phys: bigint; objSize: number } | null {
    const objSize = this.kmallocSizeRoundup(size);
    if (objSize >= Number(this.pageSize)) {
      const phys = this.alloc(BigInt(objSize), this.pageSize, owner);
      return phys === null ? null : { phys, objSize };
    }
    let free = this.slabFree.get(objSize);
    if (!free || free.length === 0) {
      const slab = this.alloc(this.pageSize, this.pageSize, `kmalloc-${objSize} slab`);
      if (slab === null) return null;
      free = [];
      // Objects are handed out from the lowest address up.
      for (let off = Number(this.pageSize) - objSize; off >= 0; off -= objSize) free.push(slab + BigInt(off));
      this.slabFree.set(objSize, free);
    }
    return { phys: free.pop() as bigint, objSize };
  }
}
