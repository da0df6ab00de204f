// The contract every page-table format implements (the kernel's
// struct io_pgtable_ops plus a walker that records each descriptor read, so
// the debugger and the walk panel can show every step).

/** IOMMU_* prot bits, values as in include/linux/iommu.h. */
export const IOMMU_READ = 1;
export const IOMMU_WRITE = 2;
export const IOMMU_CACHE = 4;
export const IOMMU_NOEXEC = 8;
export const IOMMU_MMIO = 16;
export const IOMMU_PRIV = 32;

/** Where table memory lives: physical memory for the host, guest memory (IPAs) for a nested stage 1. */
export interface TableMemory {
  readU64(addr: bigint): bigint;
  writeU64(addr: bigint, value: bigint): void;
  /** The same at an address below 2^53 given as a number (no BigInt address arithmetic): walkers use them when present. */
  readU64N?(addr: number): bigint;
  writeU64N?(addr: number, value: bigint): void;
  /** The 64-bit word at a number address as a number when it is below 2^53, else -1 (no BigInt made): walkers descend through table descriptors with it. */
  readU64NumN?(addr: number): number;
  /** The word at a number address as 32-bit halves: returns the low one and leaves the high one in lastHigh (no BigInt, no object). */
  readU64LoN?(addr: number): number;
  readonly lastHigh?: number;
  /** writeU64N of hi * 2^32 + lo given as two unsigned 32-bit halves. */
  writeU64HalvesN?(addr: number, lo: number, hi: number): void;
  /** Changes with every write to the memory (any address, any path): a walker may keep what it read while it is unchanged. */
  readonly generation?: number;
}

/** Table memory with the 32-bit-halves access and a write generation: the number walkers' fast path. */
export type HalvesTableMemory = TableMemory & Required<Pick<TableMemory, 'readU64LoN' | 'lastHigh' | 'writeU64HalvesN' | 'generation'>>;

/** How a format gets and returns zeroed table pages (iommu_alloc_pages_node_sz / iommu_free_pages). */
export interface TableAllocator {
  /** Returns the physical address of `bytes` zeroed bytes aligned to `bytes`. */
  allocTable(bytes: number): bigint;
  freeTable(addr: bigint, bytes: number): void;
}

/** The io_pgtable TLB callbacks (iommu_flush_ops) that io-pgtable-arm invokes. */
export interface TlbCallbacks {
  tlbFlushAll?(): void;
  tlbFlushWalk?(iova: bigint, size: bigint, granule: bigint): void;
  tlbAddPage?(iova: bigint, granule: bigint): void;
}

export interface PgtableHooks {
  mem: TableMemory;
  alloc: TableAllocator;
  tlb?: TlbCallbacks;
  /** WARN()s the format hits, with the kernel's message ("Unmap of a partial large IOPTE is not allowed"). */
  warn?(func: string, what: string): void;
}

/** One descriptor read of a walk. */
export interface WalkStep {
  /** Translation stage: 1 (or the only stage), 2 for a nest parent; for a chain, which MMU. */
  stage: number;
  level: number;
  /** Address of the table (physical, or an IPA for a nested stage 1). */
  table: bigint;
  index: number;
  /** Address the descriptor was read from (table + index * 8). */
  descAddr: bigint;
  desc: bigint;
  /** For a nested stage-1 read: the stage-2 walk that translated descAddr. */
  nested?: WalkResult;
}

export type WalkFaultReason = 'translation' | 'permission' | 'address-size' | 'access';

export interface WalkResult {
  steps: WalkStep[];
  /** Set when the walk reached a leaf. */
  phys?: bigint;
  leafLevel?: number;
  /** Size of the leaf (page or block) that maps the address. */
  pageSize?: bigint;
  /** Permissions the leaf grants. */
  read?: boolean;
  write?: boolean;
  /** Set when the walk stopped at an invalid entry or out-of-range input. */
  fault?: { level: number; reason: WalkFaultReason; stage: number };
  /** Memory accesses the walk made, nested sub-walks included. */
  accesses: number;
}

/**
 * Reads one descriptor. The default reads TableMemory; a nested stage 1
 * supplies one that first walks stage 2 for descAddr (and may fail).
 */
export type DescriptorFetch = (descAddr: bigint, level: number) => { value: bigint; nested?: WalkResult } | { fault: WalkResult };

export interface IoPgtableConfig {
  pgsizeBitmap: bigint;
  ias: number;
  oas: number;
}

export interface IoPgtableOps {
  readonly name: string;
  readonly cfg: IoPgtableConfig;
  /** Table base (TTBR / VTTBR / root pointer). */
  readonly root: bigint;
  readonly levels: number;
  /** map_pages: maps `count` pages of `pgsize`; returns bytes mapped and 0 or -errno. */
  mapPages(iova: bigint, paddr: bigint, pgsize: bigint, count: number, prot: number): { mapped: bigint; ret: number };
  /** unmap_pages: returns bytes unmapped (0 when refused). */
  unmapPages(iova: bigint, pgsize: bigint, count: number): bigint;
  iovaToPhys(iova: bigint): bigint;
  walk(iova: bigint, fetch?: DescriptorFetch): WalkResult;
  /** Every table page still owned by the format (for teardown and leak checks). */
  free(): void;
}

/**
 * A format that also takes addresses as numbers (integers below 2^53: ias and
 * oas of at most 52 bits), so a 4 KiB map or unmap makes no BigInt on the way
 * down. Same results as the bigint calls, descriptor for descriptor.
 */
export interface NumberIoPgtableOps extends IoPgtableOps {
  /** The smallest page size of cfg.pgsizeBitmap as a number when it is also min_pagesz and at most 2^30 (its offset mask fits in an int), else -1. */
  readonly minPageN: number;
  /** mapPages with number addresses: 0 or -errno; the bytes mapped are left in mappedN. */
  mapPagesN(iova: number, paddr: number, pgsize: number, count: number, prot: number): number;
  readonly mappedN: number;
  /** unmapPages with a number address: the bytes unmapped, or -1 when the answer is in unmappedBig (a size_t the kernel-shaped walk gave, -ENOENT wrapped). */
  unmapPagesN(iova: number, pgsize: number, count: number): number;
  readonly unmappedBig: bigint;
  /** iovaToPhys with numbers: 0 when unmapped. */
  iovaToPhysNum(iova: number): number;
}

/** Whether a format takes number addresses. */
export function hasNumberOps(ops: IoPgtableOps): ops is NumberIoPgtableOps {
  return (ops as Partial<NumberIoPgtableOps>).mapPagesN !== undefined;
}
