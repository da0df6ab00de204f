// The IOVA range caches of drivers/iommu/iova.c: per-CPU "loaded" and "prev"
// magazines plus a per-size-class depot of full magazines (Bonwick & Adams
// magazines, v6.7+ unbounded depot list). This file holds only the cache
// data and its bookkeeping; returning cached ranges to the tree is done by
// IovaDomain, which receives the pfns to free in the kernel's order.

/** IOVA_RANGE_CACHE_MAX_SIZE: size classes 0..5, i.e. 1..32 granules. */
export const IOVA_RANGE_CACHE_MAX_SIZE = 6;

/** IOVA_MAG_SIZE: 127 pfns, so a kernel magazine is exactly 1 KiB. */
export const IOVA_MAG_SIZE = 127;

/** IOVA_DEPOT_DELAY in milliseconds (msecs_to_jiffies(100)). */
export const IOVA_DEPOT_DELAY_MS = 100;

/** order_base_2(n): ceil(log2(n)), with order_base_2(0) = order_base_2(1) = 0. */
export function orderBase2(n: number): number {
  if (n <= 1) return 0;
  if (n <= 0x80000000) return 32 - Math.clz32(n - 1);
  let k = 32;
  while (2 ** k < n) k++;
  return k;
}

/** struct iova_magazine: a fixed array of pfns; `size` counts the used slots. */
export class IovaMagazine {
  size = 0;
  readonly pfns: number[] = new Array<number>(IOVA_MAG_SIZE).fill(0);
}

/** struct iova_cpu_rcache: one CPU's two magazines for one size class. */
export class IovaCpuRcache {
  loaded = new IovaMagazine();
  prev = new IovaMagazine();
}

/** struct iova_rcache: one size class (order) of the range cache. */
export class IovaRcache {
  /** rcache->depot as a stack: the kernel's singly linked list pushes and pops at its head. */
  readonly depot: IovaMagazine[] = [];
  readonly cpuRcaches: IovaCpuRcache[] = [];
  /** Whether rcache->work (iova_depot_work_func) is queued; emulated time runs it explicitly. */
  workPending = false;

  constructor(ncpus: number) {
    for (let cpu = 0; cpu < ncpus; cpu++) this.cpuRcaches.push(new IovaCpuRcache());
  }

  get depotSize(): number {
    return this.depot.length;
  }
}

/**
 * iova_magazine_pop: take the most recently pushed pfn that is <= limitPfn,
 * filling its slot with the top entry. 0 if no pfn fits (the caller then
 * falls back to the tree, even if the magazine is not empty).
 */
export function iovaMagazinePop(mag: IovaMagazine, limitPfn: number): number {
  const pfns = mag.pfns;
  let i = mag.size - 1;
  while (pfns[i] > limitPfn) {
    if (i === 0) return 0;
    i--;
  }
  const pfn = pfns[i];
  pfns[i] = pfns[--mag.size];
  return pfn;
}

/** iova_depot_pop: a depot magazine is always full (the kernel re-sets size after unlinking). */
function iovaDepotPop(rcache: IovaRcache): IovaMagazine {
  const mag = rcache.depot.pop() as IovaMagazine;
  mag.size = IOVA_MAG_SIZE;
  return mag;
}

/**
 * __iova_rcache_insert: push into the CPU's loaded magazine, else swap in
 * prev if it has room, else retire the full loaded magazine to the depot
 * (scheduling the depot trim) and start a fresh one. Magazine allocation
 * never fails here, so the insert always succeeds.
 */
export function iovaRcacheInsertPfn(rcache: IovaRcache, cpu: number, pfn: number): boolean {
  const cr = rcache.cpuRcaches[cpu];
  if (cr.loaded.size === IOVA_MAG_SIZE) {
    if (cr.prev.size !== IOVA_MAG_SIZE) {
      const t = cr.prev;
      cr.prev = cr.loaded;
      cr.loaded = t;
    } else {
      rcache.depot.push(cr.loaded);
      rcache.workPending = true;
      cr.loaded = new IovaMagazine();
    }
  }
  const mag = cr.loaded;
  mag.pfns[mag.size++] = pfn;
  return true;
}

/**
 * __iova_rcache_get: pop from loaded, else from prev (swapped in), else
 * replace the empty loaded magazine with one from the depot. The depot swap
 * happens even when no pfn in it then fits the limit, as in the kernel.
 */
export function iovaRcacheGetPfn(rcache: IovaRcache, cpu: number, limitPfn: number): number {
  const cr = rcache.cpuRcaches[cpu];
  if (cr.loaded.size === 0) {
    if (cr.prev.size !== 0) {
      const t = cr.prev;
      cr.prev = cr.loaded;
      cr.loaded = t;
    } else if (rcache.depot.length > 0) {
      cr.loaded = iovaDepotPop(rcache);
    } else {
      return 0;
    }
  }
  return iovaMagazinePop(cr.loaded, limitPfn);
}

/** The pfns of one magazine in slot order, emptying it (iova_magazine_free_pfns minus the tree part). */
function drainMagazine(mag: IovaMagazine, out: number[]): void {
  for (let i = 0; i < mag.size; i++) out.push(mag.pfns[i]);
  mag.size = 0;
}

/** free_cpu_cached_iovas, cache side: every class's loaded then prev magazine of `cpu`. */
export function drainCpuRcaches(rcaches: readonly IovaRcache[], cpu: number): number[] {
  const out: number[] = [];
  for (const rcache of rcaches) {
    const cr = rcache.cpuRcaches[cpu];
    drainMagazine(cr.loaded, out);
    drainMagazine(cr.prev, out);
  }
  return out;
}

/** free_global_cached_iovas, cache side: every class's depot, head first. */
export function drainDepots(rcaches: readonly IovaRcache[]): number[] {
  const out: number[] = [];
  for (const rcache of rcaches) {
    while (rcache.depot.length > 0) drainMagazine(iovaDepotPop(rcache), out);
  }
  return out;
}

/**
 * One run of iova_depot_work_func for a class whose work is pending: if the
 * depot holds more than num_online_cpus() magazines, pop one and return its
 * pfns for freeing, and re-arm the work; otherwise the work goes idle.
 */
export function iovaDepotWorkFunc(rcache: IovaRcache, onlineCpus: number): number[] {
  rcache.workPending = false;
  if (rcache.depot.length <= onlineCpus) return [];
  const out: number[] = [];
  drainMagazine(iovaDepotPop(rcache), out);
  rcache.workPending = true;
  return out;
}

/** Occupancy of one size class, for the IOVA-map panel. */
export interface RcacheClassStats {
  order: number;
  /** Range size in granules (1 << order). */
  granules: number;
  /** Per CPU: pfn counts of the loaded and prev magazines. */
  cpus: { loaded: number; prev: number }[];
  depotMagazines: number;
  /** Total pfns held by this class (all CPUs plus the depot). */
  cachedRanges: number;
  depotWorkPending: boolean;
}

export function rcacheClassStats(rcache: IovaRcache, order: number): RcacheClassStats {
  const cpus = rcache.cpuRcaches.map((cr) => ({ loaded: cr.loaded.size, prev: cr.prev.size }));
  let cached = rcache.depot.length * IOVA_MAG_SIZE;
  for (const c of cpus) cached += c.loaded + c.prev;
  return {
    order,
    granules: 1 << order,
    cpus,
    depotMagazines: rcache.depot.length,
    cachedRanges: cached,
    depotWorkPending: rcache.workPending,
  };
}

/** Every pfn currently held by any magazine or depot (to flag cached tree nodes). */
export function cachedPfns(rcaches: readonly IovaRcache[]): Set<number> {
  const set = new Set<number>();
  const add = (m: IovaMagazine): void => {
    for (let i = 0; i < m.size; i++) set.add(m.pfns[i]);
  };
  for (const rcache of rcaches) {
    for (const cr of rcache.cpuRcaches) {
      add(cr.loaded);
      add(cr.prev);
    }
    for (const m of rcache.depot) add(m);
  }
  return set;
}
