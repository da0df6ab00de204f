// An IOMMU's IOTLB: cached IOVA -> PA translations per granule page, tagged
// by domain (ASID/VMID or DID) and PASID, LRU-replaced. Strict unmaps
// invalidate it at once; flush-queue domains leave stale entries until the
// queue is flushed, which is exactly what the device can still reach.

export interface IotlbEntry {
  domainId: number;
  pasid: number;
  /** Granule-aligned IOVA. */
  iova: bigint;
  phys: bigint;
  read: boolean;
  write: boolean;
  /** A nested domain's combined IOVA->PA entry also carries its stage-2 parent (the VMID): any stage-2 invalidation drops it (TLBI_NH_ALL). */
  s2DomainId?: number;
}

export class Iotlb {
  /** Insertion order is LRU order: the first key is the least recently used. */
  readonly entries = new Map<string, IotlbEntry>();
  hits = 0;
  misses = 0;
  invalidations = 0;

  constructor(readonly capacity: number, readonly granule: bigint) {}

  private key(domainId: number, pasid: number, page: bigint): string {
    return `${domainId}:${pasid}:${page}`;
  }

  lookup(domainId: number, pasid: number, iova: bigint): IotlbEntry | undefined {
    if (this.capacity === 0) return undefined;
    const k = this.key(domainId, pasid, iova & ~(this.granule - 1n));
    const e = this.entries.get(k);
    if (e) {
      this.entries.delete(k);
      this.entries.set(k, e);
    }
    return e;
  }

  /** Non-mutating probe for translate(): no LRU update, no counters. */
  peek(domainId: number, pasid: number, iova: bigint): IotlbEntry | undefined {
    if (this.capacity === 0) return undefined;
    return this.entries.get(this.key(domainId, pasid, iova & ~(this.granule - 1n)));
  }

  insert(entry: IotlbEntry): void {
    if (this.capacity === 0) return;
    const k = this.key(entry.domainId, entry.pasid, entry.iova);
    this.pasidsSeen.add(entry.pasid);
    if (entry.s2DomainId !== undefined) this.s2Parents.add(entry.s2DomainId);
    this.entries.delete(k);
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    this.entries.set(k, entry);
  }

  invalidateRange(domainId: number, iova: bigint, size: bigint): number {
    if (this.entries.size === 0) {
      // Nothing cached (a strict unmap of a mapping the device never reached): no page count to work out.
      this.invalidations++;
      return 0;
    }
    let n = 0;
    const end = iova + size;
    const pages = size / this.granule + 1n;
    if (pages <= 64n && pages <= BigInt(this.entries.size)) {
      // Few pages: look each one up (every PASID tag of the domain shares the page keys' prefix), no scan of the rest.
      n += this.invalidatePages(domainId, iova & ~(this.granule - 1n), end);
    } else {
      for (const [k, e] of this.entries) {
        if (e.domainId === domainId && e.iova + this.granule > iova && e.iova < end) {
          this.entries.delete(k);
          n++;
        }
      }
    }
    n += this.invalidateNestedOver(domainId);
    this.invalidations++;
    return n;
  }

  private readonly pasidsSeen = new Set<number>([0]);

  private invalidatePages(domainId: number, start: bigint, end: bigint): number {
    let n = 0;
    for (let page = start; page < end; page += this.granule) {
      for (const pasid of this.pasidsSeen) if (this.entries.delete(this.key(domainId, pasid, page))) n++;
    }
    return n;
  }

  invalidateDomain(domainId: number): number {
    let n = this.invalidateNestedOver(domainId);
    for (const [k, e] of this.entries) {
      if (e.domainId === domainId) {
        this.entries.delete(k);
        n++;
      }
    }
    this.invalidations++;
    return n;
  }

  /** Stage-2 parents that tag some nested domain's entries. */
  private readonly s2Parents = new Set<number>();

  /** A stage-2 invalidation of a nest parent also drops every combined entry over it (SMMUv3 TLBI_NH_ALL for the VMID). */
  private invalidateNestedOver(s2DomainId: number): number {
    if (!this.s2Parents.has(s2DomainId)) return 0;
    let n = 0;
    for (const [k, e] of this.entries) {
      if (e.s2DomainId === s2DomainId) {
        this.entries.delete(k);
        n++;
      }
    }
    return n;
  }
}
