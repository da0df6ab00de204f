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

export class DomainMappedRanges {
  /** Keyed by start IOVA; ranges never overlap (iommu_map refuses to map over a live entry). */
  private readonly byIova = new Map<bigint, MappedRange>();

  get size(): number {
    return this.byIova.size;
  }

  add(iova: bigint, phys: bigint, size: bigint, prot: number, line: number): void {
    this.byIova.set(iova, { iova, phys, size, prot, line });
  }

  /** iommu_unmap of [iova, iova + size): drops what it covers, keeps the parts of ranges it cuts. */
  remove(iova: bigint, size: bigint): void {
    if (size <= 0n) return;
    const exact = this.byIova.get(iova);
    if (exact && exact.size === size) {
      this.byIova.delete(iova);
      return;
    }
    const end = iova + size;
    for (const r of [...this.byIova.values()]) {
      const rEnd = r.iova + r.size;
      if (rEnd <= iova || r.iova >= end) continue;
      this.byIova.delete(r.iova);
      if (r.iova < iova) this.add(r.iova, r.phys, iova - r.iova, r.prot, r.line);
      if (rEnd > end) this.add(end, r.phys + (end - r.iova), rEnd - end, r.prot, r.line);
    }
  }

  /** All ranges, by IOVA. */
  list(): MappedRange[] {
    return [...this.byIova.values()].sort((a, b) => (a.iova < b.iova ? -1 : a.iova > b.iova ? 1 : 0));
  }
}
