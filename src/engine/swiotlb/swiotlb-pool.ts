// One struct io_tlb_pool of kernel/dma/swiotlb.c: its areas, its slot array
// and the two functions that own the per-segment free lists,
// swiotlb_search_pool_area() and swiotlb_release_slots(). Choosing the pool
// and the area, accounting across pools and bouncing live in swiotlb.ts.

import { U64_MASK, u64 } from '../u64';
import { CLONE } from '../snapshot';

/** 2 KiB slots. */
export const IO_TLB_SHIFT = 11;
export const IO_TLB_SIZE = 1 << IO_TLB_SHIFT;
/** Most slots one mapping may use; free lists never span a segment. */
export const IO_TLB_SEGSIZE = 128;
/** 64 MiB default pool. */
export const IO_TLB_DEFAULT_SIZE = 64 << 20;
/** (1 MiB) >> IO_TLB_SHIFT: the smallest pool worth having. */
export const IO_TLB_MIN_SLABS = (1 << 20) >> IO_TLB_SHIFT;
/** io_tlb_slot.orig_addr of a slot that maps nothing: (phys_addr_t)~0. */
export const INVALID_PHYS_ADDR = U64_MASK;

const TWO_POW_32 = 0x1_0000_0000;
const LOW32 = 0xffff_ffffn;

/** io_tlb_offset(): position of a slot inside its 128-slot segment. */
export function ioTlbOffset(index: number): number {
  // -1 (unsigned wrap in the kernel's backward loops) gives 127, as it does in C.
  return index & (IO_TLB_SEGSIZE - 1);
}

/** nr_slots(): DIV_ROUND_UP(bytes, IO_TLB_SIZE). */
export function nrSlots(bytes: number): number {
  return Math.ceil(bytes / IO_TLB_SIZE);
}

/** slot_addr(): address of slot `index` of a buffer starting at `start`. */
export function slotAddr(start: bigint, index: number): bigint {
  return u64(start + (BigInt(index) << BigInt(IO_TLB_SHIFT)));
}

/** The low 32 bits of an address; the masks compared against it are unsigned int. */
export function low32(addr: bigint): number {
  return Number(addr & LOW32);
}

/**
 * swiotlb_align_offset(): bytes from the start of an allocation to the
 * bounce address, so the min_align_mask bits of `addr` survive and the
 * allocation start honours `alignMask`. Both masks are unsigned int.
 */
export function swiotlbAlignOffset(minAlignMask: number, alignMask: number, addr: bigint): number {
  return (low32(addr) & minAlignMask & (alignMask | (IO_TLB_SIZE - 1))) >>> 0;
}

/** limit_nareas(): no more areas than whole segments in the pool. */
export function limitNareas(nareas: number, nslots: number): number {
  if (nslots < nareas * IO_TLB_SEGSIZE) return Math.floor(nslots / IO_TLB_SEGSIZE);
  return nareas;
}

/** struct io_tlb_area: one lock's worth of slots. */
export class IoTlbArea {
  /** Slots allocated from this area. */
  used = 0;
  /** Area-relative slot where the next search starts. */
  index = 0;
}

/** Outcome of swiotlb_search_pool_area(): a slot index, -1 for none, or a BUG(). */
export const SEARCH_NOT_FOUND = -1;
/** BUG_ON(!is_power_of_2(boundary_size)) in iommu_is_span_boundary(). */
export const SEARCH_BUG_BOUNDARY = -2;

/** What swiotlb_search_pool_area() reads from the device and its caller. */
export interface SlotSearch {
  origAddr: bigint;
  /** Bytes including the alignment padding (the map's `size`). */
  allocSize: number;
  /** unsigned int alloc_align_mask. */
  allocAlignMask: number;
  /** dma_get_min_align_mask(dev), unsigned int. */
  minAlignMask: number;
  /** dma_get_seg_boundary(dev), unsigned long. */
  segBoundaryMask: bigint;
  pageSize: number;
}

/** Slots handed back by swiotlb_release_slots(), padding included. */
export interface ReleasedSlots {
  index: number;
  nslots: number;
  area: number;
}

/**
 * struct io_tlb_pool with its io_tlb_slot array stored column-wise in typed
 * arrays (orig_addr, alloc_size, list, pad_slots) so a snapshot of a 32768
 * slot pool is four buffer copies rather than 32768 objects.
 */
export class IoTlbPool {
  readonly start: bigint;
  readonly end: bigint;
  readonly nslabs: number;
  readonly nareas: number;
  readonly areaNslabs: number;
  /** Allocated from the page allocator rather than memblock. */
  readonly lateAlloc: boolean;
  /** CONFIG_SWIOTLB_DYNAMIC: a pool made for one mapping, freed at its unmap. */
  transient = false;
  /** Device whose dma_io_tlb_pools list holds a transient pool; '' otherwise. */
  owner = '';
  readonly areas: IoTlbArea[] = [];
  /** io_tlb_slot.orig_addr, per slot orig + i * IO_TLB_SIZE. Read freely; write through own(). */
  origAddr: BigUint64Array;
  /**
   * io_tlb_slot.alloc_size. size_t in the kernel; later slots of a mapping
   * with a min-align offset can go below zero, which the kernel holds as a
   * wrapped huge value. Kept signed here; users apply the wrap where it matters.
   */
  allocSize: Float64Array;
  /** io_tlb_slot.list: free slots from here to the end of the segment. */
  list: Uint16Array;
  /** io_tlb_slot.pad_slots, valid in the first non-padding slot. */
  padSlots: Uint16Array;
  /** The slot arrays may be shared with a clone (a timeline snapshot): copy them before writing. */
  private shared = false;

  /** Copy-on-write clone for snapshots: the slot arrays are shared until either side writes. */
  [CLONE](): IoTlbPool {
    const copy = Object.assign(Object.create(IoTlbPool.prototype) as IoTlbPool, this);
    (copy as { areas: IoTlbArea[] }).areas = this.areas.map((a) => Object.assign(Object.create(IoTlbArea.prototype) as IoTlbArea, a));
    this.shared = true;
    copy.shared = true;
    return copy;
  }

  /** Makes the slot arrays this pool's own before a write; returns the pool for chaining. */
  own(): this {
    if (this.shared) {
      this.origAddr = this.origAddr.slice();
      this.allocSize = this.allocSize.slice();
      this.list = this.list.slice();
      this.padSlots = this.padSlots.slice();
      this.shared = false;
    }
    return this;
  }

  /** swiotlb_init_io_tlb_pool(). */
  constructor(start: bigint, nslabs: number, nareas: number, lateAlloc: boolean) {
    this.start = start;
    this.end = start + (BigInt(nslabs) << BigInt(IO_TLB_SHIFT));
    this.nslabs = nslabs;
    this.nareas = nareas;
    this.areaNslabs = Math.floor(nslabs / nareas);
    this.lateAlloc = lateAlloc;
    for (let i = 0; i < nareas; i++) this.areas.push(new IoTlbArea());
    this.origAddr = new BigUint64Array(nslabs).fill(INVALID_PHYS_ADDR);
    this.allocSize = new Float64Array(nslabs);
    this.list = new Uint16Array(nslabs);
    this.padSlots = new Uint16Array(nslabs);
    for (let i = 0; i < nslabs; i++) this.list[i] = Math.min(IO_TLB_SEGSIZE - ioTlbOffset(i), nslabs - i);
  }

  contains(addr: bigint): boolean {
    return addr >= this.start && addr < this.end;
  }

  /** wrap_area_index(). */
  wrapAreaIndex(index: number): number {
    return index >= this.areaNslabs ? 0 : index;
  }

  /** mem_pool_used() (the CONFIG_DEBUG_FS=n mem_used building block). */
  used(): number {
    let n = 0;
    for (const a of this.areas) n += a.used;
    return n;
  }

  /**
   * swiotlb_search_pool_area(): first-fit search of one area from its
   * saved index, honouring alloc_align_mask, the min_align_mask bits of the
   * original above the slot size and the device segment boundary. On success
   * the slots are taken, the area's index and used move on, and the first
   * slot (padding included) is returned.
   */
  searchArea(areaIndex: number, s: SlotSearch): number {
    const area = this.areas[areaIndex];
    const boundaryMask = s.segBoundaryMask & U64_MASK;
    // phys_to_dma_unencrypted() is the identity here.
    const tblDmaAddr = this.start & boundaryMask;
    const maxSlots = (boundaryMask >> BigInt(IO_TLB_SHIFT)) + 1n;
    const nslots = nrSlots(s.allocSize);
    const offset = swiotlbAlignOffset(s.minAlignMask, 0, s.origAddr);

    let allocAlignMask = s.allocAlignMask;
    let iotlbAlignMask = s.minAlignMask;
    // Streaming maps of a page or more stay page aligned when nothing else is asked for.
    if (!allocAlignMask && !iotlbAlignMask && s.allocSize >= s.pageSize) allocAlignMask = s.pageSize - 1;
    // Slot alignment always; min-align bits below the allocation alignment come from the offset.
    allocAlignMask = (allocAlignMask | (IO_TLB_SIZE - 1)) >>> 0;
    iotlbAlignMask = (iotlbAlignMask & ~allocAlignMask) >>> 0;
    const stride = Math.floor(Math.max(allocAlignMask, iotlbAlignMask) / IO_TLB_SIZE) + 1;

    // area_nslabs - used is unsigned long: a corrupted used above area_nslabs never stops the search.
    if (area.used <= this.areaNslabs && nslots > this.areaNslabs - area.used) return SEARCH_NOT_FOUND;

    const span = spanChecker(u64(tblDmaAddr + BigInt(IO_TLB_SIZE - 1)) >> BigInt(IO_TLB_SHIFT), maxSlots);
    const slotBase = areaIndex * this.areaNslabs;
    // Shortcut, exact because the walk can only stop at a slot with a long enough free run
    // (kept off for a bad boundary, where the walk would BUG() before reading any list).
    if (isPowerOf2(maxSlots) && !this.hasFreeRun(slotBase, nslots)) return SEARCH_NOT_FOUND;
    const tblLow = low32(tblDmaAddr);
    const checkOrig = s.origAddr !== 0n;
    const origBits = (low32(s.origAddr) & iotlbAlignMask) >>> 0;
    let index = area.index;
    let slotIndex = 0;
    let found = false;
    for (let checked = 0; checked < this.areaNslabs; ) {
      slotIndex = slotBase + index;
      const tlbLow = (tblLow + slotIndex * IO_TLB_SIZE) % TWO_POW_32;
      if ((tlbLow & allocAlignMask) !== 0 || (checkOrig && ((tlbLow & iotlbAlignMask) >>> 0) !== origBits)) {
        index = this.wrapAreaIndex(index + 1);
        checked++;
        continue;
      }
      const crosses = span(slotIndex, nslots);
      if (crosses === null) return SEARCH_BUG_BOUNDARY;
      if (!crosses && this.list[slotIndex] >= nslots) {
        found = true;
        break;
      }
      index = this.wrapAreaIndex(index + stride);
      checked += stride;
    }
    if (!found) return SEARCH_NOT_FOUND;

    this.own();
    for (let i = slotIndex; i < slotIndex + nslots; i++) {
      this.list[i] = 0;
      this.allocSize[i] = s.allocSize - (offset + (i - slotIndex) * IO_TLB_SIZE);
    }
    // The free run in front of the allocation now ends at it.
    let count = 0;
    for (let i = slotIndex - 1; ioTlbOffset(i) !== IO_TLB_SEGSIZE - 1 && this.list[i]; i--) this.list[i] = ++count;

    area.index = this.wrapAreaIndex(index + nslots);
    area.used += nslots;
    return slotIndex;
  }

  /** Whether any slot of the area starting at `slotBase` begins a free run of `nslots`. */
  private hasFreeRun(slotBase: number, nslots: number): boolean {
    const list = this.list;
    const end = slotBase + this.areaNslabs;
    for (let i = slotBase; i < end; i++) if (list[i] >= nslots) return true;
    return false;
  }

  /**
   * swiotlb_release_slots(): find the allocation from the bounce address
   * (the device's min_align_mask gives the in-slot offset, pad_slots the
   * padding) and return its slots, merging with free runs on both sides.
   * Returns null where the kernel would BUG() on an area out of range.
   */
  releaseSlots(tlbAddr: bigint, minAlignMask: number): ReleasedSlots | null {
    const offset = swiotlbAlignOffset(minAlignMask, 0, tlbAddr);
    let index = Number((tlbAddr - BigInt(offset) - this.start) >> BigInt(IO_TLB_SHIFT));
    index -= this.padSlots[index] ?? 0;
    const nslots = index >= 0 && index < this.nslabs ? nrSlots(this.allocSize[index] + offset) : 0;
    const aindex = Math.trunc(index / this.areaNslabs);
    if (index < 0 || aindex >= this.nareas) return null;
    const area = this.areas[aindex];
    this.own();

    let count = index + nslots < alignSegment(index + 1) ? this.list[index + nslots] ?? 0 : 0;
    for (let i = index + nslots - 1; i >= index; i--) {
      this.list[i] = ++count;
      this.origAddr[i] = INVALID_PHYS_ADDR;
      this.allocSize[i] = 0;
      this.padSlots[i] = 0;
    }
    for (let i = index - 1; ioTlbOffset(i) !== IO_TLB_SEGSIZE - 1 && this.list[i]; i--) this.list[i] = ++count;
    area.used -= nslots;
    return { index, nslots, area: aindex };
  }
}

function isPowerOf2(x: bigint): boolean {
  return x > 0n && (x & (x - 1n)) === 0n;
}

/** ALIGN(x, IO_TLB_SEGSIZE). */
function alignSegment(x: number): number {
  return Math.ceil(x / IO_TLB_SEGSIZE) * IO_TLB_SEGSIZE;
}

/**
 * iommu_is_span_boundary(index, nr, shift, boundary_size) for one search:
 * true when slots [index, index + nr) would cross a segment boundary, null
 * for the BUG_ON on a boundary size that is not a power of two. Plain
 * numbers unless the boundary is beyond what a double holds exactly.
 */
function spanChecker(shift: bigint, boundarySize: bigint): (index: number, nr: number) => boolean | null {
  if (!isPowerOf2(boundarySize)) return () => null;
  if (boundarySize <= 1n << 52n) {
    const bs = Number(boundarySize);
    const base = Number(shift % boundarySize);
    return (index, nr) => ((base + index) % bs) + nr > bs;
  }
  return (index, nr) => (u64(shift + BigInt(index)) & (boundarySize - 1n)) + BigInt(nr) > boundarySize;
}
