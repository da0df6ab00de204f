// What an IOMMU domain maps, as the ranges iommu_map() was asked for and
// iommu_unmap() has not taken back: IOVA -> phys, size, prot and the scenario
// line. The page table is the truth for translation; this record is what the
// views (debugger, IOVA map panel) list without walking a 57-bit table, kept
// by the core at the same two places the kernel's callers go through.


export interface MappedRange {
  iova: bigint;
  phys: bigint;
  size: bigint;
  /** IOMMU_READ | IOMMU_WRITE | ... as passed to iommu_map. */
  prot: number;
  /** Scenario line of the statement that mapped it. */
  line: number;
}

/** IOVAs below this that are 4 KiB-aligned are keyed by their page number, a small integer. */
const PAGE_KEYED_END = 1n << 43n;

/** The last key made: an unmap asks for the key its map just made (a conversion costs more than a comparison). */
let lastKeyIova = -1n;
let lastKey: number | bigint = -1;

/**
 * Map key of a start IOVA: the 4 KiB page number when the IOVA is aligned
 * and below 2^43 (an integer that hashes fastest), else the IOVA itself (a
 * BigInt, so the two kinds of key never meet).
 */
function keyOf(iova: bigint): number | bigint {
  if (iova !== lastKeyIova) {
    lastKeyIova = iova;
    lastKey = iova >= 0n && iova < PAGE_KEYED_END && (iova & 0xfffn) === 0n ? Number(iova >> 12n) : iova;
  }
  return lastKey;
}

/** Unmapped slots kept before they are dropped. */
const DEAD_SLOTS_KEPT = 64;

export class DomainMappedRanges {
  /**
   * Keyed by start IOVA; ranges never overlap (iommu_map refuses to map over
   * a live entry). An unmapped range leaves its slot empty (null) rather than
   * deleted: the next map at that IOVA (the IOVA caches hand it straight back)
   * refills it without the Map shrinking and growing again.
   */
  private readonly byIova = new Map<number | bigint, MappedRange | null>();
  private count = 0;
  private dead = 0;

  get size(): number {
    return this.count;
  }

  add(iova: bigint, phys: bigint, size: bigint, prot: number, line: number): void {
    const key = keyOf(iova);
    const cur = this.byIova.get(key);
    if (cur === null) this.dead--;
    if (cur === undefined || cur === null) this.count++;
    this.byIova.set(key, { iova, phys, size, prot, line });
  }

  private drop(key: number | bigint): void {
    this.byIova.set(key, null);
    this.count--;
    this.dead++;
  }

  /** iommu_unmap of [iova, iova + size): drops what it covers, keeps the parts of ranges it cuts. */
  remove(iova: bigint, size: bigint): void {
    if (size <= 0n) return;
    const key = keyOf(iova);
    const exact = this.byIova.get(key);
    if (exact && exact.size === size) this.drop(key);
    else {
      const end = iova + size;
      for (const r of [...this.byIova.values()]) {
        if (r === null) continue;
        const rEnd = r.iova + r.size;
        if (rEnd <= iova || r.iova >= end) continue;
        this.drop(keyOf(r.iova));
        if (r.iova < iova) this.add(r.iova, r.phys, iova - r.iova, r.prot, r.line);
        if (rEnd > end) this.add(end, r.phys + (end - r.iova), rEnd - end, r.prot, r.line);
      }
    }
    if (this.dead > DEAD_SLOTS_KEPT && this.dead > this.count) {
      for (const [k, r] of this.byIova) if (r === null) this.byIova.delete(k);
      this.dead = 0;
    }
  }

  /** All ranges, by IOVA. */
  list(): MappedRange[] {
    const out: MappedRange[] = [];
    for (const r of this.byIova.values()) if (r !== null) out.push(r);
    return out.sort((a, b) => (a.iova < b.iova ? -1 : a.iova > b.iova ? 1 : 0));
  }
}
