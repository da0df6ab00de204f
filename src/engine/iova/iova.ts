// The kernel IOVA allocator (drivers/iommu/iova.c, include/linux/iova.h):
// struct iova_domain with its rbtree of allocated ranges, top-down
// allocation from the cached nodes, reserve_iova, and the fast paths through
// the per-CPU range caches (iova-rcache.ts).
//
// The rbtree is kept as two sorted parallel arrays (pfn_lo, pfn_hi) with the
// anchor node last. Every iova.c decision depends only on the in-order
// sequence of nodes (rb_prev/rb_next/lookup), never on the tree's shape, so
// this is exact; see iovaFindLimit for the one place that needs an argument.
// Cached nodes are held by their pfn_lo (unique in the tree) rather than by
// reference, so a deep-cloned snapshot stays self-consistent.

import { KernelBug } from '../errno';
import {
  IOVA_RANGE_CACHE_MAX_SIZE,
  IovaRcache,
  RcacheClassStats,
  cachedPfns,
  drainCpuRcaches,
  drainDepots,
  iovaDepotWorkFunc,
  iovaRcacheGetPfn,
  iovaRcacheInsertPfn,
  orderBase2,
  rcacheClassStats,
} from './iova-rcache';

/** IOVA_ANCHOR (~0UL): pfn of the sentinel node above all usable space. */
export const IOVA_ANCHOR = Number.POSITIVE_INFINITY;

/** alloc_iova_fast rounds sizes below this (1 << (IOVA_RANGE_CACHE_MAX_SIZE - 1)) up to a power of two. */
const FAST_ROUNDUP_LIMIT = 1 << (IOVA_RANGE_CACHE_MAX_SIZE - 1);

export interface IovaRange {
  pfnLo: number;
  pfnHi: number;
}

export interface IovaMapEntry extends IovaRange {
  /** Held by an rcache magazine or depot: in the tree but free for reuse. */
  cached: boolean;
}

export type IovaAllocSource = 'tree' | 'rcache' | 'fail';
export type IovaFreeDest = 'rcache' | 'tree';

/** fls_long(x): 1-based index of the highest set bit, 0 for x = 0. */
function flsLong(x: number): number {
  let n = 0;
  while (x >= 0x100000000) {
    x = Math.floor(x / 0x100000000);
    n += 32;
  }
  return n + 32 - Math.clz32(x);
}

/** roundup_pow_of_two(n) for n >= 1. */
function roundupPowOfTwo(n: number): number {
  if (n <= 1) return 1;
  return n <= 0x40000000 ? 1 << (32 - Math.clz32(n - 1)) : 2 ** flsLong(n - 1);
}

/** iova_rcache_range(): the largest size the range caches serve, PAGE_SIZE << 5. */
export function iovaRcacheRange(pageSize: bigint = 4096n): bigint {
  return pageSize << BigInt(IOVA_RANGE_CACHE_MAX_SIZE - 1);
}

/** struct iova_domain, set up by init_iova_domain + iova_domain_init_rcaches. */
export class IovaDomain {
  readonly granule: bigint;
  /** iova_shift(): __ffs(granule). */
  readonly shift: number;
  readonly startPfn: number;
  /** dma_32bit_pfn: first pfn above 4 GiB (exclusive 32-bit limit). */
  readonly dma32bitPfn: number;
  /** max32_alloc_size: sizes at or above this fail fast under a 32-bit limit. */
  max32AllocSize: number;
  /** cached_node, as its pfn_lo (IOVA_ANCHOR = the anchor). */
  cachedNodePfn = IOVA_ANCHOR;
  /** cached32_node, as its pfn_lo (IOVA_ANCHOR = the anchor). */
  cached32NodePfn = IOVA_ANCHOR;
  readonly ncpus: number;
  /** rcaches[order]; null after putIovaDomain. */
  rcaches: IovaRcache[] | null;

  /** In-order pfn_lo / pfn_hi of every rbtree node, anchor last. */
  private readonly lo: number[] = [IOVA_ANCHOR];
  private readonly hi: number[] = [IOVA_ANCHOR];

  /** Where the last allocIovaFast got its range. */
  lastAllocSource: IovaAllocSource = 'fail';
  /** Whether the last allocIovaFast ran the flush-and-retry path. */
  lastFlushRan = false;
  /** Cached ranges returned to the tree by that flush (0 if none ran). */
  lastFlushed = 0;
  /** Where the last freeIovaFast put its range. */
  lastFreeDest: IovaFreeDest = 'tree';
  /** WARN_ON()s hit, in order (callers may forward them to the trace). */
  readonly warnings: string[] = [];

  /**
   * init_iova_domain(iovad, granule, start_pfn) + iova_domain_init_rcaches().
   * Throws where the kernel would BUG(): granule not a power of two or above PAGE_SIZE.
   */
  constructor(granule: bigint, startPfn: number, ncpus = 1, pageSize: bigint = 4096n) {
    if (granule <= 0n || (granule & (granule - 1n)) !== 0n || granule > pageSize) {
      throw new KernelBug(`kernel BUG at drivers/iommu/iova.c: init_iova_domain: BUG_ON((granule > PAGE_SIZE) || !is_power_of_2(granule)) with granule 0x${granule.toString(16)}, PAGE_SIZE 0x${pageSize.toString(16)}`);
    }
    let shift = 0;
    while (granule >> BigInt(shift) > 1n) shift++;
    // Pfns are JS numbers; below a 4 KiB granule a 64-bit limit pfn would not fit in 2^53.
    if (shift < 12) throw new RangeError(`IOVA granule ${granule} below 4 KiB is not emulated`);
    if (!Number.isSafeInteger(startPfn) || startPfn < 0) throw new RangeError(`bad start_pfn ${startPfn}`);
    if (!Number.isInteger(ncpus) || ncpus < 1) throw new RangeError(`bad cpu count ${ncpus}`);
    this.granule = granule;
    this.shift = shift;
    this.startPfn = startPfn;
    this.dma32bitPfn = 2 ** (32 - shift);
    this.max32AllocSize = this.dma32bitPfn;
    this.ncpus = ncpus;
    const rcaches: IovaRcache[] = [];
    for (let i = 0; i < IOVA_RANGE_CACHE_MAX_SIZE; i++) rcaches.push(new IovaRcache(ncpus));
    this.rcaches = rcaches;
  }

  // ---- include/linux/iova.h helpers -------------------------------------

  /** iova_mask(). */
  iovaMask(): bigint {
    return this.granule - 1n;
  }

  /** iova_offset(iovad, iova): offset inside the granule. */
  iovaOffset(addr: bigint): bigint {
    return addr & (this.granule - 1n);
  }

  /** iova_align(iovad, size): round up to the granule. */
  iovaAlign(size: bigint): bigint {
    return (size + this.granule - 1n) & ~(this.granule - 1n);
  }

  /** iova_align_down(iovad, size). */
  iovaAlignDown(size: bigint): bigint {
    return size & ~(this.granule - 1n);
  }

  /** iova_pfn(iovad, iova). */
  iovaPfn(addr: bigint): number {
    return Number(addr >> BigInt(this.shift));
  }

  /** iova_dma_addr(): the bus address of a pfn. */
  iovaDmaAddr(pfn: number): bigint {
    return BigInt(pfn) << BigInt(this.shift);
  }

  // ---- rbtree equivalents ------------------------------------------------

  /** Number of rbtree nodes, the anchor excluded. */
  get nodeCount(): number {
    return this.lo.length - 1;
  }

  /** Index of the node whose pfn_lo is `pfnLo` (it must exist). */
  private nodeIndex(pfnLo: number): number {
    const lo = this.lo;
    let a = 0;
    let b = lo.length - 1;
    while (a < b) {
      const m = (a + b) >>> 1;
      if (lo[m] < pfnLo) a = m + 1;
      else b = m;
    }
    return a;
  }

  /** private_find_iova: index of the node containing pfn, or -1. */
  private privateFindIova(pfn: number): number {
    const lo = this.lo;
    let a = 0;
    let b = lo.length;
    while (a < b) {
      const m = (a + b) >>> 1;
      if (lo[m] <= pfn) a = m + 1;
      else b = m;
    }
    const i = a - 1;
    // The anchor (only reachable with pfn ~0UL) is never handed out or freed.
    return i >= 0 && i < lo.length - 1 && pfn <= this.hi[i] ? i : -1;
  }

  /**
   * iova_find_limit: where the retry pass starts. The kernel walks the tree
   * and lands either on the node straddling limitPfn or on the first node
   * above it, depending on the tree's shape; both give the same allocation
   * (starting above, the first step moves to the straddling node with the
   * same high bound, or fails either way), so the first node with
   * pfn_hi >= limitPfn is used.
   */
  private iovaFindLimit(limitPfn: number): number {
    const hi = this.hi;
    if (limitPfn > this.dma32bitPfn) return hi.length - 1;
    let a = 0;
    let b = hi.length - 1;
    while (a < b) {
      const m = (a + b) >>> 1;
      if (hi[m] < limitPfn) a = m + 1;
      else b = m;
    }
    return a;
  }

  /** __cached_rbnode_delete_update + rb_erase of node i (remove_iova). */
  private removeIova(i: number): void {
    const fLo = this.lo[i];
    const fHi = this.hi[i];
    const next = this.lo[i + 1];
    if (fLo === this.cached32NodePfn || (fHi < this.dma32bitPfn && fLo >= this.cached32NodePfn)) {
      this.cached32NodePfn = next;
    }
    // Freeing anything below 4 GiB may open room, so re-enable the 32-bit search.
    if (fLo < this.dma32bitPfn) this.max32AllocSize = this.dma32bitPfn;
    if (fLo >= this.cachedNodePfn) this.cachedNodePfn = next;
    this.lo.splice(i, 1);
    this.hi.splice(i, 1);
  }

  /**
   * __alloc_and_insert_iova_range: walk down from the cached node looking
   * for a gap below the exclusive limit; on failure retry once in the space
   * above the cached node; on final failure record max32_alloc_size.
   * Returns the new pfn_lo or -1.
   */
  private allocAndInsertIovaRange(size: number, limitPfn: number, sizeAligned: boolean): number {
    const lo = this.lo;
    const hi = this.hi;
    const align = sizeAligned ? 2 ** flsLong(size - 1) : 1;
    let highPfn = limitPfn;
    let lowPfn = this.startPfn;

    if (limitPfn <= this.dma32bitPfn && size >= this.max32AllocSize) return -1;

    let curr = this.nodeIndex(limitPfn <= this.dma32bitPfn ? this.cached32NodePfn : this.cachedNodePfn);
    const retryPfn = hi[curr];
    let retried = false;
    let newPfn: number;
    let prev: number;
    for (;;) {
      do {
        highPfn = Math.min(highPfn, lo[curr]);
        // (high - size) wraps to ~2^64 in C when high < size: above every node, so the walk stops.
        if (highPfn < size) newPfn = Number.POSITIVE_INFINITY;
        else {
          newPfn = highPfn - size;
          newPfn -= newPfn % align;
        }
        prev = curr;
        curr--;
      } while (curr >= 0 && newPfn <= hi[curr] && newPfn >= lowPfn);

      if (highPfn >= size && newPfn >= lowPfn) break;
      // The kernel would spin forever if the cached node ended at start_pfn - 1
      // (only possible with reserve_iova below start_pfn); retry just once.
      if (!retried && lowPfn === this.startPfn && retryPfn < limitPfn) {
        retried = true;
        highPfn = limitPfn;
        lowPfn = retryPfn + 1;
        curr = this.iovaFindLimit(limitPfn);
        continue;
      }
      this.max32AllocSize = size;
      return -1;
    }

    // The new node sits between curr and prev in order, i.e. at prev's index.
    lo.splice(prev, 0, newPfn);
    hi.splice(prev, 0, newPfn + size - 1);
    // __cached_rbnode_insert_update
    if (newPfn + size - 1 < this.dma32bitPfn) this.cached32NodePfn = newPfn;
    else this.cachedNodePfn = newPfn;
    return newPfn;
  }

  /**
   * alloc_iova(iovad, size, limit_pfn, size_aligned): a tree allocation of
   * `size` granules ending at or below the inclusive limitPfn, naturally
   * aligned to roundup_pow_of_two(size) when sizeAligned.
   */
  allocIova(size: number, limitPfn: number, sizeAligned: boolean): IovaRange | null {
    checkSize(size);
    const pfn = this.allocAndInsertIovaRange(size, limitPfn + 1, sizeAligned);
    return pfn < 0 ? null : { pfnLo: pfn, pfnHi: pfn + size - 1 };
  }

  /** find_iova: the node containing pfn. */
  findIova(pfn: number): IovaRange | null {
    const i = this.privateFindIova(pfn);
    return i < 0 ? null : { pfnLo: this.lo[i], pfnHi: this.hi[i] };
  }

  /** free_iova: erase the node containing pfn (no-op if none). True if one was erased. */
  freeIova(pfn: number): boolean {
    const i = this.privateFindIova(pfn);
    if (i < 0) return false;
    this.removeIova(i);
    return true;
  }

  /**
   * reserve_iova(iovad, pfn_lo, pfn_hi): overlapping nodes are stretched
   * down to cover the gaps of the request (the kernel lowers their pfn_lo in
   * place) and any tail past the last one becomes a new node. Returns the
   * node covering the end of the range, or null on the kernel's WARN for
   * pfns beyond ULLONG_MAX >> shift. Does not touch the cached nodes' choice.
   */
  reserveIova(pfnLo: number, pfnHi: number): IovaRange | null {
    const maxPfn = 2 ** (64 - this.shift) - 1;
    if (pfnLo > maxPfn || pfnHi > maxPfn) {
      this.warnings.push(`reserve_iova: pfn range 0x${pfnLo.toString(16)}-0x${pfnHi.toString(16)} beyond the address space`);
      return null;
    }
    const lo = this.lo;
    const hi = this.hi;
    // Nodes ending below pfnLo can neither overlap nor stop the kernel's scan.
    let i = this.iovaFindFirstEndingAtOrAbove(pfnLo);
    let overlap = false;
    for (; i < lo.length; i++) {
      if (pfnLo <= hi[i] && pfnHi >= lo[i]) {
        // __adjust_overlap_range
        if (pfnLo < lo[i]) {
          if (this.cachedNodePfn === lo[i]) this.cachedNodePfn = pfnLo;
          if (this.cached32NodePfn === lo[i]) this.cached32NodePfn = pfnLo;
          lo[i] = pfnLo;
        }
        if (pfnHi > hi[i]) pfnLo = hi[i] + 1;
        if (pfnLo >= lo[i] && pfnHi <= hi[i]) return { pfnLo: lo[i], pfnHi: hi[i] };
        overlap = true;
      } else if (overlap) {
        break;
      }
    }
    // __insert_new_range: iova_insert_rbtree from the root.
    const at = this.iovaFindFirstEndingAtOrAbove(pfnLo);
    if (lo[at] === pfnLo) {
      this.warnings.push(`iova_insert_rbtree: pfn 0x${pfnLo.toString(16)} already in the tree`);
    } else {
      lo.splice(at, 0, pfnLo);
      hi.splice(at, 0, pfnHi);
    }
    return { pfnLo, pfnHi };
  }

  /** First node index with pfn_hi >= pfn (the anchor at worst). */
  private iovaFindFirstEndingAtOrAbove(pfn: number): number {
    const hi = this.hi;
    let a = 0;
    let b = hi.length - 1;
    while (a < b) {
      const m = (a + b) >>> 1;
      if (hi[m] < pfn) a = m + 1;
      else b = m;
    }
    return a;
  }

  // ---- fast paths through the range caches ------------------------------

  private liveRcaches(cpu: number): IovaRcache[] {
    const rc = this.rcaches;
    if (rc === null) throw new Error('IOVA domain used after put_iova_domain');
    if (cpu < 0 || cpu >= this.ncpus || !Number.isInteger(cpu)) throw new RangeError(`no cpu ${cpu}`);
    return rc;
  }

  /**
   * alloc_iova_fast(iovad, size, limit_pfn, flush_rcache): sizes below 32
   * are rounded up to a power of two; try this CPU's range cache, then the
   * tree (size-aligned); if that fails and flushRcache is set, return every
   * CPU's cached ranges and the depots to the tree and try the tree once
   * more. Returns the pfn, or 0 on failure.
   */
  allocIovaFast(size: number, limitPfn: number, flushRcache: boolean, cpu = 0): number {
    const rcaches = this.liveRcaches(cpu);
    checkSize(size);
    if (size < FAST_ROUNDUP_LIMIT) size = roundupPowOfTwo(size);
    this.lastFlushRan = false;
    this.lastFlushed = 0;

    // iova_rcache_get: the magazine limit is (limit_pfn + 1) - size, unsigned in C.
    const order = orderBase2(size);
    if (order < IOVA_RANGE_CACHE_MAX_SIZE) {
      const magLimit = limitPfn + 1 - size;
      const pfn = iovaRcacheGetPfn(rcaches[order], cpu, magLimit < 0 ? Number.POSITIVE_INFINITY : magLimit);
      if (pfn !== 0) {
        this.lastAllocSource = 'rcache';
        return pfn;
      }
    }

    for (;;) {
      const pfn = this.allocAndInsertIovaRange(size, limitPfn + 1, true);
      if (pfn >= 0) {
        this.lastAllocSource = 'tree';
        return pfn;
      }
      if (!flushRcache) break;
      flushRcache = false;
      this.lastFlushRan = true;
      for (let c = 0; c < this.ncpus; c++) this.lastFlushed += this.freeCpuCachedIovas(c);
      this.lastFlushed += this.freeGlobalCachedIovas();
    }
    this.lastAllocSource = 'fail';
    return 0;
  }

  /**
   * free_iova_fast(iovad, pfn, size): cache the range on this CPU if its
   * order (of the size as requested, not rounded) is cacheable, else free_iova.
   */
  freeIovaFast(pfn: number, size: number, cpu = 0): void {
    const rcaches = this.liveRcaches(cpu);
    const order = orderBase2(size);
    if (order < IOVA_RANGE_CACHE_MAX_SIZE && iovaRcacheInsertPfn(rcaches[order], cpu, pfn)) {
      this.lastFreeDest = 'rcache';
      return;
    }
    this.lastFreeDest = 'tree';
    this.freeIova(pfn);
  }

  /** iova_magazine_free_pfns, tree side: erase each drained pfn's node. Returns how many were erased. */
  private iovaMagazineFreePfns(pfns: readonly number[]): number {
    let n = 0;
    for (const pfn of pfns) {
      const i = this.privateFindIova(pfn);
      if (i < 0) {
        this.warnings.push(`iova_magazine_free_pfns: cached pfn 0x${pfn.toString(16)} not in the tree`);
        continue;
      }
      this.removeIova(i);
      n++;
    }
    return n;
  }

  /** free_cpu_cached_iovas (also the CPU-hotplug-dead callback). Returns ranges returned to the tree. */
  freeCpuCachedIovas(cpu: number): number {
    return this.iovaMagazineFreePfns(drainCpuRcaches(this.liveRcaches(cpu), cpu));
  }

  /** free_global_cached_iovas: empty every depot. Returns ranges returned to the tree. */
  freeGlobalCachedIovas(): number {
    return this.iovaMagazineFreePfns(drainDepots(this.liveRcaches(0)));
  }

  /** Whether some class's iova_depot_work_func is queued. */
  depotWorkPending(): boolean {
    return this.rcaches !== null && this.rcaches.some((r) => r.workPending);
  }

  /**
   * Let IOVA_DEPOT_DELAY expire up to maxRounds times: each expiry runs every
   * queued iova_depot_work_func once, which frees one depot magazine while the
   * depot holds more than num_online_cpus() (all emulated CPUs are online).
   * The default runs until the trim settles. Returns ranges returned to the tree.
   */
  depotWork(maxRounds = Number.POSITIVE_INFINITY): number {
    const rcaches = this.liveRcaches(0);
    let freed = 0;
    for (let round = 0; round < maxRounds && this.depotWorkPending(); round++) {
      for (const rcache of rcaches) {
        if (rcache.workPending) freed += this.iovaMagazineFreePfns(iovaDepotWorkFunc(rcache, this.ncpus));
      }
    }
    return freed;
  }

  /** put_iova_domain: drop the caches (without returning their ranges) and every node. */
  putIovaDomain(): void {
    this.rcaches = null;
    this.lo.length = 0;
    this.hi.length = 0;
    this.lo.push(IOVA_ANCHOR);
    this.hi.push(IOVA_ANCHOR);
    this.cachedNodePfn = IOVA_ANCHOR;
    this.cached32NodePfn = IOVA_ANCHOR;
  }

  // ---- inspection --------------------------------------------------------

  /** Tree nodes in ascending order (anchor excluded), flagging those held by the caches. */
  ranges(): IovaMapEntry[] {
    const cached = this.rcaches === null ? new Set<number>() : cachedPfns(this.rcaches);
    const out: IovaMapEntry[] = [];
    for (let i = 0; i < this.lo.length - 1; i++) {
      out.push({ pfnLo: this.lo[i], pfnHi: this.hi[i], cached: cached.has(this.lo[i]) });
    }
    return out;
  }

  /** Per size class occupancy of the range caches (empty after put). */
  rcacheStats(): RcacheClassStats[] {
    return this.rcaches === null ? [] : this.rcaches.map((r, order) => rcacheClassStats(r, order));
  }

  /** The cached_node / cached32_node ranges (pfns IOVA_ANCHOR for the anchor). */
  cachedNodes(): { cachedNode: IovaRange; cached32Node: IovaRange } {
    const at = (pfnLo: number): IovaRange => {
      const i = this.nodeIndex(pfnLo);
      return { pfnLo: this.lo[i], pfnHi: this.hi[i] };
    };
    return { cachedNode: at(this.cachedNodePfn), cached32Node: at(this.cached32NodePfn) };
  }
}

function checkSize(size: number): void {
  // size 0 is undefined behaviour in the kernel (roundup_pow_of_two(0), size - 1 wrapping).
  if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`bad IOVA size ${size}`);
}
