// The CPU data cache, one entry per cache line (ARCH_DMA_MINALIGN). It is
// what makes non-coherent DMA go wrong: a dirty line the device cannot see,
// or a clean line the CPU keeps reading after the device wrote memory.
// Coherent devices snoop it; non-coherent devices only see memory.

import type { PhysicalMemory } from './physmem';

export interface CacheLine {
  data: Uint8Array;
  /** Written by the CPU and not yet cleaned to memory. */
  dirty: boolean;
  /** Memory behind this line was written by a non-coherent device after the line was filled. */
  stale: boolean;
}

export interface CacheReadResult {
  bytes: Uint8Array;
  /** Addresses of the lines that returned stale data (CPU side) or were dirty (device side). */
  staleLines: bigint[];
}

export class CpuCache {
  readonly lines = new Map<number, CacheLine>();
  /** Ranges the CPU maps uncached (coherent DMA allocations on non-coherent devices). */
  readonly uncached: { start: bigint; end: bigint }[] = [];

  constructor(private readonly mem: PhysicalMemory, readonly lineSize: number) {}

  private lineIndexes(addr: bigint, len: number): number[] {
    if (len <= 0) return [];
    const ls = BigInt(this.lineSize);
    const first = Number(addr / ls);
    const last = Number((addr + BigInt(len) - 1n) / ls);
    const out: number[] = [];
    for (let i = first; i <= last; i++) out.push(i);
    return out;
  }

  private lineAddr(index: number): bigint {
    return BigInt(index) * BigInt(this.lineSize);
  }

  isUncached(addr: bigint): boolean {
    return this.uncached.some((r) => addr >= r.start && addr < r.end);
  }

  private fill(index: number): CacheLine {
    let line = this.lines.get(index);
    if (!line) {
      line = { data: this.mem.read(this.lineAddr(index), this.lineSize), dirty: false, stale: false };
      this.lines.set(index, line);
    }
    return line;
  }

  /** A CPU load: hits the cache, filling lines from memory on a miss. */
  cpuRead(addr: bigint, len: number): CacheReadResult {
    if (this.isUncached(addr)) return { bytes: this.mem.read(addr, len), staleLines: [] };
    const out = new Uint8Array(len);
    const staleLines: bigint[] = [];
    for (const index of this.lineIndexes(addr, len)) {
      const line = this.fill(index);
      if (line.stale) staleLines.push(this.lineAddr(index));
      this.copyOut(index, line, addr, out);
    }
    return { bytes: out, staleLines };
  }

  /** A CPU store: write-allocate, the line becomes dirty. */
  cpuWrite(addr: bigint, bytes: Uint8Array): void {
    if (this.isUncached(addr)) {
      this.mem.write(addr, bytes);
      return;
    }
    for (const index of this.lineIndexes(addr, bytes.length)) {
      const line = this.fill(index);
      this.copyIn(index, line, addr, bytes);
      line.dirty = true;
    }
  }

  /** A streaming load (memcpy source): sees cached data, allocates no lines. */
  cpuReadNoAlloc(addr: bigint, len: number): Uint8Array {
    const bytes = this.mem.read(addr, len);
    if (this.isUncached(addr)) return bytes;
    for (const index of this.lineIndexes(addr, len)) {
      const line = this.lines.get(index);
      if (line) this.copyOut(index, line, addr, bytes);
    }
    return bytes;
  }

  /**
   * A streaming store (memcpy destination, as swiotlb and VDUSE bounce): the
   * data reaches memory and any cached copy, and no line is allocated, so a
   * multi-megabyte bounce does not fill the model with lines. Lines already
   * cached and dirty stay dirty (their other bytes may still be unwritten).
   */
  cpuWriteThrough(addr: bigint, bytes: Uint8Array): void {
    this.mem.write(addr, bytes);
    if (this.isUncached(addr)) return;
    for (const index of this.lineIndexes(addr, bytes.length)) {
      const line = this.lines.get(index);
      if (line) this.copyIn(index, line, addr, bytes);
    }
  }

  /** Clean (write back) dirty lines to memory; lines stay cached. */
  clean(addr: bigint, len: number): void {
    for (const index of this.lineIndexes(addr, len)) {
      const line = this.lines.get(index);
      if (line?.dirty) {
        this.mem.write(this.lineAddr(index), line.data);
        line.dirty = false;
      }
    }
  }

  /** Invalidate: drop lines, dirty data included (as the hardware does). */
  invalidate(addr: bigint, len: number): void {
    for (const index of this.lineIndexes(addr, len)) this.lines.delete(index);
  }

  /** Lines the CPU may prefetch into the cache at any time while it is not looking. */
  speculativeFill(addr: bigint, len: number): void {
    if (this.isUncached(addr)) return;
    for (const index of this.lineIndexes(addr, len)) this.fill(index);
  }

  /** A device load. Coherent: snoops dirty lines. Non-coherent: memory only, and dirty lines mean stale data. */
  deviceRead(addr: bigint, len: number, coherent: boolean): CacheReadResult {
    const bytes = this.mem.read(addr, len);
    const staleLines: bigint[] = [];
    for (const index of this.lineIndexes(addr, len)) {
      const line = this.lines.get(index);
      if (!line?.dirty) continue;
      if (coherent) this.copyOut(index, line, addr, bytes);
      else staleLines.push(this.lineAddr(index));
    }
    return { bytes, staleLines };
  }

  /** A device store. Coherent: cached copies are updated. Non-coherent: they go stale. */
  deviceWrite(addr: bigint, bytes: Uint8Array, coherent: boolean): void {
    this.mem.write(addr, bytes);
    for (const index of this.lineIndexes(addr, bytes.length)) {
      const line = this.lines.get(index);
      if (!line) continue;
      if (coherent) this.copyIn(index, line, addr, bytes);
      else line.stale = true;
    }
  }

  isDirty(addr: bigint, len: number): boolean {
    return this.lineIndexes(addr, len).some((i) => this.lines.get(i)?.dirty === true);
  }

  /** Copy the overlap of line `index` and [addr, addr + out.length) from the line into out. */
  private copyOut(index: number, line: CacheLine, addr: bigint, out: Uint8Array): void {
    const base = this.lineAddr(index);
    const from = base > addr ? base : addr;
    const end = addr + BigInt(out.length);
    const lineEnd = base + BigInt(this.lineSize);
    const to = lineEnd < end ? lineEnd : end;
    out.set(line.data.subarray(Number(from - base), Number(to - base)), Number(from - addr));
  }

  private copyIn(index: number, line: CacheLine, addr: bigint, bytes: Uint8Array): void {
    const base = this.lineAddr(index);
    const from = base > addr ? base : addr;
    const end = addr + BigInt(bytes.length);
    const lineEnd = base + BigInt(this.lineSize);
    const to = lineEnd < end ? lineEnd : end;
    line.data.set(bytes.subarray(Number(from - addr), Number(to - addr)), Number(from - base));
  }
}
