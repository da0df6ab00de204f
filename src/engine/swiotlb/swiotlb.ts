// swiotlb (kernel/dma/swiotlb.c): struct io_tlb_mem with its default pool
// and, under CONFIG_SWIOTLB_DYNAMIC, grown and transient pools; the map,
// unmap and sync entry points with the bounce copies they make. Slot search
// and release per pool are in swiotlb-pool.ts.

import { u64 } from '../u64';
import {
  DMA_ATTR_NO_WARN,
  DMA_ATTR_SKIP_CPU_SYNC,
  DMA_BIDIRECTIONAL,
  DMA_FROM_DEVICE,
  DMA_TO_DEVICE,
  type DmaDirection,
} from '../dma-mapping/dma-direction';
import {
  INVALID_PHYS_ADDR,
  IO_TLB_MIN_SLABS,
  IO_TLB_SEGSIZE,
  IO_TLB_SHIFT,
  IO_TLB_SIZE,
  IoTlbPool,
  SEARCH_BUG_BOUNDARY,
  limitNareas,
  nrSlots,
  slotAddr,
  swiotlbAlignOffset,
  type ReleasedSlots,
  type SlotSearch,
} from './swiotlb-pool';

export {
  DMA_ATTR_NO_WARN,
  DMA_ATTR_SKIP_CPU_SYNC,
  DMA_BIDIRECTIONAL,
  DMA_FROM_DEVICE,
  DMA_NONE,
  DMA_TO_DEVICE,
} from '../dma-mapping/dma-direction';
export {
  INVALID_PHYS_ADDR,
  IO_TLB_DEFAULT_SIZE,
  IO_TLB_MIN_SLABS,
  IO_TLB_SEGSIZE,
  IO_TLB_SHIFT,
  IO_TLB_SIZE,
  IoTlbArea,
  IoTlbPool,
} from './swiotlb-pool';

/** enum dma_data_direction as swiotlb receives it (DMA_NONE included: syncs BUG() on it). */
export type SwiotlbDir = DmaDirection;

/** Where bounce copies go; PhysicalMemory satisfies it. */
export interface BounceCopier {
  copy(dst: bigint, src: bigint, len: number): void;
}

/** One swiotlb_bounce() memcpy: `len` bytes from `from` to `to`. */
export interface BounceCopy {
  from: bigint;
  to: bigint;
  len: number;
}

export const SWIOTLB_MSG_ALLOC_ALIGN = 'Alloc alignment may prevent fulfilling requests with max mapping_size';

/** "swiotlb buffer is full (sz: %zd bytes), total %lu (slots), used %lu (slots)". */
export function swiotlbFullMessage(sz: number, total: number, used: number): string {
  return `swiotlb buffer is full (sz: ${sz} bytes), total ${total} (slots), used ${used} (slots)`;
}

/** The dev_WARN_ONCE of swiotlb_bounce() when a sync runs past the allocation. */
export function swiotlbOverflowMessage(allocSize: number, size: number): string {
  return `Buffer overflow detected. Allocation size: ${allocSize}. Mapping size: ${size}.`;
}

export interface IoTlbMemConfig {
  /** Physical start of the default pool (memblock_alloc_low, PAGE_SIZE aligned). */
  base: bigint;
  /** swiotlb=<nslabs>; IO_TLB_DEFAULT_SIZE >> IO_TLB_SHIFT when booting without it. */
  nslabs: number;
  /** num_possible_cpus(), the default number of areas. */
  possibleCpus: number;
  pageSize: number;
  /** swiotlb=<nslabs>,<nareas>. */
  nareas?: number;
  /** CONFIG_SWIOTLB_DYNAMIC with can_grow (no remap callback). */
  dynamic?: boolean;
  /** swiotlb=force or SWIOTLB_FORCE: dma-direct bounces everything. */
  force?: boolean;
  /** CONFIG_DEBUG_FS: mem_used() reads the total_used atomic instead of summing areas. */
  debugFs?: boolean;
  /** MAX_PAGE_ORDER, which caps dynamically allocated pools. */
  maxPageOrder?: number;
}

export interface SwiotlbMapRequest {
  orig: bigint;
  mappingSize: number;
  /** unsigned int alloc_align_mask argument (0 for streaming maps). */
  allocAlignMask: bigint;
  /** dma_get_min_align_mask(dev). */
  minAlignMask: bigint;
  /** dma_get_seg_boundary(dev). */
  segBoundaryMask: bigint;
  /** raw_smp_processor_id(). */
  cpu: number;
  dir: SwiotlbDir;
  attrs: number;
  /** Device name: owner of transient pools and of dma_uses_io_tlb. */
  dev?: string;
}

/** Pool memory the caller must give back to the page allocator. */
export interface ReleasedPoolMemory {
  start: bigint;
  bytes: number;
}

export interface SwiotlbMapOk {
  ok: true;
  tlbAddr: bigint;
  /** First allocated slot, padding included (swiotlb_find_slots()'s return). */
  index: number;
  nslots: number;
  padSlots: number;
  area: number;
  /** The map's `size`: ALIGN(mapping_size + offset, alloc_align_mask + 1). */
  allocSize: number;
  poolStart: bigint;
  transient: boolean;
  /** The orig -> bounce copy made for every direction. */
  copy: BounceCopy | null;
  warnings: string[];
}

export interface SwiotlbMapFull {
  ok: false;
  reason: 'full';
  sz: number;
  total: number;
  used: number;
  message: string;
  /** False under DMA_ATTR_NO_WARN, which only silences the message. */
  printed: boolean;
  /** CONFIG_SWIOTLB_DYNAMIC: the dyn_alloc work was queued (the machine later calls growPool). */
  growScheduled: boolean;
  /** A transient pool was allocated, found unusable and freed again. */
  releasedTransient: ReleasedPoolMemory | null;
  warnings: string[];
}

/** A path on which the kernel would BUG(); no state was changed. */
export interface SwiotlbBug {
  ok: false;
  reason: 'bug';
  message: string;
  warnings: string[];
}

export type SwiotlbMapResult = SwiotlbMapOk | SwiotlbMapFull | SwiotlbBug;

/**
 * The device fields unmap and sync read (struct Device satisfies it): the
 * kernel takes min_align_mask from the device at unmap time, not from the
 * mapping, so a mask changed in between frees the wrong slot count.
 */
export interface SwiotlbDevice {
  /** Owner of transient pools and of dma_uses_io_tlb; '' when omitted. */
  name?: string;
  /** dma_get_min_align_mask(dev). */
  minAlignMask: bigint;
}

export interface SwiotlbUnmapOk {
  ok: true;
  /** False when the address is in no pool: swiotlb_tbl_unmap_single() does nothing. */
  found: boolean;
  copy: BounceCopy | null;
  /** Slots returned to a pool's free lists (null for a transient pool or no pool). */
  freed: ReleasedSlots | null;
  /** A transient pool deleted by this unmap; its memory goes back to the page allocator. */
  releasedTransient: ReleasedPoolMemory | null;
  warnings: string[];
}

export type SwiotlbUnmapResult = SwiotlbUnmapOk | SwiotlbBug;

export interface SwiotlbSyncOk {
  ok: true;
  found: boolean;
  copy: BounceCopy | null;
  warnings: string[];
}

export type SwiotlbSyncResult = SwiotlbSyncOk | SwiotlbBug;

/** A run of slots for the bounce-buffer panel: one mapping, or free slots of one area. */
export interface SwiotlbSlotRun {
  index: number;
  count: number;
  free: boolean;
  /** Slot address of the first slot of the run. */
  addr: bigint;
  /** orig_addr of the first mapped (non-padding) slot; null for free runs. */
  origAddr: bigint | null;
  /** io_tlb_slot.alloc_size of the run's first slot. */
  allocSize: number;
  padSlots: number;
  area: number;
}

export interface SwiotlbPoolView {
  start: bigint;
  end: bigint;
  nslabs: number;
  nareas: number;
  areaNslabs: number;
  transient: boolean;
  owner: string;
  areas: { used: number; index: number }[];
  runs: SwiotlbSlotRun[];
}

export interface SwiotlbView {
  nslabs: number;
  used: number;
  hiwater: number;
  transientNslabs: number;
  forceBounce: boolean;
  pools: SwiotlbPoolView[];
}

const U32 = 0xffff_ffffn;

/** unsigned int view of a mask argument. */
function u32(mask: bigint): number {
  return Number(mask & U32);
}

function isPowerOf2(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

/** roundup_pow_of_two() for the small counts used here. */
function roundupPowOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** ALIGN(x, a) with the kernel's mask arithmetic on size_t (a == 0 gives 0). */
function alignSizeT(x: number, a: number): number {
  const mask = BigInt.asUintN(64, BigInt(a) - 1n);
  return Number(BigInt.asUintN(64, (BigInt(x) + mask) & ~mask));
}

/** struct io_tlb_mem: the software IO TLB allocator. */
export class IoTlbMem {
  /** mem->pools in list order (newest first); the default pool alone without CONFIG_SWIOTLB_DYNAMIC. */
  readonly pools: IoTlbPool[] = [];
  /** Transient pools of all devices (each device's dma_io_tlb_pools, newest first). */
  readonly transientPools: IoTlbPool[] = [];
  readonly defpool: IoTlbPool;
  /** mem->nslabs: slots in all pools of mem->pools. */
  nslabs = 0;
  readonly forceBounce: boolean;
  readonly dynamic: boolean;
  /** mem->can_grow. */
  canGrow: boolean;
  readonly debugFs: boolean;
  readonly pageSize: number;
  readonly maxPageOrder: number;
  /** default_nslabs after boot-time rounding. */
  readonly defaultNslabs: number;
  /** default_nareas. */
  readonly defaultNareas: number;
  /** mem->total_used (CONFIG_DEBUG_FS), transient slots included. */
  totalUsed = 0;
  /** mem->used_hiwater. */
  usedHiwater = 0;
  /** mem->transient_nslabs. */
  transientNslabs = 0;
  /** The dyn_alloc work is queued and has not run yet. */
  dynAllocPending = false;
  /** Devices with dev->dma_uses_io_tlb set (only read under CONFIG_SWIOTLB_DYNAMIC). */
  readonly devicesUsingIoTlb: string[] = [];
  /** pr_info lines of the boot-time setup, with the "software IO TLB: " prefix. */
  readonly bootLog: string[] = [];

  /**
   * setup_io_tlb_npages() + swiotlb_adjust_nareas() + swiotlb_init_remap():
   * the slab count is rounded to whole segments and, once areas are set,
   * to a power of two; areas are the CPU count rounded to a power of two.
   */
  constructor(cfg: IoTlbMemConfig) {
    if (!isPowerOf2(cfg.pageSize) || cfg.pageSize < IO_TLB_SIZE) throw new RangeError(`bad page size ${cfg.pageSize}`);
    if (cfg.base % BigInt(cfg.pageSize) !== 0n) throw new RangeError('swiotlb pool base must be page aligned');
    if (!Number.isSafeInteger(cfg.nslabs) || cfg.nslabs < 0) throw new RangeError(`bad nslabs ${cfg.nslabs}`);
    this.pageSize = cfg.pageSize;
    this.forceBounce = cfg.force ?? false;
    this.dynamic = cfg.dynamic ?? false;
    this.canGrow = this.dynamic;
    this.debugFs = cfg.debugFs ?? true;
    this.maxPageOrder = cfg.maxPageOrder ?? 10;

    // "avoid tail segment of size < IO_TLB_SEGSIZE"
    let nslabs = Math.ceil(cfg.nslabs / IO_TLB_SEGSIZE) * IO_TLB_SEGSIZE;
    let nareas = cfg.nareas ?? cfg.possibleCpus;
    nareas = nareas <= 0 ? 1 : roundupPowOfTwo(nareas);
    this.bootLog.push(`software IO TLB: area num ${nareas}.`);
    // round_up_default_nslabs(): every area gets at least one segment, and the total is a power of two.
    if (nslabs < IO_TLB_SEGSIZE * nareas || !isPowerOf2(nslabs)) {
      if (nslabs < IO_TLB_SEGSIZE * nareas) nslabs = IO_TLB_SEGSIZE * nareas;
      nslabs = roundupPowOfTwo(nslabs);
      this.bootLog.push(
        `software IO TLB: SWIOTLB bounce buffer size roundup to ${Math.floor((nslabs * IO_TLB_SIZE) / (1 << 20))}MB`,
      );
    }
    this.defaultNslabs = nslabs;
    this.defaultNareas = nareas;

    this.defpool = new IoTlbPool(cfg.base, nslabs, limitNareas(nareas, nslabs), false);
    this.addMemPool(this.defpool);
  }

  /** add_mem_pool(): list_add_rcu puts a new pool at the head of mem->pools. */
  private addMemPool(pool: IoTlbPool): void {
    this.pools.unshift(pool);
    this.nslabs += pool.nslabs;
  }

  /** mem_used(): the total_used atomic with CONFIG_DEBUG_FS, else the sum of area->used over mem->pools. */
  get used(): number {
    return this.debugFs ? this.totalUsed : this.poolsUsed();
  }

  /** io_tlb_used_hiwater. */
  get hiwater(): number {
    return this.usedHiwater;
  }

  /** io_tlb_nslabs. */
  get totalSlots(): number {
    return this.nslabs;
  }

  /** Sum of area->used over mem->pools (mem_used() without CONFIG_DEBUG_FS). */
  poolsUsed(): number {
    let n = 0;
    for (const p of this.pools) n += p.used();
    return n;
  }

  /** Writing 0 to io_tlb_used_hiwater. */
  resetHiwater(): void {
    this.usedHiwater = 0;
  }

  /** swiotlb_max_mapping_size(): one segment less the slots min_align_mask may skip. */
  maxMappingSize(minAlignMask: bigint): number {
    const mask = u32(minAlignMask);
    const minAlign = mask ? Math.ceil(mask / IO_TLB_SIZE) * IO_TLB_SIZE : 0;
    return IO_TLB_SIZE * IO_TLB_SEGSIZE - minAlign;
  }

  /**
   * swiotlb_find_pool(): the pool holding `addr`, mem->pools first, then the
   * device's transient pools. Under CONFIG_SWIOTLB_DYNAMIC a device that never
   * mapped through swiotlb (dma_uses_io_tlb clear) finds nothing. Without a
   * device name (debugger views) every pool of every device is searched.
   */
  findPool(addr: bigint, devName?: string): IoTlbPool | null {
    if (this.dynamic && devName !== undefined && !this.devicesUsingIoTlb.includes(devName)) return null;
    for (const p of this.pools) if (p.contains(addr)) return p;
    for (const p of this.transientPools) if ((devName === undefined || p.owner === devName) && p.contains(addr)) return p;
    return null;
  }

  /** is_swiotlb_buffer(). */
  isSwiotlbBuffer(addr: bigint, dev?: SwiotlbDevice): boolean {
    return this.findPool(addr, dev ? (dev.name ?? '') : undefined) !== null;
  }

  /** The original address a bounce address stands for (swiotlb_bounce()'s arithmetic), or null. */
  origAddr(tlbAddr: bigint, dev?: SwiotlbDevice): bigint | null {
    const pool = this.findPool(tlbAddr, dev ? (dev.name ?? '') : undefined);
    if (!pool) return null;
    const index = Number((tlbAddr - pool.start) >> BigInt(IO_TLB_SHIFT));
    const orig = pool.origAddr[index];
    if (orig === INVALID_PHYS_ADDR) return null;
    const tlbOffset = Number(tlbAddr & BigInt(IO_TLB_SIZE - 1)) - swiotlbAlignOffset(u32(dev?.minAlignMask ?? 0n), 0, orig);
    return u64(orig + BigInt(tlbOffset));
  }

  /** Slots a pool grown by the dyn_alloc worker gets: default_nslabs capped at MAX_PAGE_ORDER pages. */
  get growNslabs(): number {
    const cap = (this.pageSize / IO_TLB_SIZE) * 2 ** this.maxPageOrder;
    return Math.min(this.defaultNslabs, cap);
  }

  /**
   * swiotlb_dyn_alloc(): the worker queued by a failed search adds a pool
   * at `base` (memory the machine allocated, growNslabs << IO_TLB_SHIFT
   * bytes unless it had to fall back to fewer slots).
   */
  growPool(base: bigint, nslabs = this.growNslabs): IoTlbPool {
    if (!this.dynamic) throw new Error('growPool needs CONFIG_SWIOTLB_DYNAMIC');
    if (nslabs < IO_TLB_MIN_SLABS) throw new RangeError(`a grown pool needs at least ${IO_TLB_MIN_SLABS} slots`);
    const pool = new IoTlbPool(base, nslabs, limitNareas(this.defaultNareas, nslabs), true);
    this.addMemPool(pool);
    this.dynAllocPending = false;
    return pool;
  }

  /**
   * swiotlb_tbl_map_single(): allocate slots for `orig`, record the per-slot
   * original addresses and copy the buffer in, whatever the direction (a
   * device that writes only part of it must not expose stale bounce data).
   * `allocTransient(bytes)` stands for the page allocator under
   * CONFIG_SWIOTLB_DYNAMIC: it returns the start of a naturally aligned
   * block, or null. A failure changes no slot state.
   */
  mapSingle(
    req: SwiotlbMapRequest,
    mem: BounceCopier,
    allocTransient?: (bytes: number) => bigint | null,
  ): SwiotlbMapResult {
    if (!Number.isSafeInteger(req.mappingSize) || req.mappingSize < 0) {
      throw new RangeError(`bad mapping size ${req.mappingSize}`);
    }
    const warnings: string[] = [];
    const dev = req.dev ?? '';
    const allocAlignMask = u32(req.allocAlignMask);
    const minAlignMask = u32(req.minAlignMask);
    // dev_WARN_ONCE: the kernel prints it once per boot; it is reported on every call and the caller keeps the once.
    if (allocAlignMask > this.pageSize - 1) warnings.push(SWIOTLB_MSG_ALLOC_ALIGN);

    const offset = swiotlbAlignOffset(minAlignMask, allocAlignMask, req.orig);
    const size = alignSizeT(req.mappingSize + offset, (allocAlignMask + 1) % 0x1_0000_0000);
    if (nrSlots(size) === 0) {
      return { ok: false, reason: 'bug', message: 'kernel BUG in swiotlb_search_pool_area: BUG_ON(!nslots)', warnings };
    }
    const search: SlotSearch = {
      origAddr: req.orig,
      allocSize: size,
      allocAlignMask,
      minAlignMask,
      segBoundaryMask: req.segBoundaryMask,
      pageSize: this.pageSize,
    };

    const found = this.findSlots(search, req.cpu, dev, allocTransient);
    if (found.kind === 'bug') {
      return {
        ok: false,
        reason: 'bug',
        message: 'kernel BUG in iommu_is_span_boundary: BUG_ON(!is_power_of_2(boundary_size))',
        warnings,
      };
    }
    if (found.kind === 'none') {
      const used = this.used;
      return {
        ok: false,
        reason: 'full',
        sz: size,
        total: this.nslabs,
        used,
        message: swiotlbFullMessage(size, this.nslabs, used),
        printed: (req.attrs & DMA_ATTR_NO_WARN) === 0,
        growScheduled: found.growScheduled,
        releasedTransient: found.releasedTransient,
        warnings,
      };
    }

    const pool = found.pool.own();
    const padSlots = offset >> IO_TLB_SHIFT;
    const first = found.index + padSlots;
    pool.padSlots[first] = padSlots;
    const mapped = nrSlots(size) - padSlots;
    for (let i = 0; i < mapped; i++) pool.origAddr[first + i] = slotAddr(req.orig, i);
    const tlbAddr = slotAddr(pool.start, first) + BigInt(offset & (IO_TLB_SIZE - 1));
    const bounce = this.bounce(pool, tlbAddr, req.mappingSize, DMA_TO_DEVICE, minAlignMask, mem);
    warnings.push(...bounce.warnings);
    return {
      ok: true,
      tlbAddr,
      index: found.index,
      nslots: nrSlots(size),
      padSlots,
      area: Math.trunc(found.index / pool.areaNslabs),
      allocSize: size,
      poolStart: pool.start,
      transient: pool.transient,
      copy: bounce.copy,
      warnings,
    };
  }

  /**
   * swiotlb_find_slots(): areas from the CPU's own onwards. Without
   * CONFIG_SWIOTLB_DYNAMIC only the default pool; with it, each area offset
   * across all pools newest first, then a transient pool for this mapping.
   */
  private findSlots(
    s: SlotSearch,
    cpu: number,
    dev: string,
    allocTransient: ((bytes: number) => bigint | null) | undefined,
  ):
    | { kind: 'found'; pool: IoTlbPool; index: number }
    | { kind: 'bug' }
    | { kind: 'none'; growScheduled: boolean; releasedTransient: ReleasedPoolMemory | null } {
    const none = { kind: 'none' as const, growScheduled: false, releasedTransient: null };
    if (!this.dynamic) {
      const pool = this.defpool;
      const start = cpu & (pool.nareas - 1);
      let i = start;
      do {
        const index = pool.searchArea(i, s);
        if (index === SEARCH_BUG_BOUNDARY) return { kind: 'bug' };
        if (index >= 0) return this.taken(pool, index, s);
        if (++i >= pool.nareas) i = 0;
      } while (i !== start);
      return none;
    }

    if (s.allocSize > IO_TLB_SEGSIZE * IO_TLB_SIZE) return none;
    for (let off = 0; off < this.defaultNareas; off++) {
      for (const pool of this.pools) {
        if (off >= pool.nareas) continue;
        const index = pool.searchArea((cpu + off) & (pool.nareas - 1), s);
        if (index === SEARCH_BUG_BOUNDARY) return { kind: 'bug' };
        if (index >= 0) return this.taken(pool, index, s, dev);
      }
    }
    if (!this.canGrow) return none;

    // schedule_work(&mem->dyn_alloc), then a pool of just this mapping's slots (GFP_NOWAIT).
    this.dynAllocPending = true;
    const nslabs = nrSlots(s.allocSize);
    const bytes = nslabs << IO_TLB_SHIFT;
    const base = allocTransient ? allocTransient(bytes) : null;
    if (base === null) return { ...none, growScheduled: true };
    const pool = new IoTlbPool(base, nslabs, 1, true);
    const index = pool.searchArea(0, s);
    if (index < 0) {
      if (index === SEARCH_BUG_BOUNDARY) return { kind: 'bug' };
      return { kind: 'none', growScheduled: true, releasedTransient: { start: base, bytes } };
    }
    pool.transient = true;
    pool.owner = dev;
    this.transientPools.unshift(pool);
    this.transientNslabs += pool.nslabs;
    return this.taken(pool, index, s, dev);
  }

  /** inc_used_and_hiwater() and dma_uses_io_tlb after a successful search. */
  private taken(
    pool: IoTlbPool,
    index: number,
    s: SlotSearch,
    dev?: string,
  ): { kind: 'found'; pool: IoTlbPool; index: number } {
    this.totalUsed += nrSlots(s.allocSize);
    if (this.totalUsed > this.usedHiwater) this.usedHiwater = this.totalUsed;
    if (dev !== undefined && !this.devicesUsingIoTlb.includes(dev)) this.devicesUsingIoTlb.push(dev);
    return { kind: 'found', pool, index };
  }

  /**
   * swiotlb_tbl_unmap_single(): copy back for FROM_DEVICE/BIDIRECTIONAL
   * unless DMA_ATTR_SKIP_CPU_SYNC, then delete a transient pool or release
   * the slots. The slot range comes from the slot records and the device's
   * min_align_mask, not from the caller's size, as in the kernel.
   */
  unmapSingle(
    tlbAddr: bigint,
    mappingSize: number,
    dir: SwiotlbDir,
    attrs: number,
    mem: BounceCopier,
    dev?: SwiotlbDevice,
  ): SwiotlbUnmapResult {
    const minAlignMask = u32(dev?.minAlignMask ?? 0n);
    const pool = this.findPool(tlbAddr, dev ? (dev.name ?? '') : undefined);
    if (!pool) return { ok: true, found: false, copy: null, freed: null, releasedTransient: null, warnings: [] };

    let copy: BounceCopy | null = null;
    const warnings: string[] = [];
    if ((attrs & DMA_ATTR_SKIP_CPU_SYNC) === 0 && (dir === DMA_FROM_DEVICE || dir === DMA_BIDIRECTIONAL)) {
      const b = this.bounce(pool, tlbAddr, mappingSize, DMA_FROM_DEVICE, minAlignMask, mem);
      copy = b.copy;
      warnings.push(...b.warnings);
    }

    if (pool.transient) {
      // swiotlb_del_transient(): the whole pool goes, whatever its slots say.
      this.totalUsed -= pool.nslabs;
      this.transientNslabs -= pool.nslabs;
      this.transientPools.splice(this.transientPools.indexOf(pool), 1);
      return {
        ok: true,
        found: true,
        copy,
        freed: null,
        releasedTransient: { start: pool.start, bytes: pool.nslabs << IO_TLB_SHIFT },
        warnings,
      };
    }

    const freed = pool.releaseSlots(tlbAddr, minAlignMask);
    if (!freed) {
      return { ok: false, reason: 'bug', message: 'kernel BUG in swiotlb_release_slots: BUG_ON(aindex >= mem->nareas)', warnings };
    }
    this.totalUsed -= freed.nslots;
    return { ok: true, found: true, copy, freed, releasedTransient: null, warnings };
  }

  /** swiotlb_sync_single_for_device(): orig -> bounce for TO_DEVICE/BIDIRECTIONAL; DMA_NONE is a BUG(). */
  syncSingleForDevice(
    tlbAddr: bigint,
    size: number,
    dir: SwiotlbDir,
    mem: BounceCopier,
    dev?: SwiotlbDevice,
  ): SwiotlbSyncResult {
    return this.sync(tlbAddr, size, dir, mem, dev, DMA_TO_DEVICE, DMA_FROM_DEVICE, '__swiotlb_sync_single_for_device');
  }

  /** swiotlb_sync_single_for_cpu(): bounce -> orig for FROM_DEVICE/BIDIRECTIONAL; DMA_NONE is a BUG(). */
  syncSingleForCpu(
    tlbAddr: bigint,
    size: number,
    dir: SwiotlbDir,
    mem: BounceCopier,
    dev?: SwiotlbDevice,
  ): SwiotlbSyncResult {
    return this.sync(tlbAddr, size, dir, mem, dev, DMA_FROM_DEVICE, DMA_TO_DEVICE, '__swiotlb_sync_single_for_cpu');
  }

  /** Bounce when `dir` is `copyDir` or BIDIRECTIONAL; `quietDir` does nothing; anything else is the BUG_ON. */
  private sync(
    tlbAddr: bigint,
    size: number,
    dir: SwiotlbDir,
    mem: BounceCopier,
    dev: SwiotlbDevice | undefined,
    copyDir: SwiotlbDir,
    quietDir: SwiotlbDir,
    fn: string,
  ): SwiotlbSyncResult {
    const pool = this.findPool(tlbAddr, dev ? (dev.name ?? '') : undefined);
    if (!pool) return { ok: true, found: false, copy: null, warnings: [] };
    if (dir === copyDir || dir === DMA_BIDIRECTIONAL) {
      const b = this.bounce(pool, tlbAddr, size, copyDir, u32(dev?.minAlignMask ?? 0n), mem);
      return { ok: true, found: true, copy: b.copy, warnings: b.warnings };
    }
    if (dir !== quietDir) {
      const name = quietDir === DMA_FROM_DEVICE ? 'DMA_FROM_DEVICE' : 'DMA_TO_DEVICE';
      return { ok: false, reason: 'bug', message: `kernel BUG in ${fn}: BUG_ON(dir != ${name})`, warnings: [] };
    }
    return { ok: true, found: true, copy: null, warnings: [] };
  }

  /**
   * swiotlb_bounce(): the original address follows from the slot's
   * orig_addr and the offset of `tlbAddr` inside its slot, so syncs that
   * start mid-mapping copy the matching bytes; a copy running past the
   * allocation is clipped with the overflow warning.
   */
  private bounce(
    pool: IoTlbPool,
    tlbAddr: bigint,
    size: number,
    dir: SwiotlbDir,
    minAlignMask: number,
    mem: BounceCopier,
  ): { copy: BounceCopy | null; warnings: string[] } {
    const index = Number((tlbAddr - pool.start) >> BigInt(IO_TLB_SHIFT));
    let orig = pool.origAddr[index];
    if (orig === INVALID_PHYS_ADDR) return { copy: null, warnings: [] };
    // int: negative when a later slot is addressed inside the first min-align offset bytes.
    const tlbOffset = Number(tlbAddr & BigInt(IO_TLB_SIZE - 1)) - swiotlbAlignOffset(minAlignMask, 0, orig);
    orig = u64(orig + BigInt(tlbOffset));
    // size_t: a negative remainder is a huge unsigned value and never trips the check.
    const allocSize = pool.allocSize[index] - tlbOffset;
    const warnings: string[] = [];
    let len = size;
    if (allocSize >= 0 && len > allocSize) {
      warnings.push(swiotlbOverflowMessage(allocSize, len));
      len = allocSize;
    }
    const copy = dir === DMA_TO_DEVICE ? { from: orig, to: tlbAddr, len } : { from: tlbAddr, to: orig, len };
    mem.copy(copy.to, copy.from, len);
    return { copy, warnings };
  }

  /** State of every pool for the bounce-buffer panel. */
  inspect(): SwiotlbView {
    return {
      nslabs: this.nslabs,
      used: this.used,
      hiwater: this.usedHiwater,
      transientNslabs: this.transientNslabs,
      forceBounce: this.forceBounce,
      pools: [...this.pools, ...this.transientPools].map((p) => ({
        start: p.start,
        end: p.end,
        nslabs: p.nslabs,
        nareas: p.nareas,
        areaNslabs: p.areaNslabs,
        transient: p.transient,
        owner: p.owner,
        areas: p.areas.map((a) => ({ used: a.used, index: a.index })),
        runs: slotRuns(p),
      })),
    };
  }

  /** The default pool's slots as runs. */
  slotRuns(pool: IoTlbPool = this.defpool): SwiotlbSlotRun[] {
    return slotRuns(pool);
  }
}

/**
 * Split a pool into runs: free slots per area, and allocated slots per
 * mapping. A mapping's slots carry alloc_size falling by IO_TLB_SIZE and
 * orig_addr rising by IO_TLB_SIZE; a break in either, or padding after
 * mapped slots, starts the next mapping.
 */
export function slotRuns(pool: IoTlbPool): SwiotlbSlotRun[] {
  const runs: SwiotlbSlotRun[] = [];
  const areaOf = (i: number): number => Math.min(Math.trunc(i / pool.areaNslabs), pool.nareas - 1);
  let cur: SwiotlbSlotRun | null = null;
  for (let i = 0; i < pool.nslabs; i++) {
    const free = pool.list[i] !== 0;
    const orig = pool.origAddr[i];
    const mapped = orig !== INVALID_PHYS_ADDR;
    let startsNew = cur === null || cur.free !== free || areaOf(i) !== cur.area;
    if (!startsNew && !free) {
      const prevOrig = pool.origAddr[i - 1];
      const prevMapped = prevOrig !== INVALID_PHYS_ADDR;
      startsNew =
        pool.allocSize[i] !== pool.allocSize[i - 1] - IO_TLB_SIZE ||
        (prevMapped && !mapped) ||
        (prevMapped && mapped && orig !== u64(prevOrig + BigInt(IO_TLB_SIZE)));
    }
    if (startsNew) {
      cur = {
        index: i,
        count: 0,
        free,
        addr: slotAddr(pool.start, i),
        origAddr: null,
        allocSize: pool.allocSize[i],
        padSlots: 0,
        area: areaOf(i),
      };
      runs.push(cur);
    }
    const run = cur as SwiotlbSlotRun;
    if (!free && mapped && run.origAddr === null) {
      run.origAddr = orig;
      run.padSlots = pool.padSlots[i];
    }
    run.count++;
  }
  return runs;
}
