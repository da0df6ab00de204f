// Buffers the scenario allocated or named: what a physical address belongs
// to, for hovers, for "bytes exposed beyond the buffer" and for leak reports.

export type BufferKind = 'alloc_pages' | 'kmalloc' | 'phys_buffer' | 'coherent' | 'pgtable' | 'swiotlb' | 'bounce';

export interface DmaBuffer {
  id: number;
  kind: BufferKind;
  phys: bigint;
  size: bigint;
  /** kmalloc: the size class the object really occupies. */
  allocSize: bigint;
  line: number;
  label: string;
}

/**
 * The registry answers `find` (every DMA map asks it) from an index: the
 * buffers sorted by start address, each with the order it was added in and
 * the highest end among it and those before it, so a lookup is a binary
 * search and a backward walk only over the buffers that could still reach
 * the address. Buffers may overlap (a phys_buffer inside pages); the one
 * added last wins, as the list scan it replaces decided.
 */
export class BufferRegistry {
  readonly buffers: DmaBuffer[] = [];
  /** The buffers sorted by phys (ties: by the order added). */
  private sorted: DmaBuffer[] = [];
  /** sorted[i]'s end (phys + size). */
  private ends: bigint[] = [];
  /** The highest end among sorted[0..i]. */
  private maxEnds: bigint[] = [];
  /** The order sorted[i] was added in (ids repeat after a removal). */
  private seqs: number[] = [];
  private nextSeq = 0;
  /** The last answer of find and its address, while nothing was added or removed since (a driver maps one buffer again and again). */
  private lastAddr = -1n;
  private lastFound: DmaBuffer | undefined = undefined;
  /** Bytes from lastAddr to lastFound's end (-1n: none found). */
  private lastRoom = -1n;

  add(kind: BufferKind, phys: bigint, size: bigint, allocSize: bigint, line: number, label: string): DmaBuffer {
    const b: DmaBuffer = { id: this.buffers.length + 1, kind, phys, size, allocSize, line, label };
    this.buffers.push(b);
    // After every buffer starting at or below phys: a tie keeps the order added.
    const at = this.upperBound(phys);
    this.sorted.splice(at, 0, b);
    this.ends.splice(at, 0, phys + size);
    this.seqs.splice(at, 0, this.nextSeq++);
    this.maxEnds.splice(at, 0, 0n);
    this.refreshMaxEnds(at);
    this.lastAddr = -1n;
    return b;
  }

  /** The scenario-visible buffer containing addr (kernel-internal ones like page tables excluded). */
  find(addr: bigint): DmaBuffer | undefined {
    if (addr === this.lastAddr) return this.lastFound;
    let found: DmaBuffer | undefined;
    let foundEnd = 0n;
    let foundSeq = -1;
    // Only buffers starting at or below addr can hold it; walk down while one of them still ends above it.
    for (let i = this.upperBound(addr) - 1; i >= 0 && this.maxEnds[i] > addr; i--) {
      if (this.ends[i] > addr && this.seqs[i] > foundSeq) {
        found = this.sorted[i];
        foundEnd = this.ends[i];
        foundSeq = this.seqs[i];
      }
    }
    this.lastAddr = addr;
    this.lastFound = found;
    this.lastRoom = found ? foundEnd - addr : -1n;
    return found;
  }

  /** Bytes from addr to the end of find(addr), -1n when no buffer holds addr (remembered with find's answer: no BigInt sums a map). */
  roomAt(addr: bigint): bigint {
    if (addr !== this.lastAddr) this.find(addr);
    return this.lastRoom;
  }

  remove(phys: bigint): void {
    const i = this.buffers.findIndex((b) => b.phys === phys);
    if (i < 0) return;
    const b = this.buffers[i];
    this.buffers.splice(i, 1);
    const at = this.sorted.indexOf(b);
    this.sorted.splice(at, 1);
    this.ends.splice(at, 1);
    this.seqs.splice(at, 1);
    this.maxEnds.splice(at, 1);
    this.refreshMaxEnds(at);
    this.lastAddr = -1n;
  }

  /** The number of sorted buffers starting at or below addr. */
  private upperBound(addr: bigint): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sorted[mid].phys <= addr) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private refreshMaxEnds(from: number): void {
    let max = from > 0 ? this.maxEnds[from - 1] : 0n;
    for (let i = from; i < this.sorted.length; i++) {
      if (this.ends[i] > max) max = this.ends[i];
      this.maxEnds[i] = max;
    }
  }
}
