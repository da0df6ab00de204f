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

/** Largest IOVA whose 4 KiB page number is a key, as a number. */
const PAGE_KEYED_END_N = 2 ** 43;

/** keyOf for an IOVA also given as a number (an integer below 2^53): the same key, without a conversion. */
function keyOfN(iovaN: number, iova: bigint): number | bigint {
  // & takes the low 32 bits exactly (no floating-point remainder).
  return iovaN < PAGE_KEYED_END_N && (iovaN & 0xfff) === 0 ? iovaN / 4096 : iova;
}

/** Unmapped slots kept before they are dropped. */
const DEAD_SLOTS_KEPT = 64;

/** A key's place in the map: its range, or null once unmapped (the slot stays for the next map at that IOVA). */
interface RangeSlot {
  range: MappedRange | null;
}

export class DomainMappedRanges {
  /**
   * Keyed by start IOVA; ranges never overlap (iommu_map refuses to map over
   * a live entry). An unmapped range leaves its slot empty rather than
   * deleted: the next map at that IOVA (the IOVA caches hand it straight back)
   * refills it without the Map shrinking and growing again.
   */
  private readonly byIova = new Map<number | bigint, RangeSlot>();
  private count = 0;
  private dead = 0;
  /** The key found last and its slot: a driver loop maps and unmaps one IOVA, which then takes no Map lookup (-1 is never a key). */
  private lastKey: number | bigint = -1;
  private lastSlot: RangeSlot | null = null;

  get size(): number {
    return this.count;
  }

  add(iova: bigint, phys: bigint, size: bigint, prot: number, line: number): void {
    this.addAt(keyOf(iova), iova, phys, size, prot, line);
  }

  /** add() with the IOVA also as a number (an integer below 2^53). */
  addN(iovaN: number, iova: bigint, phys: bigint, size: bigint, prot: number, line: number): void {
    this.addAt(keyOfN(iovaN, iova), iova, phys, size, prot, line);
  }

  private slotOf(key: number | bigint): RangeSlot | undefined {
    if (key === this.lastKey && this.lastSlot !== null) return this.lastSlot;
    const slot = this.byIova.get(key);
    if (slot !== undefined) {
      this.lastKey = key;
      this.lastSlot = slot;
    }
    return slot;
  }

  private addAt(key: number | bigint, iova: bigint, phys: bigint, size: bigint, prot: number, line: number): void {
    const range: MappedRange = { iova, phys, size, prot, line };
    const slot = this.slotOf(key);
    this.count++;
    if (slot === undefined) {
      const made = { range };
      this.byIova.set(key, made);
      this.lastKey = key;
      this.lastSlot = made;
      return;
    }
    if (slot.range === null) this.dead--;
    else this.count--; // replaced, not added
    slot.range = range;
  }

  private drop(slot: RangeSlot): void {
    slot.range = null;
    this.count--;
    this.dead++;
  }

  /** iommu_unmap of [iova, iova + size): drops what it covers, keeps the parts of ranges it cuts. */
  remove(iova: bigint, size: bigint): void {
    if (size <= 0n) return;
    this.removeAt(keyOf(iova), iova, size);
  }

  /** remove() with the IOVA also as a number (an integer below 2^53). */
  removeN(iovaN: number, iova: bigint, size: bigint): void {
    if (size <= 0n) return;
    this.removeAt(keyOfN(iovaN, iova), iova, size);
  }

  private removeAt(key: number | bigint, iova: bigint, size: bigint): void {
    const exact = this.slotOf(key);
    if (exact !== undefined && exact.range !== null && exact.range.size === size) this.drop(exact);
    else {
      const end = iova + size;
      for (const slot of [...this.byIova.values()]) {
        const r = slot.range;
        if (r === null) continue;
        const rEnd = r.iova + r.size;
        if (rEnd <= iova || r.iova >= end) continue;
        this.drop(slot);
        if (r.iova < iova) this.add(r.iova, r.phys, iova - r.iova, r.prot, r.line);
        if (rEnd > end) this.add(end, r.phys + (end - r.iova), rEnd - end, r.prot, r.line);
      }
    }
    if (this.dead > DEAD_SLOTS_KEPT && this.dead > this.count) {
      for (const [k, slot] of this.byIova) if (slot.range === null) this.byIova.delete(k);
      this.dead = 0;
      this.lastKey = -1;
      this.lastSlot = null;
    }
  }

  /** All ranges, by IOVA. */
  list(): MappedRange[] {
    const out: MappedRange[] = [];
    for (const slot of this.byIova.values()) if (slot.range !== null) out.push(slot.range);
    return out.sort((a, b) => (a.iova < b.iova ? -1 : a.iova > b.iova ? 1 : 0));
  }
}
