// CONFIG_DMA_API_DEBUG (kernel/dma/debug.c, v6.18): every streaming mapping
// and coherent allocation is recorded as a dma_debug_entry in a hash keyed
// by dev_addr, and unmap/free/sync calls are checked against it. Findings go
// to the trace recorder as checks carrying the kernel's own text.
//
// The kernel log gets what err_printk() prints (num_errors, all_errors and the
// driver filter decide); the run result keeps every finding as a check, and
// errorCount counts them all like debugfs dma-api/error_count.
//
// Differences from the kernel, on purpose:
// - devices are compared by dev_name, not by pointer, because snapshots clone
//   the device objects.
// - map-time checks that need kernel virtual addresses (stack, kernel text,
//   vmalloc, invalid area) are absent, and the entry pool has no size limit
//   (freed entries are reused, as dma_entry_free() puts them on the free
//   list, but running out never disables dma-debug); the WARN's backtrace and
//   "Mapped at:" stack are not printed (a check's related line says where the
//   entry was mapped).

import type { Severity, TraceRecorder } from '../trace/recorder';
import { DMA_MAPPING_ERROR, U64_MASK, fmtPa, hexPad, u64 } from '../u64';
import {
  DMA_BIDIRECTIONAL,
  DMA_FROM_DEVICE,
  DMA_TO_DEVICE,
  DMA_ATTR_SKIP_CPU_SYNC,
  dirName,
  type DmaDirection,
} from '../dma-mapping/dma-direction';

/** The parts of struct device that dma-debug reads. */
export interface DmaDebugDevice {
  /** dev_name(), e.g. "0000:01:00.0". */
  name: string;
  /** dev_driver_string(), e.g. "nvme". */
  driver: string;
  /** dma_parms->max_segment_size; absent or 0 means SZ_64K, as dma_get_max_seg_size(). */
  maxSegmentSize?: number;
  /** dma_parms->segment_boundary_mask; absent or 0 means ULONG_MAX, as dma_get_seg_boundary(). */
  segmentBoundaryMask?: bigint;
}

/** One scatterlist entry as dma-debug sees it: CPU side and DMA side. */
export interface DmaDebugSg {
  /** sg_phys(s) */
  phys: bigint;
  /** s->length */
  length: number;
  /** sg_dma_address(s) */
  dmaAddress: bigint;
  /** sg_dma_len(s) */
  dmaLength: number;
}

/** type2name[]: v6.18 records dma_map_page/single/resource as "phy" (via dma_map_phys). */
export type DmaDebugType = 'single' | 'scatter-gather' | 'coherent' | 'noncoherent' | 'phy';

export type MapErrType = 'MAP_ERR_CHECK_NOT_APPLICABLE' | 'MAP_ERR_NOT_CHECKED' | 'MAP_ERR_CHECKED';

/** maperr2str[], as the debugfs dump prints it. */
export const MAPERR2STR: Readonly<Record<MapErrType, string>> = {
  MAP_ERR_CHECK_NOT_APPLICABLE: 'dma map error check not applicable',
  MAP_ERR_NOT_CHECKED: 'dma map error not checked',
  MAP_ERR_CHECKED: 'dma map error checked',
};

/** Check ids this unit reports (recorder.check's id). */
export const DMA_DEBUG_CHECK = {
  freeInvalid: 'dma-debug-free-invalid',
  unmapUnknown: 'dma-debug-unmap-unknown',
  differentSize: 'dma-debug-different-size',
  wrongFunction: 'dma-debug-wrong-function',
  differentCpuAddress: 'dma-debug-different-cpu-address',
  unmapSgCount: 'dma-debug-unmap-sg-count',
  differentDirection: 'dma-debug-different-direction',
  mapErrorNotChecked: 'dma-debug-map-error-not-checked',
  syncUnknown: 'dma-debug-sync-unknown',
  syncOutOfRange: 'dma-debug-sync-out-of-range',
  syncDifferentDirection: 'dma-debug-sync-different-direction',
  syncReadOnlyForCpu: 'dma-debug-sync-read-only-for-cpu',
  syncWriteOnlyToDevice: 'dma-debug-sync-write-only-to-device',
  syncSgCount: 'dma-debug-sync-sg-count',
  sgSegmentTooLong: 'dma-debug-sg-segment-too-long',
  sgSegmentBoundary: 'dma-debug-sg-segment-boundary',
  overlapEexist: 'dma-debug-overlap-eexist',
  overlapExceeded: 'dma-debug-overlap-exceeded',
  leak: 'dma-debug-leak',
} as const;

export type DmaDebugCheckId = (typeof DMA_DEBUG_CHECK)[keyof typeof DMA_DEBUG_CHECK];

type Size = bigint | number;

const HASH_SIZE = 16384;
const HASH_FN_SHIFT = 13n;
const HASH_FN_DIVISOR = 2 ** Number(HASH_FN_SHIFT);
/** (1 << RADIX_TREE_MAX_TAGS) - 1: the overlap count lives in three radix-tree tag bits. */
const ACTIVE_CACHELINE_MAX_OVERLAP = 7;
const SZ_64K = 65536;
/** Freed entries kept for reuse (few: a snapshot copies them too). */
const FREE_ENTRIES_KEPT = 16;
/** NAME_MAX_LEN: the driver filter keeps at most 63 characters of the name. */
const NAME_MAX_LEN = 64;

/** struct dma_debug_entry, minus the list node and stack trace. */
export class DmaDebugEntry {
  // Every field is set by reset(), which the constructor and the free list share.
  devName!: string;
  driver!: string;
  devAddr!: bigint;
  size!: bigint;
  type!: DmaDebugType;
  direction!: DmaDirection;
  sgCallEnts!: number;
  sgMappedEnts!: number;
  paddr!: bigint;
  mapErrType!: MapErrType;
  /** Scenario line that created it: the "Mapped at:" of the kernel's report. */
  line!: number;
  /** Creation order, so listings do not depend on hash bucket order. */
  seq!: number;

  constructor(dev: DmaDebugDevice, type: DmaDebugType, devAddr: bigint, size: bigint, direction: DmaDirection, line: number, seq: number) {
    this.reset(dev, type, devAddr, size, direction, line, seq);
  }

  /** A new entry, or one from the free list made new: every field set. */
  reset(dev: DmaDebugDevice, type: DmaDebugType, devAddr: bigint, size: bigint, direction: DmaDirection, line: number, seq: number): void {
    this.devName = dev.name;
    this.driver = dev.driver;
    this.devAddr = devAddr;
    this.size = size;
    this.type = type;
    this.direction = direction;
    this.sgCallEnts = 0;
    this.sgMappedEnts = 0;
    this.paddr = 0n;
    this.mapErrType = 'MAP_ERR_CHECK_NOT_APPLICABLE';
    this.line = line;
    this.seq = seq;
  }
}

/** The on-stack `ref` entries that lookups compare against. */
interface DmaDebugRef {
  devName: string;
  devAddr: bigint;
  size: bigint;
  type: DmaDebugType;
  direction: DmaDirection;
  sgCallEnts: number;
  paddr: bigint;
}

type MatchKind = 'exact' | 'containing';

/** The bits of dev_addr hash_fn() keeps, in place: (dev_addr >> 13) & (HASH_SIZE - 1) is (dev_addr & this) / 2^13. */
const HASH_FN_BITS = BigInt(HASH_SIZE - 1) << HASH_FN_SHIFT;
/** The last address hashed: map, mapping_error and unmap of one mapping hash the same address. */
let lastHashed = { devAddr: -1n, idx: 0 };

function hashFn(devAddr: bigint): number {
  if (devAddr === lastHashed.devAddr) return lastHashed.idx;
  // A 27-bit BigInt converts exactly (two's complement bits of a negative one too), and the division by 2^13 is exact.
  const idx = Number(devAddr & HASH_FN_BITS) / HASH_FN_DIVISOR;
  lastHashed = { devAddr, idx };
  return idx;
}

function matches(kind: MatchKind, ref: DmaDebugRef, e: DmaDebugEntry): boolean {
  if (ref.devName !== e.devName) return false;
  switch (kind) {
    case 'exact':
      return ref.devAddr === e.devAddr;
    case 'containing':
      // u64 sums like the kernel's, so a mapping ending at 2^64 wraps the same way.
      return e.devAddr <= ref.devAddr && u64(e.devAddr + e.size) >= u64(ref.devAddr + ref.size);
  }
}

/** hash_bucket_del(): the entry out of its bucket (an emptied bucket stays for the next entry to land there: a driver loop maps the same address again). */
function bucketDel(bucket: DmaDebugEntry[], entry: DmaDebugEntry): void {
  if (bucket[bucket.length - 1] === entry) bucket.pop();
  else {
    const i = bucket.indexOf(entry);
    if (i >= 0) bucket.splice(i, 1);
  }
}

function devAddrStr(addr: bigint): string {
  return '0x' + hexPad(addr, 16);
}

/** check_unmap's "[device address=...]", made only for a finding. */
function deviceAddressAt(addr: bigint): string {
  return `[device address=${devAddrStr(addr)}]`;
}

export class DmaDebug {
  /** dma_entry_hash[]: bucket index -> entries in list order (list_add_tail). */
  private readonly hash = new Map<number, DmaDebugEntry[]>();
  /** dma_active_cacheline radix tree: cacheline number -> overlap count (0 = one mapping). */
  private readonly activeCachelines = new Map<bigint, number>();
  private readonly l1CacheShift: bigint;
  private nextSeq = 0;
  /** WARN_ONCE state of active_cacheline_inc_overlap(). */
  private overlapWarned = false;
  /**
   * The bucket of the dev_addr last looked up: map, mapping_error and unmap of
   * one mapping land in the same bucket, and an address compare is cheaper
   * than a Map lookup. Buckets are never deleted, so a remembered one stays
   * the bucket of its address.
   */
  private lastBucketAddr = -1n;
  private lastBucket: DmaDebugEntry[] = [];
  /** dma_entry_free()'s free list: entries dropped by unmap, refilled by the next map (a driver loop allocates none). */
  private readonly freeEntries: DmaDebugEntry[] = [];
  /** The last hashBucketFind's entry matched size, type, direction and sg count (check_unmap need not compare them again). */
  private foundPerfect = false;
  /** debug_dma_unmap_phys's on-stack ref, filled per call (checkUnmap only reads it). */
  private readonly unmapRef: DmaDebugRef = { devName: '', devAddr: 0n, size: 0n, type: 'phy', direction: 0, sgCallEnts: 0, paddr: 0n };

  /** debugfs dma-api/error_count: every err_printk(), reported or not. */
  errorCount = 0;
  /** dma-api/all_errors (dma_debug module parameter all_errors): print every error. */
  showAllErrors = false;
  /** dma-api/num_errors: errors still to be printed (module parameter num_errors, default 1). */
  showNumErrors = 1;
  /**
   * current_driver_name (dma_debug_driver= boot parameter, dma-api/driver_filter):
   * when set, only errors of devices bound to this driver are printed. Empty = off.
   */
  driverFilter = '';
  /** global_disable (dma_debug=off): all hooks return at once. */
  disabled = false;
  /**
   * CONFIG_DMA_BOUNCE_UNALIGNED_KMALLOC && is_swiotlb_allocated(): small
   * kmalloc buffers get bounced, so sharing a cacheline is harmless and the
   * EEXIST report is suppressed (the overlap is still counted).
   */
  bounceUnalignedKmalloc = false;

  constructor(private readonly recorder: TraceRecorder, cacheLineSize: number) {
    if (!Number.isInteger(cacheLineSize) || cacheLineSize <= 0 || (cacheLineSize & (cacheLineSize - 1)) !== 0) {
      throw new RangeError(`cache line size must be a power of two, got ${cacheLineSize}`);
    }
    this.l1CacheShift = BigInt(Math.log2(cacheLineSize));
  }

  // ---- reporting ----

  /**
   * err_printk(): counts every error; WARNs ("DMA-API: <driver> <dev_name>: ...")
   * only for devices the driver filter lets through and while show_num_errors
   * lasts (module parameter num_errors, default 1, for the whole system) unless
   * all_errors is set. An error the filter hides still uses up num_errors, as
   * in the kernel. The run result keeps every finding; the kernel log gets
   * what the kernel would print.
   */
  private errPrintk(id: DmaDebugCheckId, dev: { driver: string; devName: string }, entry: DmaDebugEntry | null, msg: string, severity: Severity = 'error'): void {
    this.errorCount++;
    const text = `DMA-API: ${dev.driver} ${dev.devName}: ${msg}`;
    if (this.driverFilterPasses(dev.driver) && (this.showAllErrors || this.showNumErrors > 0)) this.recorder.printk(text);
    if (!this.showAllErrors && this.showNumErrors > 0) this.showNumErrors--;
    this.recorder.check(id, severity, text, entry?.line);
  }

  /** driver_filter(): off, or the device's driver name equals the filter (strncmp over NAME_MAX_LEN - 1 = 63 bytes). */
  private driverFilterPasses(driver: string): boolean {
    if (this.driverFilter === '') return true;
    return driver.slice(0, NAME_MAX_LEN - 1) === this.driverFilter.slice(0, NAME_MAX_LEN - 1);
  }

  private static who(dev: DmaDebugDevice): { driver: string; devName: string } {
    return { driver: dev.driver, devName: dev.name };
  }

  // ---- hash ----

  /** The hash bucket of devAddr, undefined while nothing was ever hashed there. */
  private bucketOf(devAddr: bigint): DmaDebugEntry[] | undefined {
    if (devAddr === this.lastBucketAddr) return this.lastBucket;
    const bucket = this.hash.get(hashFn(devAddr));
    if (bucket !== undefined) {
      this.lastBucketAddr = devAddr;
      this.lastBucket = bucket;
    }
    return bucket;
  }

  private bucketAdd(entry: DmaDebugEntry): void {
    const bucket = this.bucketOf(entry.devAddr);
    if (bucket) bucket.push(entry);
    else this.hash.set(hashFn(entry.devAddr), [entry]);
  }

  /**
   * __hash_bucket_find(): best fit on size, type, direction and sg count,
   * because without an IOMMU the same dev_addr can be mapped several times.
   * Several matches and no perfect one give nothing at all.
   */
  private hashBucketFind(bucket: DmaDebugEntry[] | undefined, ref: DmaDebugRef, kind: MatchKind): DmaDebugEntry | null {
    this.foundPerfect = false;
    if (!bucket) return null;
    let ret: DmaDebugEntry | null = null;
    let count = 0;
    let lastLvl = -1;
    for (const e of bucket) {
      if (!matches(kind, ref, e)) continue;
      count++;
      let lvl = 0;
      if (e.size === ref.size) lvl++;
      if (e.type === ref.type) lvl++;
      if (e.direction === ref.direction) lvl++;
      if (e.sgCallEnts === ref.sgCallEnts) lvl++;
      if (lvl === 4) {
        this.foundPerfect = true;
        return e;
      }
      if (lvl > lastLvl) {
        lastLvl = lvl;
        ret = e;
      }
    }
    return count === 1 ? ret : null;
  }

  private bucketFindExact(ref: DmaDebugRef): DmaDebugEntry | null {
    return this.hashBucketFind(this.bucketOf(ref.devAddr), ref, 'exact');
  }

  /**
   * bucket_find_contain(): walk back one bucket (8 KiB of dev_addr) at a time,
   * at most min(HASH_SIZE, (dev_addr >> 13) + 1) buckets. Only non-empty
   * buckets are visited, in the order the kernel's walk reaches them.
   */
  private bucketFindContain(ref: DmaDebugRef, kind: MatchKind): DmaDebugEntry | null {
    const first = Number((ref.devAddr >> HASH_FN_SHIFT) & BigInt(HASH_SIZE - 1));
    const reach = ref.devAddr >> HASH_FN_SHIFT;
    const limit = reach + 1n < BigInt(HASH_SIZE) ? Number(reach) + 1 : HASH_SIZE;
    const steps: { step: number; idx: number }[] = [];
    for (const idx of this.hash.keys()) {
      const step = (first - idx + HASH_SIZE) % HASH_SIZE;
      if (step < limit) steps.push({ step, idx });
    }
    steps.sort((a, b) => a.step - b.step);
    for (const { idx } of steps) {
      const e = this.hashBucketFind(this.hash.get(idx), ref, kind);
      if (e) return e;
    }
    return null;
  }

  /** All entries in hash order (bucket index, then list order), as the kernel iterates them. */
  private entriesInHashOrder(): DmaDebugEntry[] {
    const out: DmaDebugEntry[] = [];
    for (const idx of [...this.hash.keys()].sort((a, b) => a - b)) out.push(...(this.hash.get(idx) ?? []));
    return out;
  }

  // ---- active cacheline tracking ----

  private toCachelineNumber(entry: DmaDebugEntry): bigint {
    return entry.paddr >> this.l1CacheShift;
  }

  /** active_cacheline_insert(): returns true on -EEXIST. */
  private activeCachelineInsert(entry: DmaDebugEntry): boolean {
    // A device that only reads memory cannot leave stale data for the CPU,
    // so TO_DEVICE mappings may share cachelines freely.
    if (entry.direction === DMA_TO_DEVICE) return false;
    const cln = this.toCachelineNumber(entry);
    const overlap = this.activeCachelines.get(cln);
    if (overlap === undefined) {
      this.activeCachelines.set(cln, 0);
      return false;
    }
    // active_cacheline_inc_overlap(): the count saturates at 7 (three tag bits).
    const next = overlap + 1;
    if (next > ACTIVE_CACHELINE_MAX_OVERLAP) {
      if (!this.overlapWarned) {
        this.overlapWarned = true;
        // WARN_ONCE without err_printk: no driver prefix, not in error_count.
        this.recorder.check(
          DMA_DEBUG_CHECK.overlapExceeded,
          'error',
          `DMA-API: exceeded ${ACTIVE_CACHELINE_MAX_OVERLAP} overlapping mappings of cacheline ${fmtPa(cln)}`,
          entry.line,
        );
      }
    } else {
      this.activeCachelines.set(cln, next);
    }
    return true;
  }

  /** active_cacheline_remove(): the last put (count below 0) deletes the node. */
  private activeCachelineRemove(entry: DmaDebugEntry): void {
    if (entry.direction === DMA_TO_DEVICE) return;
    const cln = this.toCachelineNumber(entry);
    const next = (this.activeCachelines.get(cln) ?? 0) - 1;
    if (next < 0) this.activeCachelines.delete(cln);
    else this.activeCachelines.set(cln, next);
  }

  /** add_dma_entry() */
  private addDmaEntry(entry: DmaDebugEntry, attrs: number): void {
    this.bucketAdd(entry);
    const eexist = this.activeCachelineInsert(entry);
    if (eexist && (attrs & DMA_ATTR_SKIP_CPU_SYNC) === 0 && !this.bounceUnalignedKmalloc) {
      this.errPrintk(DMA_DEBUG_CHECK.overlapEexist, entry, entry, "cacheline tracking EEXIST, overlapping mappings aren't supported");
    }
  }

  private newEntry(dev: DmaDebugDevice, type: DmaDebugType, devAddr: bigint, size: bigint, dir: DmaDirection): DmaDebugEntry {
    const free = this.freeEntries.pop();
    if (free === undefined) return new DmaDebugEntry(dev, type, devAddr, size, dir, this.recorder.line, this.nextSeq++);
    free.reset(dev, type, devAddr, size, dir, this.recorder.line, this.nextSeq++);
    return free;
  }

  /** dma_entry_free() after hash_bucket_del() */
  private removeEntry(entry: DmaDebugEntry, bucket: DmaDebugEntry[]): void {
    bucketDel(bucket, entry);
    this.activeCachelineRemove(entry);
    if (this.freeEntries.length < FREE_ENTRIES_KEPT) this.freeEntries.push(entry);
  }

  // ---- checks ----

  /** check_unmap(): every mismatch is reported, then the entry is dropped anyway. */
  private checkUnmap(dev: DmaDebugDevice, ref: DmaDebugRef): void {
    const bucket = this.bucketOf(ref.devAddr);
    const entry = this.hashBucketFind(bucket, ref, 'exact');
    if (!entry) {
      if (ref.devAddr === DMA_MAPPING_ERROR) {
        this.errPrintk(DMA_DEBUG_CHECK.freeInvalid, DmaDebug.who(dev), null, 'device driver tries to free an invalid DMA memory address');
      } else {
        this.errPrintk(
          DMA_DEBUG_CHECK.unmapUnknown,
          DmaDebug.who(dev),
          null,
          `device driver tries to free DMA memory it has not allocated [device address=${devAddrStr(ref.devAddr)}] [size=${ref.size} bytes]`,
        );
      }
      return;
    }
    const perfect = this.foundPerfect;
    if (!perfect && ref.size !== entry.size) {
      this.errPrintk(
        DMA_DEBUG_CHECK.differentSize,
        DmaDebug.who(dev),
        entry,
        `device driver frees DMA memory with different size ${deviceAddressAt(ref.devAddr)} [map size=${entry.size} bytes] [unmap size=${ref.size} bytes]`,
      );
    }

    if (!perfect && ref.type !== entry.type) {
      this.errPrintk(
        DMA_DEBUG_CHECK.wrongFunction,
        DmaDebug.who(dev),
        entry,
        `device driver frees DMA memory with wrong function ${deviceAddressAt(ref.devAddr)} [size=${ref.size} bytes] [mapped as ${entry.type}] [unmapped as ${ref.type}]`,
      );
    } else if ((entry.type === 'coherent' || entry.type === 'noncoherent') && ref.paddr !== entry.paddr) {
      // The format string has "0x%pa" and %pa already prints 0x, so the kernel's line reads "0x0x...".
      this.errPrintk(
        DMA_DEBUG_CHECK.differentCpuAddress,
        DmaDebug.who(dev),
        entry,
        `device driver frees DMA memory with different CPU address ${deviceAddressAt(ref.devAddr)} [size=${ref.size} bytes] ` +
          `[cpu alloc address=0x${fmtPa(entry.paddr)}] [cpu free address=0x${fmtPa(ref.paddr)}]`,
      );
    }

    if (!perfect && ref.sgCallEnts !== 0 && ref.type === 'scatter-gather' && ref.sgCallEnts !== entry.sgCallEnts) {
      this.errPrintk(
        DMA_DEBUG_CHECK.unmapSgCount,
        DmaDebug.who(dev),
        entry,
        `device driver frees DMA sg list with different entry count [map count=${entry.sgCallEnts}] [unmap count=${ref.sgCallEnts}]`,
      );
    }

    if (!perfect && ref.direction !== entry.direction) {
      this.errPrintk(
        DMA_DEBUG_CHECK.differentDirection,
        DmaDebug.who(dev),
        entry,
        `device driver frees DMA memory with different direction ${deviceAddressAt(ref.devAddr)} [size=${ref.size} bytes] ` +
          `[mapped with ${dirName(entry.direction)}] [unmapped with ${dirName(ref.direction)}]`,
      );
    }

    if (entry.mapErrType === 'MAP_ERR_NOT_CHECKED') {
      // No space before '[' in the kernel's string either.
      this.errPrintk(
        DMA_DEBUG_CHECK.mapErrorNotChecked,
        DmaDebug.who(dev),
        entry,
        `device driver failed to check map error${deviceAddressAt(ref.devAddr)} [size=${ref.size} bytes] [mapped as ${entry.type}]`,
        'warning',
      );
    }

    this.removeEntry(entry, bucket as DmaDebugEntry[]);
  }

  /**
   * check_sync(). The mapping is looked up by containment
   * (bucket_find_contain), so a sync running past the end of its mapping
   * finds nothing and is reported as "has not allocated".
   */
  private checkSync(dev: DmaDebugDevice, ref: DmaDebugRef, toCpu: boolean): void {
    const who = DmaDebug.who(dev);
    const entry = this.bucketFindContain(ref, 'containing');
    if (!entry) {
      this.errPrintk(
        DMA_DEBUG_CHECK.syncUnknown,
        who,
        null,
        `device driver tries to sync DMA memory it has not allocated [device address=${devAddrStr(ref.devAddr)}] [size=${ref.size} bytes]`,
      );
      return;
    }

    // The kernel compares sizes only (and prints ref->size as "offset+size"):
    // a contained range is never larger unless its end wrapped past 2^64.
    if (ref.size > entry.size) {
      this.errPrintk(
        DMA_DEBUG_CHECK.syncOutOfRange,
        who,
        entry,
        `device driver syncs DMA memory outside allocated range [device address=${devAddrStr(entry.devAddr)}] ` +
          `[allocation size=${entry.size} bytes] [sync offset+size=${ref.size}]`,
      );
    }

    if (entry.direction === DMA_BIDIRECTIONAL) return;

    const tail =
      `[device address=${devAddrStr(ref.devAddr)}] [size=${entry.size} bytes] ` +
      `[mapped with ${dirName(entry.direction)}] [synced with ${dirName(ref.direction)}]`;

    if (ref.direction !== entry.direction) {
      this.errPrintk(DMA_DEBUG_CHECK.syncDifferentDirection, who, entry, `device driver syncs DMA memory with different direction ${tail}`);
    }

    if (toCpu && entry.direction !== DMA_FROM_DEVICE && ref.direction !== DMA_TO_DEVICE) {
      this.errPrintk(DMA_DEBUG_CHECK.syncReadOnlyForCpu, who, entry, `device driver syncs device read-only DMA memory for cpu ${tail}`);
    }

    if (!toCpu && entry.direction !== DMA_TO_DEVICE && ref.direction !== DMA_FROM_DEVICE) {
      this.errPrintk(DMA_DEBUG_CHECK.syncWriteOnlyToDevice, who, entry, `device driver syncs device write-only DMA memory to device ${tail}`);
    }

    if (ref.sgCallEnts !== 0 && ref.type === 'scatter-gather' && ref.sgCallEnts !== entry.sgCallEnts) {
      this.errPrintk(
        DMA_DEBUG_CHECK.syncSgCount,
        who,
        entry,
        `device driver syncs DMA sg list with different entry count [map count=${entry.sgCallEnts}] [sync count=${ref.sgCallEnts}]`,
      );
    }
  }

  /** check_sg_segment(): the scatterlist against the device's dma_parms. */
  private checkSgSegment(dev: DmaDebugDevice, sg: DmaDebugSg): void {
    const who = DmaDebug.who(dev);
    const maxSeg = dev.maxSegmentSize ? dev.maxSegmentSize : SZ_64K;
    const boundary = dev.segmentBoundaryMask ? dev.segmentBoundaryMask : U64_MASK;
    if (sg.length > maxSeg) {
      this.errPrintk(
        DMA_DEBUG_CHECK.sgSegmentTooLong,
        who,
        null,
        `mapping sg segment longer than device claims to support [len=${sg.length}] [max=${maxSeg}]`,
      );
    }
    const start = sg.dmaAddress;
    const end = u64(start + BigInt(sg.dmaLength) - 1n);
    if (((start ^ end) & (U64_MASK ^ boundary)) !== 0n) {
      this.errPrintk(
        DMA_DEBUG_CHECK.sgSegmentBoundary,
        who,
        null,
        `mapping sg segment across boundary [start=${devAddrStr(start)}] [end=${devAddrStr(end)}] [boundary=${devAddrStr(boundary)}]`,
      );
    }
  }

  /** get_nr_mapped_entries(): sg_mapped_ents of the entry the list's first segment maps to. */
  private getNrMappedEntries(ref: DmaDebugRef): number {
    return this.bucketFindExact(ref)?.sgMappedEnts ?? 0;
  }

  private sgRef(dev: DmaDebugDevice, s: DmaDebugSg, nelems: number, dir: DmaDirection): DmaDebugRef {
    return {
      devName: dev.name,
      devAddr: s.dmaAddress,
      size: BigInt(s.dmaLength),
      type: 'scatter-gather',
      direction: dir,
      sgCallEnts: nelems,
      paddr: s.phys,
    };
  }

  // ---- hooks called by the DMA API ----

  /** debug_dma_map_phys(): dma_map_phys/page/single/resource. A failed mapping records nothing. */
  debugDmaMapPhys(dev: DmaDebugDevice, phys: bigint, size: Size, dir: DmaDirection, dmaAddr: bigint, attrs = 0): void {
    if (this.disabled || dmaAddr === DMA_MAPPING_ERROR) return;
    const entry = this.newEntry(dev, 'phy', dmaAddr, BigInt(size), dir);
    entry.paddr = phys;
    entry.mapErrType = 'MAP_ERR_NOT_CHECKED';
    this.addDmaEntry(entry, attrs);
  }

  /** debug_dma_mapping_error(): marks the first unchecked entry at this address as checked. */
  debugDmaMappingError(dev: DmaDebugDevice, dmaAddr: bigint): void {
    if (this.disabled) return;
    const bucket = this.bucketOf(dmaAddr);
    if (bucket === undefined) return;
    for (const e of bucket) {
      if (e.devName !== dev.name || e.devAddr !== dmaAddr) continue;
      if (e.mapErrType === 'MAP_ERR_NOT_CHECKED') {
        e.mapErrType = 'MAP_ERR_CHECKED';
        break;
      }
    }
  }

  /** debug_dma_unmap_phys() */
  debugDmaUnmapPhys(dev: DmaDebugDevice, dmaAddr: bigint, size: Size, dir: DmaDirection): void {
    if (this.disabled) return;
    const ref = this.unmapRef;
    ref.devName = dev.name;
    ref.devAddr = dmaAddr;
    ref.size = BigInt(size);
    ref.direction = dir;
    this.checkUnmap(dev, ref);
  }

  /** debug_dma_map_sg(): one entry per mapped (DMA-side) segment, paired with the i-th CPU-side entry. */
  debugDmaMapSg(dev: DmaDebugDevice, sg: readonly DmaDebugSg[], nents: number, mappedEnts: number, dir: DmaDirection, attrs = 0): void {
    if (this.disabled) return;
    const n = Math.min(mappedEnts, sg.length);
    for (let i = 0; i < n; i++) {
      const s = sg[i]!;
      const entry = this.newEntry(dev, 'scatter-gather', s.dmaAddress, BigInt(s.dmaLength), dir);
      entry.paddr = s.phys;
      entry.sgCallEnts = nents;
      entry.sgMappedEnts = mappedEnts;
      this.checkSgSegment(dev, s);
      this.addDmaEntry(entry, attrs);
    }
  }

  /** debug_dma_unmap_sg(): stops after the mapped count recorded for the first segment. */
  debugDmaUnmapSg(dev: DmaDebugDevice, sglist: readonly DmaDebugSg[], nelems: number, dir: DmaDirection): void {
    if (this.disabled) return;
    let mappedEnts = 0;
    const n = Math.min(nelems, sglist.length);
    for (let i = 0; i < n; i++) {
      const ref = this.sgRef(dev, sglist[i]!, nelems, dir);
      if (mappedEnts !== 0 && i >= mappedEnts) break;
      if (i === 0) mappedEnts = this.getNrMappedEntries(ref);
      this.checkUnmap(dev, ref);
    }
  }

  /** debug_dma_alloc_coherent(): cpuPhys is virt_to_paddr(virt); null when the allocation failed. */
  debugDmaAllocCoherent(dev: DmaDebugDevice, size: Size, dmaAddr: bigint, cpuPhys: bigint | null, attrs = 0): void {
    if (this.disabled || cpuPhys === null) return;
    const entry = this.newEntry(dev, 'coherent', dmaAddr, BigInt(size), DMA_BIDIRECTIONAL);
    entry.paddr = cpuPhys;
    this.addDmaEntry(entry, attrs);
  }

  /** debug_dma_free_coherent() */
  debugDmaFreeCoherent(dev: DmaDebugDevice, size: Size, cpuPhys: bigint, dmaAddr: bigint): void {
    if (this.disabled) return;
    this.checkUnmap(dev, {
      devName: dev.name,
      devAddr: dmaAddr,
      size: BigInt(size),
      type: 'coherent',
      direction: DMA_BIDIRECTIONAL,
      sgCallEnts: 0,
      paddr: cpuPhys,
    });
  }

  /** debug_dma_alloc_pages(): dma_alloc_pages/dma_alloc_noncoherent. */
  debugDmaAllocPages(dev: DmaDebugDevice, pagePhys: bigint, size: Size, dir: DmaDirection, dmaAddr: bigint, attrs = 0): void {
    if (this.disabled) return;
    const entry = this.newEntry(dev, 'noncoherent', dmaAddr, BigInt(size), dir);
    entry.paddr = pagePhys;
    this.addDmaEntry(entry, attrs);
  }

  /** debug_dma_free_pages() */
  debugDmaFreePages(dev: DmaDebugDevice, pagePhys: bigint, size: Size, dir: DmaDirection, dmaAddr: bigint): void {
    if (this.disabled) return;
    this.checkUnmap(dev, { devName: dev.name, devAddr: dmaAddr, size: BigInt(size), type: 'noncoherent', direction: dir, sgCallEnts: 0, paddr: pagePhys });
  }

  private singleRef(dev: DmaDebugDevice, dmaHandle: bigint, size: Size, dir: DmaDirection): DmaDebugRef {
    // The kernel's sync ref says "single" even though v6.18 records "phy": lookups never need a type match.
    return { devName: dev.name, devAddr: dmaHandle, size: BigInt(size), type: 'single', direction: dir, sgCallEnts: 0, paddr: 0n };
  }

  /** debug_dma_sync_single_for_cpu() */
  debugDmaSyncSingleForCpu(dev: DmaDebugDevice, dmaHandle: bigint, size: Size, dir: DmaDirection): void {
    if (this.disabled) return;
    this.checkSync(dev, this.singleRef(dev, dmaHandle, size, dir), true);
  }

  /** debug_dma_sync_single_for_device() */
  debugDmaSyncSingleForDevice(dev: DmaDebugDevice, dmaHandle: bigint, size: Size, dir: DmaDirection): void {
    if (this.disabled) return;
    this.checkSync(dev, this.singleRef(dev, dmaHandle, size, dir), false);
  }

  /** debug_dma_sync_sg_for_cpu() */
  debugDmaSyncSgForCpu(dev: DmaDebugDevice, sg: readonly DmaDebugSg[], nelems: number, dir: DmaDirection): void {
    this.syncSg(dev, sg, nelems, dir, true);
  }

  /** debug_dma_sync_sg_for_device() */
  debugDmaSyncSgForDevice(dev: DmaDebugDevice, sg: readonly DmaDebugSg[], nelems: number, dir: DmaDirection): void {
    this.syncSg(dev, sg, nelems, dir, false);
  }

  private syncSg(dev: DmaDebugDevice, sg: readonly DmaDebugSg[], nelems: number, dir: DmaDirection, toCpu: boolean): void {
    if (this.disabled) return;
    let mappedEnts = 0;
    const n = Math.min(nelems, sg.length);
    for (let i = 0; i < n; i++) {
      const ref = this.sgRef(dev, sg[i]!, nelems, dir);
      if (i === 0) mappedEnts = this.getNrMappedEntries(ref);
      if (i >= mappedEnts) break;
      this.checkSync(dev, ref, toCpu);
    }
  }

  // ---- leaks and listings ----

  /**
   * dma_debug_device_change(BUS_NOTIFY_UNBOUND_DRIVER): one report per device
   * that still has entries; the entry shown is the last one in hash order,
   * as device_dma_allocations() leaves it. Without `dev`, every device with
   * pending entries is reported, in the order of its oldest entry.
   * Entries stay recorded, as in the kernel. Returns the number of devices reported.
   */
  reportLeaks(dev?: DmaDebugDevice): number {
    if (this.disabled) return 0;
    const all = this.entriesInHashOrder();
    const names = dev ? [dev.name] : [...new Set([...all].sort((a, b) => a.seq - b.seq).map((e) => e.devName))];
    let reported = 0;
    for (const name of names) {
      const mine = all.filter((e) => e.devName === name);
      const entry = mine[mine.length - 1];
      if (!entry) continue;
      this.errPrintk(
        DMA_DEBUG_CHECK.leak,
        { driver: dev ? dev.driver : entry.driver, devName: name },
        entry,
        `device driver has pending DMA allocations while released from device [count=${mine.length}]\n` +
          `One of leaked entries details: [device address=${devAddrStr(entry.devAddr)}] [size=${entry.size} bytes] ` +
          `[mapped with ${dirName(entry.direction)}] [mapped as ${entry.type}]`,
      );
      reported++;
    }
    return reported;
  }

  /** Entries still recorded (for `expect no_leaks`), oldest first; only `dev`'s when given. */
  pendingEntries(dev?: DmaDebugDevice): DmaDebugEntry[] {
    const out: DmaDebugEntry[] = [];
    for (const bucket of this.hash.values()) for (const e of bucket) if (!dev || e.devName === dev.name) out.push(e);
    return out.sort((a, b) => a.seq - b.seq);
  }

  /**
   * debug_dma_dump_mappings(): one dev_info line per entry in hash order,
   * "<driver> <dev_name>: <type> idx <n> P=<paddr> D=<dev_addr> L=<len> cln=<cln> <dir> <maperr>".
   * Printed to the kernel log and returned.
   */
  debugDmaDumpMappings(dev?: DmaDebugDevice): string[] {
    const lines: string[] = [];
    for (const e of this.entriesInHashOrder()) {
      if (dev && e.devName !== dev.name) continue;
      const line =
        `${e.driver} ${e.devName}: ${e.type} idx ${hashFn(e.devAddr)} P=${fmtPa(e.paddr)} D=${e.devAddr.toString(16)} ` +
        `L=${e.size.toString(16)} cln=${fmtPa(this.toCachelineNumber(e))} ${dirName(e.direction)} ${MAPERR2STR[e.mapErrType]}`;
      this.recorder.printk(line);
      lines.push(line);
    }
    return lines;
  }
}
