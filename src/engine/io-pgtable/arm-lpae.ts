// Arm LPAE (VMSAv8-64) io-pgtable, stage 1 and stage 2, 4K/16K/64K granules:
// drivers/iommu/io-pgtable-arm.c as of v6.18. Table memory is reached only
// through hooks.mem, so a table's contents are what a walker reads and what
// the kernel would have written, descriptor for descriptor.
//
// Modelled configuration: ARM_64_LPAE_S1 / ARM_64_LPAE_S2, quirks 0,
// coherent_walk = true (no SW_SYNC bit, no dma_sync of tables).

import { EEXIST, EINVAL, ENOENT, ENOMEM, ERANGE, KernelError } from '../errno';
import { BigIntMemo, ffs, fls, NumberMemo, u64, U64_MASK } from '../u64';
import {
  DescriptorFetch, HalvesTableMemory, IOMMU_CACHE, IOMMU_MMIO, IOMMU_NOEXEC, IOMMU_PRIV, IOMMU_READ, IOMMU_WRITE,
  IoPgtableConfig, NumberIoPgtableOps, PgtableHooks, WalkFaultReason, WalkResult, WalkStep,
} from './types';

const ARM_LPAE_MAX_ADDR_BITS = 52;
const ARM_LPAE_S2_MAX_CONCAT_PAGES = 16;
const ARM_LPAE_MAX_LEVELS = 4;
const LAST_LEVEL = ARM_LPAE_MAX_LEVELS - 1;
/** ilog2(sizeof(arm_lpae_iopte)). */
const PTE_SHIFT = 3;

const SZ_4K = 1n << 12n;
const SZ_16K = 1n << 14n;
const SZ_64K = 1n << 16n;
const SZ_2M = 1n << 21n;
const SZ_32M = 1n << 25n;
const SZ_512M = 1n << 29n;
const SZ_1G = 1n << 30n;
const SZ_4T = 1n << 42n;

// Descriptor bits (ARM_LPAE_PTE_*).
const PTE_TYPE_MASK = 3n;
const PTE_TYPE_BLOCK = 1n;
const PTE_TYPE_TABLE = 3n;
const PTE_TYPE_PAGE = 3n;
/** The type bits as numbers, for descriptors read as halves. */
const PTE_TYPE_BLOCK_N = 1;
const PTE_TYPE_PAGE_N = 3;
const PTE_ADDR_MASK = ((1n << 48n) - 1n) & ~((1n << 12n) - 1n); // GENMASK_ULL(47, 12)
const PTE_XN = 3n << 53n;
const PTE_AF = 1n << 10n;
const PTE_SH_OS = 2n << 8n;
const PTE_SH_IS = 3n << 8n;
const PTE_AP_UNPRIV = 1n << 6n;
const PTE_AP_RDONLY = 1n << 7n;
const PTE_ATTRINDX_SHIFT = 2n;
const PTE_NG = 1n << 11n;
const PTE_HAP_READ = 1n << 6n;
const PTE_HAP_WRITE = 2n << 6n;
const PTE_MEMATTR_OIWB = 0xfn << 2n;
const PTE_MEMATTR_NC = 0x5n << 2n;
const PTE_MEMATTR_DEV = 0x1n << 2n;

const MAIR_ATTR_IDX_CACHE = 1n;
const MAIR_ATTR_IDX_DEV = 2n;

// TCR/VTCR field values (io-pgtable-arm.h).
const TCR_TG0_4K = 0;
const TCR_TG0_64K = 1;
const TCR_TG0_16K = 2;
const TCR_SH_IS = 3;
const TCR_RGN_WBWA = 1;
const TCR_PS: Readonly<Record<number, number>> = { 32: 0, 36: 1, 40: 2, 42: 3, 44: 4, 48: 5, 52: 6 };
const VTCR_SL0_MASK = 3;

/**
 * MAIR as the kernel computes it: NC(0x44) | WBRWA(0xff)<<8 | DEVICE(0x04)<<16 |
 * INC_OWBRWA(0xf4)<<24. The last term is an int shift that goes negative and
 * sign-extends into the u64, hence the 0xffffffff top half.
 */
const ARM_LPAE_S1_MAIR = u64(BigInt.asIntN(32, 0xf404ff44n));

const MSG_PARTIAL_UNMAP = 'Unmap of a partial large IOPTE is not allowed';

export interface ArmLpaeConfig {
  stage: 1 | 2;
  /** Translation granule; only used to build pgsizeBitmap when none is given. */
  granule: bigint;
  ias: number;
  oas: number;
  /** The IOMMU's page sizes before arm_lpae_restrict_pgsizes(); defaults to the granule's sizes. */
  pgsizeBitmap?: bigint;
  /** CPU PAGE_SIZE: arm_lpae_restrict_pgsizes() prefers it as the granule. */
  pageSize: bigint;
}

export interface ArmLpaeTcr {
  ips: number;
  tg: number;
  sh: number;
  orgn: number;
  irgn: number;
  tsz: number;
}

export interface ArmLpaeVtcr {
  ps: number;
  tg: number;
  sh: number;
  orgn: number;
  irgn: number;
  sl: number;
  tsz: number;
}

/** struct io_pgtable_cfg after alloc_io_pgtable_ops() for the two LPAE formats. */
export interface ArmLpaeIoPgtableCfg extends IoPgtableConfig {
  fmt: 'ARM_64_LPAE_S1' | 'ARM_64_LPAE_S2';
  armLpaeS1Cfg?: { ttbr: bigint; tcr: ArmLpaeTcr; mair: bigint };
  armLpaeS2Cfg?: { vttbr: bigint; vtcr: ArmLpaeVtcr };
}

/** One table reachable from the pgd, with its non-zero descriptors (for dumps and leak checks). */
export interface ArmLpaeTableDump {
  level: number;
  table: bigint;
  /** Table size in bytes (the pgd may be smaller or larger than a granule). */
  size: bigint;
  entries: { index: number; desc: bigint }[];
}

/** Page sizes a granule can map (the switch in arm_lpae_restrict_pgsizes()). */
export function armLpaeGranulePageSizes(granule: bigint, oas: number): bigint {
  if (granule === SZ_4K) return SZ_4K | SZ_2M | SZ_1G;
  if (granule === SZ_16K) return SZ_16K | SZ_32M;
  if (granule === SZ_64K) return SZ_64K | SZ_512M | (oas > 48 ? SZ_4T : 0n);
  return 0n;
}

/** arm_lpae_restrict_pgsizes(): pick the granule relative to PAGE_SIZE and clamp ias/oas. */
function armLpaeRestrictPgsizes(bitmap: bigint, ias: number, oas: number, pageSize: bigint): { bitmap: bigint; ias: number; oas: number } {
  const pageMask = u64(~(pageSize - 1n));
  let granule = 0n;
  if (bitmap & pageSize) granule = pageSize;
  else if (bitmap & ~pageMask) granule = 1n << BigInt(fls(bitmap & ~pageMask));
  else if (bitmap & pageMask) granule = 1n << BigInt(ffs(bitmap & pageMask));
  const maxAddrBits = granule === SZ_64K ? 52 : 48;
  return {
    bitmap: bitmap & armLpaeGranulePageSizes(granule, oas),
    ias: Math.min(ias, maxAddrBits),
    oas: Math.min(oas, maxAddrBits),
  };
}

interface LevelGeometry {
  shift: bigint;
  mask: bigint;
  size: bigint;
  sizeN: number;
  maskN: number;
}

/** Addresses below this are exact as numbers. */
const NUMBER_EXACT = 1n << 53n;

const TWO_32 = 0x1_0000_0000;

/** The table's physical address in a table descriptor given as halves, below the 64K granule (bits 47:12, nothing folded). */
function tableAddrN(lo: number, hi: number): number {
  return (hi & 0xffff) * TWO_32 + ((lo & 0xffff_f000) >>> 0);
}

export class ArmLpaeIoPgtable implements NumberIoPgtableOps {
  readonly name: string;
  readonly cfg: ArmLpaeIoPgtableCfg;
  readonly root: bigint;
  /** root as a number (a physical address below 2^53): where every number walk starts. */
  private readonly rootN: number;
  readonly stage: 1 | 2;
  readonly startLevel: number;
  readonly bitsPerLevel: number;
  /** log2 of the pgd's entry count, concatenated tables included. */
  readonly pgdBits: number;
  readonly granule: bigint;
  /** Below 64K a descriptor's address bits are in place (no PA[51:48] fold): table descriptors can be read as numbers. */
  private readonly plainTableAddrs: boolean;
  /** Stage 2 only: the pgd is 2..16 concatenated tables (arm_lpae_concat_mandatory()). */
  readonly concatenated: boolean;
  /** 4 - start_level. */
  readonly levels: number;
  private freed = false;
  /**
   * Table memory read and written as 32-bit halves, when the number paths
   * apply: below the 64K granule (ias and oas at most 48 bits, descriptors'
   * address bits in place) on memory that offers it; else null.
   */
  private readonly halvesMem: HalvesTableMemory | null;
  /** Bytes the last mapPagesN (or number walk) mapped: its second result without an object. */
  mappedN = 0;
  /** What the kernel-shaped unmap returned when unmapPagesN handed over to it (then -1). */
  unmappedBig = 0n;
  /** The page size the last map or unmap passed the pgsize_bitmap check with, and that bitmap (as a bigint, and as a number for the number calls). */
  private okPgsize = -1n;
  private okBitmap = -1n;
  private okPgsizeN = -1;
  /** 2 ** ias and 2 ** oas for the number calls' range checks (cfg is fixed once allocated). */
  private readonly iasLimitN: number;
  private readonly oasLimitN: number;
  readonly minPageN: number;
  /** arm_lpae_prot_to_pte() per prot as the descriptor's two 32-bit halves. */
  private readonly protLo: number[] = [];
  private readonly protHi: number[] = [];
  /**
   * Number() of the iova, size and paddr, and BigInt() of the output address,
   * remembered: a map, its lookups and its unmap see the same values, and a
   * conversion costs more than a walk step.
   */
  private readonly iovaNumbers = new NumberMemo();
  private readonly sizeNumbers = new NumberMemo();
  private readonly paddrNumbers = new NumberMemo();
  private readonly physBigInts = new BigIntMemo();
  /**
   * The last-level table the last number walk reached (walkTable), for the
   * iovas [walkStartN, walkEndN) it translates, while the memory's write generation is
   * still walkGen: the next map, lookup or unmap in the same 2 MiB (4K
   * granule) starts there instead of at the pgd. Any write to memory drops
   * it, except the walker's own leaf writes into that table, which cannot
   * change the levels above it (a table aliasing one above is never kept).
   */
  private walkStartN = -1;
  private walkEndN = -1;
  private walkTable = 0;
  private walkGen = -1;
  /** The table a number walk is reading at each level (the path checked against aliasing). */
  private readonly walkPath = new Float64Array(ARM_LPAE_MAX_LEVELS);
  /** 1 << bits for the ias/oas range checks (a comparison allocates nothing; a shift does). */
  private readonly limits: bigint[] = [];

  constructor(config: ArmLpaeConfig, private readonly hooks: PgtableHooks) {
    this.stage = config.stage;
    const fmt = config.stage === 1 ? 'ARM_64_LPAE_S1' : 'ARM_64_LPAE_S2';
    this.name = `arm-lpae ${fmt}`;

    // arm_lpae_alloc_pgtable()
    const wanted = config.pgsizeBitmap ?? armLpaeGranulePageSizes(config.granule, config.oas);
    const r = armLpaeRestrictPgsizes(wanted, config.ias, config.oas, config.pageSize);
    if (!(r.bitmap & (SZ_4K | SZ_16K | SZ_64K))) throw allocFail(`no usable granule in pgsize_bitmap ${hexOf(wanted)} for PAGE_SIZE ${hexOf(config.pageSize)}`);
    if (r.ias > ARM_LPAE_MAX_ADDR_BITS || r.oas > ARM_LPAE_MAX_ADDR_BITS) throw allocFail('ias/oas above 52 bits');
    const pgShift = ffs(r.bitmap);
    this.bitsPerLevel = pgShift - PTE_SHIFT;
    this.granule = 1n << BigInt(pgShift);
    this.plainTableAddrs = this.granule < SZ_64K;
    const vaBits = r.ias - pgShift;
    if (vaBits <= 0) throw allocFail(`ias ${r.ias} leaves no bits to translate`);
    const levels = Math.ceil(vaBits / this.bitsPerLevel);
    let startLevel = ARM_LPAE_MAX_LEVELS - levels;
    let pgdBits = vaBits - this.bitsPerLevel * (levels - 1);

    // Stage 2 concatenates level-0 tables only where the architecture requires it (v6.15+).
    let concatenated = false;
    if (config.stage === 2 && armLpaeConcatMandatory(this.granule, startLevel, r.ias, r.oas)) {
      if ((1 << pgdBits) > ARM_LPAE_S2_MAX_CONCAT_PAGES) {
        this.warn('arm_64_lpae_alloc_pgtable_s2', 'WARN_ON((ARM_LPAE_PGD_SIZE(data) / sizeof(arm_lpae_iopte)) > ARM_LPAE_S2_MAX_CONCAT_PAGES)');
        throw allocFail('too many concatenated stage-2 tables');
      }
      pgdBits += this.bitsPerLevel;
      startLevel++;
      concatenated = true;
    }
    this.startLevel = startLevel;
    this.pgdBits = pgdBits;
    this.concatenated = concatenated;
    this.levels = ARM_LPAE_MAX_LEVELS - startLevel;

    const ps = TCR_PS[r.oas];
    if (ps === undefined) throw allocFail(`unsupported oas ${r.oas}`);
    const tg = this.granule === SZ_4K ? TCR_TG0_4K : this.granule === SZ_16K ? TCR_TG0_16K : TCR_TG0_64K;

    this.root = this.allocPages(this.pgdSize);
    if (this.root < 0n) throw allocFail('pgd allocation failed');
    this.rootN = Number(this.root);

    const cfg: ArmLpaeIoPgtableCfg = { fmt, pgsizeBitmap: r.bitmap, ias: r.ias, oas: r.oas };
    if (config.stage === 1) {
      cfg.armLpaeS1Cfg = {
        ttbr: this.root,
        tcr: { ips: ps, tg, sh: TCR_SH_IS, orgn: TCR_RGN_WBWA, irgn: TCR_RGN_WBWA, tsz: 64 - r.ias },
        mair: ARM_LPAE_S1_MAIR,
      };
    } else {
      // SL0 encodes the start level differently for the 4K granule.
      const sl = startLevel + (this.granule === SZ_4K ? 1 : 0);
      cfg.armLpaeS2Cfg = {
        vttbr: this.root,
        vtcr: { ps, tg, sh: TCR_SH_IS, orgn: TCR_RGN_WBWA, irgn: TCR_RGN_WBWA, sl: ~sl & VTCR_SL0_MASK, tsz: 64 - r.ias },
      };
    }
    this.cfg = cfg;
    this.iasLimitN = 2 ** cfg.ias;
    this.oasLimitN = 2 ** cfg.oas;
    const smallest = cfg.pgsizeBitmap & -cfg.pgsizeBitmap; // a granule size (4K, 16K or 64K): min_pagesz too
    this.minPageN = smallest > 0n && smallest <= 1n << 30n ? Number(smallest) : -1;
    const mem = hooks.mem;
    this.halvesMem = this.plainTableAddrs && mem.readU64LoN && mem.writeU64HalvesN && mem.generation !== undefined ? (mem as HalvesTableMemory) : null;
  }

  get pgdSize(): bigint {
    return 8n << BigInt(this.pgdBits);
  }

  get ptesPerTable(): number {
    return 1 << this.bitsPerLevel;
  }

  // ---- geometry (the ARM_LPAE_* macros) ----

  /** ARM_LPAE_LVL_SHIFT. */
  lvlShift(lvl: number): number {
    return (ARM_LPAE_MAX_LEVELS - lvl) * this.bitsPerLevel + PTE_SHIFT;
  }

  /** ARM_LPAE_BLOCK_SIZE: bytes one entry at `lvl` maps. */
  blockSize(lvl: number): bigint {
    return this.levelGeometry()[lvl].size;
  }

  /** ARM_LPAE_LVL_IDX: the pgd index spans all concatenated tables; upper iova bits are ignored. */
  lvlIdx(iova: bigint, lvl: number): number {
    const g = this.levelGeometry()[lvl];
    return Number((iova >> g.shift) & g.mask);
  }

  /**
   * Shift, index mask and block size per level, computed once: the walkers'
   * hot path. As bigints, and as numbers for addresses below 2^53 (every
   * input address once ias <= 52 is checked), where an index is a division by
   * a power of two and no BigInt is allocated.
   */
  private geometryCache: LevelGeometry[] | null = null;

  private levelGeometry(): LevelGeometry[] {
    if (this.geometryCache) return this.geometryCache;
    const out: LevelGeometry[] = [];
    for (let lvl = 0; lvl < ARM_LPAE_MAX_LEVELS; lvl++) {
      const shiftN = this.lvlShift(lvl);
      const shift = BigInt(shiftN);
      const bits = lvl === this.startLevel ? this.pgdBits : this.bitsPerLevel;
      out.push({ shift, mask: (1n << BigInt(bits)) - 1n, size: 1n << shift, sizeN: 2 ** shiftN, maskN: 2 ** bits - 1 });
    }
    this.geometryCache = out;
    return out;
  }

  /** lvlIdx for an address below 2^53 given as a number. */
  private lvlIdxN(iova: number, lvl: number): number {
    const g = this.levelGeometry()[lvl];
    // ToInt32 keeps the quotient's low 32 bits exactly (it is below 2^53); the mask has at most 16 bits.
    return (Math.floor(iova / g.sizeN) | 0) & g.maskN;
  }

  /** arm_lpae_max_entries: entries left in the same table page from index i. */
  private maxEntries(i: number): number {
    const n = this.ptesPerTable;
    return n - (i & (n - 1));
  }

  private tableSize(lvl: number): bigint {
    return lvl === this.startLevel ? this.pgdSize : this.granule;
  }

  // ---- descriptor encoding ----

  /** paddr_to_iopte: PA[51:48] folds into bits 15:12 (64K granule only; RES0 otherwise). */
  paddrToIopte(paddr: bigint): bigint {
    return (paddr | (paddr >> 36n)) & PTE_ADDR_MASK;
  }

  /** iopte_to_paddr. */
  iopteToPaddr(pte: bigint): bigint {
    const paddr = pte & PTE_ADDR_MASK;
    if (this.granule < SZ_64K) return paddr;
    return u64(paddr | (paddr << 36n)) & (PTE_ADDR_MASK << 4n);
  }

  private iopteLeaf(pte: bigint, lvl: number): boolean {
    if (lvl === ARM_LPAE_MAX_LEVELS - 1) return (pte & PTE_TYPE_MASK) === PTE_TYPE_PAGE;
    return (pte & PTE_TYPE_MASK) === PTE_TYPE_BLOCK;
  }

  private iopteTable(pte: bigint, lvl: number): boolean {
    if (lvl === ARM_LPAE_MAX_LEVELS - 1) return false;
    return (pte & PTE_TYPE_MASK) === PTE_TYPE_TABLE;
  }

  /** arm_lpae_prot_to_pte(), remembered per prot (it depends on prot and the stage only). */
  protToPte(prot: number): bigint {
    let pte = this.protPtes[prot];
    if (pte === undefined) {
      pte = this.protToPteOnce(prot);
      if (prot >= 0 && prot < 256) this.protPtes[prot] = pte;
    }
    return pte;
  }

  private readonly protPtes: bigint[] = [];

  /** arm_lpae_prot_to_pte(): attribute bits of a leaf for IOMMU_* prot. */
  private protToPteOnce(prot: number): bigint {
    let pte: bigint;
    if (this.stage === 1) {
      pte = PTE_NG;
      if (!(prot & IOMMU_WRITE) && prot & IOMMU_READ) pte |= PTE_AP_RDONLY;
      if (!(prot & IOMMU_PRIV)) pte |= PTE_AP_UNPRIV;
      if (prot & IOMMU_MMIO) pte |= MAIR_ATTR_IDX_DEV << PTE_ATTRINDX_SHIFT;
      else if (prot & IOMMU_CACHE) pte |= MAIR_ATTR_IDX_CACHE << PTE_ATTRINDX_SHIFT;
    } else {
      pte = 0n; // HAP_FAULT
      if (prot & IOMMU_READ) pte |= PTE_HAP_READ;
      if (prot & IOMMU_WRITE) pte |= PTE_HAP_WRITE;
      if (prot & IOMMU_MMIO) pte |= PTE_MEMATTR_DEV;
      else if (prot & IOMMU_CACHE) pte |= PTE_MEMATTR_OIWB;
      else pte |= PTE_MEMATTR_NC;
    }
    pte |= prot & IOMMU_CACHE ? PTE_SH_IS : PTE_SH_OS;
    if (prot & IOMMU_NOEXEC) pte |= PTE_XN;
    return pte | PTE_AF;
  }

  // ---- memory, allocation and callbacks ----

  private read(addr: bigint): bigint {
    return this.hooks.mem.readU64(addr);
  }

  /** Descriptor load at a table address given as a number (physical memory reads it without BigInt arithmetic). */
  private readN(addr: number): bigint {
    const mem = this.hooks.mem;
    return mem.readU64N ? mem.readU64N(addr) : mem.readU64(BigInt(addr));
  }

  /** x >> bits is non-zero: x is negative or at least 2^bits. */
  private beyond(x: bigint, bits: number): boolean {
    let limit = this.limits[bits];
    if (limit === undefined) this.limits[bits] = limit = 1n << BigInt(bits);
    return x < 0n || x >= limit;
  }

  /** beyond() for a number below a limit 2^bits: negative, at least the limit, or not an integer. */
  private beyondN(x: number, limit: number): boolean {
    return !(x >= 0 && x < limit && Number.isInteger(x));
  }

  /** badPgsize() for a number page size (the bitmap is fixed once allocated). */
  private badPgsizeN(pgsize: number): boolean {
    if (pgsize === this.okPgsizeN) return false;
    if (!(pgsize > 0 && Number.isSafeInteger(pgsize)) || this.badPgsize(BigInt(pgsize))) return true;
    this.okPgsizeN = pgsize;
    return false;
  }

  /** !pgsize || (pgsize & pgsize_bitmap) != pgsize, remembered for the last page size that passed. */
  private badPgsize(pgsize: bigint): boolean {
    const bitmap = this.cfg.pgsizeBitmap;
    if (pgsize === this.okPgsize && bitmap === this.okBitmap) return false;
    if (!pgsize || (pgsize & bitmap) !== pgsize) return true;
    this.okPgsize = pgsize;
    this.okBitmap = bitmap;
    return false;
  }

  /** protToPte(prot)'s low and high 32 bits, made once per prot. */
  private protHalves(prot: number): void {
    if (this.protLo[prot] !== undefined) return;
    const pte = this.protToPte(prot);
    this.protLo[prot] = Number(pte & 0xffff_ffffn);
    this.protHi[prot] = Number(pte >> 32n);
  }

  /**
   * The next-level table a descriptor at `ptep` points to, as a number, when
   * the descriptor is a table descriptor (type 3 above the last level) read
   * without a BigInt; -1 when it is anything else or the fast read does not
   * apply (64K granule's folded address bits, a table memory without it, a
   * descriptor above 2^53): the caller then takes the BigInt path.
   */
  private nextTableN(ptep: number, lvl: number): number {
    const mem = this.hooks.mem;
    if (lvl >= ARM_LPAE_MAX_LEVELS - 1 || mem.readU64NumN === undefined || !this.plainTableAddrs) return -1;
    const d = mem.readU64NumN(ptep);
    if (d <= 0) return -1;
    // d is an integer below 2^53: >>> 0 is its low word exactly (and no floating-point remainder).
    const lo = d >>> 0;
    if ((lo & 3) !== 3) return -1;
    const hi = (d - lo) / 0x1_0000_0000;
    // iopte_to_paddr below 64K: bits 47:12.
    return (hi & 0xffff) * 0x1_0000_0000 + (lo - (lo & 0xfff));
  }

  /**
   * iova_to_phys at a last-level page descriptor read as a number: the output
   * address with iova's offset in the page (iopte_to_paddr | offset, as the
   * walk computes it); -1 when the descriptor is not a page or the fast read
   * does not apply (as nextTableN).
   */
  private pageLeafPhysN(ptep: number, lvl: number, iovaN: number): number {
    const mem = this.hooks.mem;
    if (lvl !== ARM_LPAE_MAX_LEVELS - 1 || mem.readU64NumN === undefined || !this.plainTableAddrs) return -1;
    const d = mem.readU64NumN(ptep);
    if (d <= 0) return -1;
    const lo = d >>> 0;
    if ((lo & 3) !== 3) return -1;
    const hi = (d - lo) / 0x1_0000_0000;
    const page = this.levelGeometry()[lvl].sizeN; // 4K or 16K here
    const addrLo = lo - (lo & 0xfff); // bits 31:12
    const below = addrLo & (page - 1); // address bits under the page size (RES0, but the walk ORs them in)
    const off = iovaN - Math.floor(iovaN / page) * page;
    return (hi & 0xffff) * 0x1_0000_0000 + (addrLo - below) + (below | off);
  }

  private writeN(addr: number, value: bigint): void {
    const mem = this.hooks.mem;
    if (mem.writeU64N) mem.writeU64N(addr, value);
    else mem.writeU64(BigInt(addr), value);
  }

  private warn(func: string, what: string): void {
    this.hooks.warn?.(func, what);
  }

  /** __arm_lpae_alloc_pages(): tiny starting-level tables still get 64-byte alignment. -1 on ENOMEM. */
  private allocPages(size: bigint): bigint {
    try {
      return this.hooks.alloc.allocTable(Number(size > 64n ? size : 64n));
    } catch (e) {
      if (e instanceof KernelError && e.errno === ENOMEM) return -1n;
      throw e;
    }
  }

  /** __arm_lpae_free_pages(): same byte count as the allocation request, so allocators can match them. */
  private freePages(table: bigint, size: bigint): void {
    this.hooks.alloc.freeTable(table, Number(size > 64n ? size : 64n));
  }

  // ---- map ----

  mapPages(iova: bigint, paddr: bigint, pgsize: bigint, count: number, prot: number): { mapped: bigint; ret: number } {
    const cfg = this.cfg;
    if (this.badPgsize(pgsize)) {
      this.warn('arm_lpae_map_pages', 'WARN_ON(!pgsize || (pgsize & cfg->pgsize_bitmap) != pgsize)');
      return { mapped: 0n, ret: -EINVAL };
    }
    if (this.beyond(iova, cfg.ias) || this.beyond(paddr, cfg.oas)) {
      this.warn('arm_lpae_map_pages', 'WARN_ON(iaext || paddr >> cfg->oas)');
      return { mapped: 0n, ret: -ERANGE };
    }
    if (!(prot & (IOMMU_READ | IOMMU_WRITE))) return { mapped: 0n, ret: -EINVAL };
    const mem = this.halvesMem;
    if (mem !== null && prot >= 0 && prot < 256) {
      const sizeN = this.sizeNumbers.of(pgsize);
      const ret = this.mapN(mem, this.iovaNumbers.of(iova), this.paddrNumbers.of(paddr), sizeN, count, prot);
      return { mapped: this.mappedN === sizeN ? pgsize : BigInt(this.mappedN), ret };
    }
    const acc = { mapped: 0n };
    const ret = this.lpaeMap(iova, Number(iova), paddr, pgsize, count, this.protToPte(prot), this.startLevel, this.rootN, acc);
    return { mapped: acc.mapped, ret };
  }

  /**
   * map_pages with number addresses: the same checks and WARNs as mapPages,
   * then the number walk; where that does not apply (no halves memory, a prot
   * outside the table, a check that fails) the bigint call decides.
   */
  mapPagesN(iova: number, paddr: number, pgsize: number, count: number, prot: number): number {
    const mem = this.halvesMem;
    if (mem === null || this.badPgsizeN(pgsize) || this.beyondN(iova, this.iasLimitN) || this.beyondN(paddr, this.oasLimitN) || !(prot & (IOMMU_READ | IOMMU_WRITE)) || prot < 0 || prot >= 256) {
      const r = this.mapPages(BigInt(iova), BigInt(paddr), BigInt(pgsize), count, prot);
      this.mappedN = Number(r.mapped);
      return r.ret;
    }
    return this.mapN(mem, iova, paddr, pgsize, count, prot);
  }

  /**
   * __arm_lpae_map(): descend to the level whose block size is `size`,
   * allocating tables on the way. `iovaN` is `iova` as a number and `table`
   * a physical address as a number (both below 2^53: ias and oas are at most 52 bits).
   */
  private lpaeMap(iova: bigint, iovaN: number, paddr: bigint, size: bigint, pgcount: number, prot: bigint, lvl: number, table: number, acc: { mapped: bigint }): number {
    const idx = this.lvlIdxN(iovaN, lvl);
    if (size === this.blockSize(lvl)) {
      const num = Math.min(pgcount, this.maxEntries(idx));
      const ret = this.initPte(iova, paddr, prot, lvl, num, table, idx);
      if (!ret) acc.mapped += num === 1 ? size : BigInt(num) * size;
      return ret;
    }
    if (lvl >= ARM_LPAE_MAX_LEVELS - 1) {
      this.warn('__arm_lpae_map', 'WARN_ON(lvl >= ARM_LPAE_MAX_LEVELS - 1)');
      return -EINVAL;
    }
    const ptep = table + idx * 8;
    const nextN = this.nextTableN(ptep, lvl);
    if (nextN >= 0) return this.lpaeMap(iova, iovaN, paddr, size, pgcount, prot, lvl + 1, nextN, acc);
    let pte = this.readN(ptep);
    let next = 0;
    if (!pte) {
      const page = this.allocPages(this.granule);
      if (page < 0n) return -ENOMEM;
      pte = this.installTable(page, ptep, 0n);
      if (pte) this.freePages(page, this.granule); // lost a race; cannot happen single-threaded
      else next = Number(page);
    }
    if (pte && !this.iopteLeaf(pte, lvl)) {
      next = Number(this.iopteToPaddr(pte));
    } else if (pte) {
      // We require an unmap first
      this.warn('__arm_lpae_map', 'WARN_ON(!(cfg->quirks & IO_PGTABLE_QUIRK_NO_WARN))');
      return -EEXIST;
    }
    return this.lpaeMap(iova, iovaN, paddr, size, pgcount, prot, lvl + 1, next, acc);
  }

  /**
   * __arm_lpae_map() with every address a number (iova and paddr are below
   * 2^48 here): descends through table descriptors read as halves and writes
   * the leaves as halves. Anything else on the way (a missing table to
   * allocate, a leaf or a table where the leaves go) hands over to lpaeMap
   * and initPte at that level before anything was written, so they decide
   * (and warn) exactly as the kernel does. Bytes mapped go to mappedN.
   */
  private mapN(mem: HalvesTableMemory, iovaN: number, paddrN: number, sizeN: number, pgcount: number, prot: number): number {
    const geometry = this.levelGeometry();
    let lvl = this.walkStart(mem, iovaN, sizeN, geometry);
    let table = this.walkStartTable;
    for (; ; lvl++) {
      const g = geometry[lvl];
      const idx = (Math.floor(iovaN / g.sizeN) | 0) & g.maskN;
      if (sizeN === g.sizeN) return this.initPteN(mem, iovaN, paddrN, sizeN, prot, lvl, Math.min(pgcount, this.maxEntries(idx)), table, idx);
      const lo = lvl < LAST_LEVEL ? mem.readU64LoN(table + idx * 8) : 0;
      if ((lo & 3) !== 3) {
        const acc = { mapped: 0n };
        const ret = this.lpaeMap(BigInt(iovaN), iovaN, BigInt(paddrN), BigInt(sizeN), pgcount, this.protToPte(prot), lvl, table, acc);
        this.mappedN = Number(acc.mapped);
        return ret;
      }
      this.walkPath[lvl] = table;
      table = tableAddrN(lo, mem.lastHigh);
      if (lvl + 1 === LAST_LEVEL) this.noteLeafTable(mem, iovaN, table, geometry);
    }
  }

  /** The remembered last-level table for iovaN, or -1 (another 2 MiB, or memory written since). */
  /** The table walkStart chose (a field, so a walk's start makes no object). */
  private walkStartTable = 0;

  /**
   * Where a number walk of one `sizeN` page at `iovaN` starts: the last-level
   * table the previous walk reached while it still holds (cachedLeafTable),
   * else the root. Returns the level; the table is left in walkStartTable.
   */
  private walkStart(mem: HalvesTableMemory, iovaN: number, sizeN: number, geometry: LevelGeometry[]): number {
    this.walkStartTable = this.rootN;
    if (sizeN !== geometry[LAST_LEVEL].sizeN) return this.startLevel;
    const cached = this.cachedLeafTable(mem, iovaN);
    if (cached < 0) return this.startLevel;
    this.walkStartTable = cached;
    return LAST_LEVEL;
  }

  private cachedLeafTable(mem: HalvesTableMemory, iovaN: number): number {
    if (this.walkGen !== mem.generation || this.startLevel >= LAST_LEVEL) return -1;
    return iovaN >= this.walkStartN && iovaN < this.walkEndN ? this.walkTable : -1;
  }

  /** A walk reached last-level table `table` through walkPath: remember it unless it overlaps a table above it. */
  private noteLeafTable(mem: HalvesTableMemory, iovaN: number, table: number, geometry: LevelGeometry[]): void {
    const granule = geometry[LAST_LEVEL].sizeN; // a last-level table is one granule
    for (let lvl = this.startLevel; lvl < LAST_LEVEL; lvl++) {
      const above = this.walkPath[lvl];
      const span = lvl === this.startLevel ? Math.max(Number(this.pgdSize), 64) : granule;
      if (table < above + span && above < table + granule) {
        this.walkGen = -1;
        return;
      }
    }
    const span = geometry[LAST_LEVEL - 1].sizeN; // what one last-level table translates
    this.walkStartN = Math.floor(iovaN / span) * span;
    this.walkEndN = this.walkStartN + span;
    this.walkTable = table;
    this.walkGen = mem.generation;
  }

  /** arm_lpae_init_pte() on empty (or invalid) slots, written as halves; live leaves and tables go to initPte. */
  private initPteN(mem: HalvesTableMemory, iovaN: number, paddrN: number, sizeN: number, prot: number, lvl: number, num: number, table: number, idx: number): number {
    const leaf = lvl === ARM_LPAE_MAX_LEVELS - 1 ? PTE_TYPE_PAGE_N : PTE_TYPE_BLOCK_N;
    for (let i = 0; i < num; i++) {
      const type = mem.readU64LoN(table + (idx + i) * 8) & 3;
      if (type === leaf || type === 3) {
        const ret = this.initPte(BigInt(iovaN), BigInt(paddrN), this.protToPte(prot), lvl, num, table, idx);
        this.mappedN = ret ? 0 : num * sizeN;
        return ret;
      }
    }
    this.protHalves(prot);
    const attrLo = this.protLo[prot] | leaf;
    const attrHi = this.protHi[prot];
    const keepWalk = this.walkTable === table && this.walkGen === mem.generation;
    for (let i = 0; i < num; i++) {
      const pa = paddrN + i * sizeN;
      const lo = pa >>> 0;
      const hi = (pa - lo) / TWO_32;
      // paddr_to_iopte(): PA[51:48] (paddr >> 36) folds into bits 15:12, the address keeps bits 47:12.
      this.writeHalves(mem, table + (idx + i) * 8, (attrLo | ((lo | (hi >>> 4)) & 0xffff_f000)) >>> 0, (attrHi | (hi & 0xffff)) >>> 0);
    }
    if (keepWalk) this.walkGen = mem.generation; // leaves of the remembered table: the levels above are unchanged
    this.mappedN = num * sizeN;
    return 0;
  }

  private writeHalves(mem: HalvesTableMemory, addr: number, lo: number, hi: number): void {
    mem.writeU64HalvesN(addr, lo, hi);
  }

  /** arm_lpae_install_table(): cmpxchg of the table descriptor; returns the old value. */
  private installTable(table: bigint, ptep: number, curr: bigint): bigint {
    const next = this.paddrToIopte(table) | PTE_TYPE_TABLE;
    const old = this.readN(ptep);
    if (old === curr) this.writeN(ptep, next);
    return old;
  }

  /** arm_lpae_init_pte(): refuses live leaves, replaces (empty) tables by unmapping them first. */
  private initPte(iova: bigint, paddr: bigint, prot: bigint, lvl: number, num: number, table: number, idx: number): number {
    const sz = this.blockSize(lvl);
    for (let i = 0; i < num; i++) {
      const pte = this.readN(table + (idx + i) * 8);
      if (this.iopteLeaf(pte, lvl)) {
        // We require an unmap first
        this.warn('arm_lpae_init_pte', 'WARN_ON(!(data->iop.cfg.quirks & IO_PGTABLE_QUIRK_NO_WARN))');
        return -EEXIST;
      } else if ((pte & PTE_TYPE_MASK) === PTE_TYPE_TABLE) {
        const at = u64(iova + BigInt(i) * sz);
        if (this.lpaeUnmap(false, at, Number(at), sz, 1, lvl, table) !== sz) {
          this.warn('arm_lpae_init_pte', 'WARN_ON(1)');
          return -EINVAL;
        }
      }
    }
    const type = lvl === ARM_LPAE_MAX_LEVELS - 1 ? PTE_TYPE_PAGE : PTE_TYPE_BLOCK;
    const attrs = prot | type;
    if (num === 1) this.writeN(table + idx * 8, attrs | this.paddrToIopte(paddr));
    else for (let i = 0; i < num; i++) this.writeN(table + (idx + i) * 8, attrs | this.paddrToIopte(paddr + BigInt(i) * sz));
    return 0;
  }

  // ---- unmap ----

  unmapPages(iova: bigint, pgsize: bigint, count: number): bigint {
    if (this.badPgsize(pgsize) || !count) {
      this.warn('arm_lpae_unmap_pages', 'WARN_ON(!pgsize || (pgsize & cfg->pgsize_bitmap) != pgsize || !pgcount)');
      return 0n;
    }
    if (this.beyond(iova, this.cfg.ias)) {
      this.warn('arm_lpae_unmap_pages', 'WARN_ON(iaext)');
      return 0n;
    }
    const mem = this.halvesMem;
    if (mem !== null) {
      const sizeN = this.sizeNumbers.of(pgsize);
      const n = this.unmapN(mem, this.iovaNumbers.of(iova), sizeN, count);
      return n === sizeN ? pgsize : n < 0 ? this.unmappedBig : BigInt(n);
    }
    return this.lpaeUnmap(true, iova, Number(iova), pgsize, count, this.startLevel, this.rootN);
  }

  /** unmap_pages with a number address: as unmapPages; -1 when the answer is a size_t left in unmappedBig. */
  unmapPagesN(iova: number, pgsize: number, count: number): number {
    const mem = this.halvesMem;
    if (mem === null || this.badPgsizeN(pgsize) || !count || this.beyondN(iova, this.iasLimitN)) {
      this.unmappedBig = this.unmapPages(BigInt(iova), BigInt(pgsize), count);
      return -1;
    }
    return this.unmapN(mem, iova, pgsize, count);
  }

  /**
   * __arm_lpae_unmap() with numbers: descends through table descriptors and
   * clears a run of live leaves, as halves. Anything else (an empty slot, a
   * table where leaves are cleared, a leaf above the level asked for) hands
   * over to lpaeUnmap at that level before anything was written; its size_t
   * is left in unmappedBig and -1 returned.
   */
  private unmapN(mem: HalvesTableMemory, iovaN: number, sizeN: number, pgcount: number): number {
    const geometry = this.levelGeometry();
    let lvl = this.walkStart(mem, iovaN, sizeN, geometry);
    let table = this.walkStartTable;
    for (; ; lvl++) {
      const g = geometry[lvl];
      const idx = (Math.floor(iovaN / g.sizeN) | 0) & g.maskN;
      const ptep = table + idx * 8;
      const lo = mem.readU64LoN(ptep);
      if (sizeN !== g.sizeN) {
        if (lvl >= LAST_LEVEL || (lo & 3) !== 3) return this.unmapByKernelWalk(iovaN, sizeN, pgcount, lvl, table);
        this.walkPath[lvl] = table;
        table = tableAddrN(lo, mem.lastHigh);
        if (lvl + 1 === LAST_LEVEL) this.noteLeafTable(mem, iovaN, table, geometry);
        continue;
      }
      const leaf = lvl === ARM_LPAE_MAX_LEVELS - 1 ? PTE_TYPE_PAGE_N : PTE_TYPE_BLOCK_N;
      const num = Math.min(pgcount, this.maxEntries(idx));
      for (let i = 0; i < num; i++) {
        // A live leaf has its type bits set, so it is never zero.
        if (((i === 0 ? lo : mem.readU64LoN(ptep + i * 8)) & 3) !== leaf) return this.unmapByKernelWalk(iovaN, sizeN, pgcount, lvl, table);
      }
      const keepWalk = this.walkTable === table && this.walkGen === mem.generation;
      for (let i = 0; i < num; i++) this.writeHalves(mem, ptep + i * 8, 0, 0);
      if (keepWalk) this.walkGen = mem.generation; // leaves of the remembered table: the levels above are unchanged
      const tlb = this.hooks.tlb;
      if (tlb?.tlbAddPage) for (let j = 0; j < num; j++) tlb.tlbAddPage(BigInt(iovaN + j * sizeN), BigInt(sizeN));
      return num * sizeN;
    }
  }

  /** unmapN's hand-over to lpaeUnmap at `lvl`: its size_t goes to unmappedBig, and -1 back. */
  private unmapByKernelWalk(iovaN: number, sizeN: number, pgcount: number, lvl: number, table: number): number {
    this.unmappedBig = this.lpaeUnmap(true, BigInt(iovaN), iovaN, BigInt(sizeN), pgcount, lvl, table);
    return -1;
  }

  /**
   * __arm_lpae_unmap(). `gather` is false for the unmap arm_lpae_init_pte() does
   * (no tlb_add_page then). Returns a size_t, so -ENOENT comes back as 2^64-2.
   * `iovaN` and `table` are numbers, as in lpaeMap.
   */
  private lpaeUnmap(gather: boolean, iova: bigint, iovaN: number, size: bigint, pgcount: number, lvl: number, table: number): bigint {
    if (lvl === ARM_LPAE_MAX_LEVELS) {
      this.warn('__arm_lpae_unmap', 'WARN_ON(lvl == ARM_LPAE_MAX_LEVELS)');
      return 0n;
    }
    const idx = this.lvlIdxN(iovaN, lvl);
    const ptep = table + idx * 8;
    if (size !== this.blockSize(lvl)) {
      // A table descriptor on the way down: descend without making the descriptor a BigInt.
      const nextN = this.nextTableN(ptep, lvl);
      if (nextN >= 0) return this.lpaeUnmap(gather, iova, iovaN, size, pgcount, lvl + 1, nextN);
    }
    const pte = this.readN(ptep);
    if (!pte) {
      this.warn('__arm_lpae_unmap', 'WARN_ON(!(data->iop.cfg.quirks & IO_PGTABLE_QUIRK_NO_WARN))');
      return u64(BigInt(-ENOENT));
    }

    if (size === this.blockSize(lvl)) {
      const num = Math.min(pgcount, this.maxEntries(idx));
      let i = 0;
      for (; i < num; i++) {
        const e = i === 0 ? pte : this.readN(ptep + i * 8);
        if (!e) {
          this.warn('__arm_lpae_unmap', 'WARN_ON(!(data->iop.cfg.quirks & IO_PGTABLE_QUIRK_NO_WARN))');
          break;
        }
        if (!this.iopteLeaf(e, lvl)) {
          this.writeN(ptep + i * 8, 0n);
          // Also flush any partial walks
          this.hooks.tlb?.tlbFlushWalk?.(u64(iova + BigInt(i) * size), size, this.granule);
          this.freePgtable(lvl + 1, this.iopteToPaddr(e));
        }
      }
      for (let j = 0; j < i; j++) this.writeN(ptep + j * 8, 0n);
      if (gather) for (let j = 0; j < i; j++) this.hooks.tlb?.tlbAddPage?.(j === 0 ? iova : u64(iova + BigInt(j) * size), size);
      return i === 1 ? size : BigInt(i) * size;
    } else if (this.iopteLeaf(pte, lvl)) {
      this.warn('__arm_lpae_unmap', MSG_PARTIAL_UNMAP);
      return 0n;
    }
    return this.lpaeUnmap(gather, iova, iovaN, size, pgcount, lvl + 1, Number(this.iopteToPaddr(pte)));
  }

  /** __arm_lpae_free_pgtable(): children first, then the table itself. */
  private freePgtable(lvl: number, table: bigint): void {
    const size = this.tableSize(lvl);
    // Only leaf entries at the last level (and nothing sane below it).
    if (lvl < ARM_LPAE_MAX_LEVELS - 1) {
      const n = Number(size / 8n);
      for (let i = 0; i < n; i++) {
        const pte = this.read(table + BigInt(i) * 8n);
        if (!pte || this.iopteLeaf(pte, lvl)) continue;
        this.freePgtable(lvl + 1, this.iopteToPaddr(pte));
      }
    }
    this.freePages(table, size);
  }

  /** free_io_pgtable_ops(): tlb_flush_all, then arm_lpae_free_pgtable(). */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    this.hooks.tlb?.tlbFlushAll?.();
    this.freePgtable(this.startLevel, this.root);
  }

  // ---- lookups ----

  /**
   * arm_lpae_iova_to_phys(): the kernel's walk, 0 when unmapped. Like the
   * kernel it masks the iova per level, so bits above ias are not checked.
   */
  iovaToPhys(iova: bigint): bigint {
    // walk_data.end = iova + 1 wraps for ~0UL and the kernel walk visits nothing.
    if (iova >= U64_MASK) return 0n;
    const mem = this.halvesMem;
    if (mem !== null && iova < NUMBER_EXACT) return this.physBigInts.of(this.iovaToPhysN(mem, this.iovaNumbers.of(iova)));
    if (iova < NUMBER_EXACT) {
      const iovaN = Number(iova);
      let tableN = this.rootN;
      for (let lvl = this.startLevel; lvl < ARM_LPAE_MAX_LEVELS; lvl++) {
        const ptep = tableN + this.lvlIdxN(iovaN, lvl) * 8;
        const nextN = this.nextTableN(ptep, lvl);
        if (nextN >= 0) {
          tableN = nextN;
          continue;
        }
        const physN = this.pageLeafPhysN(ptep, lvl, iovaN);
        if (physN >= 0) return BigInt(physN);
        const pte = this.readN(ptep);
        if (this.iopteLeaf(pte, lvl)) return this.iopteToPaddr(pte) | (iova & (this.blockSize(lvl) - 1n));
        if (!this.iopteTable(pte, lvl)) return 0n;
        tableN = Number(this.iopteToPaddr(pte));
      }
      return 0n;
    }
    let table = this.root;
    for (let lvl = this.startLevel; lvl < ARM_LPAE_MAX_LEVELS; lvl++) {
      const pte = this.read(table + BigInt(this.lvlIdx(iova, lvl)) * 8n);
      if (this.iopteLeaf(pte, lvl)) return this.iopteToPaddr(pte) | (iova & (this.blockSize(lvl) - 1n));
      if (!this.iopteTable(pte, lvl)) return 0n;
      table = this.iopteToPaddr(pte);
    }
    return 0n;
  }

  /** iovaToPhys with a number iova (an integer below 2^53): 0 when unmapped. */
  iovaToPhysNum(iova: number): number {
    const mem = this.halvesMem;
    if (mem !== null && iova >= 0 && iova < Number.MAX_SAFE_INTEGER && Number.isInteger(iova)) return this.iovaToPhysN(mem, iova);
    return Number(this.iovaToPhys(BigInt(iova)));
  }

  /** arm_lpae_iova_to_phys() with numbers, descriptors read as halves (iova below 2^53; the table addresses below 2^48): 0 when unmapped. */
  private iovaToPhysN(mem: HalvesTableMemory, iovaN: number): number {
    const geometry = this.levelGeometry();
    let table = this.rootN;
    let lvl = this.startLevel;
    const cached = this.cachedLeafTable(mem, iovaN);
    if (cached >= 0) {
      table = cached;
      lvl = LAST_LEVEL;
    }
    for (; lvl < ARM_LPAE_MAX_LEVELS; lvl++) {
      const g = geometry[lvl];
      const lo = mem.readU64LoN(table + ((Math.floor(iovaN / g.sizeN) | 0) & g.maskN) * 8);
      const hi = mem.lastHigh;
      const type = lo & 3;
      if (type === (lvl === ARM_LPAE_MAX_LEVELS - 1 ? PTE_TYPE_PAGE_N : PTE_TYPE_BLOCK_N)) {
        // iopte_to_paddr(pte) | (iova & (block size - 1)), ORed by halves (the offset may reach above bit 32).
        const off = iovaN - Math.floor(iovaN / g.sizeN) * g.sizeN;
        const offLo = off >>> 0;
        const physLo = ((lo & 0xffff_f000) | offLo) >>> 0;
        const physHi = (hi & 0xffff) | ((off - offLo) / TWO_32);
        return physHi * TWO_32 + physLo;
      }
      if (lvl === LAST_LEVEL || type !== 3) return 0;
      this.walkPath[lvl] = table;
      table = tableAddrN(lo, hi);
      if (lvl + 1 === LAST_LEVEL) this.noteLeafTable(mem, iovaN, table, geometry);
    }
    return 0;
  }

  /**
   * An architectural table walk, recording each descriptor read. Faults:
   * input above ias and invalid descriptors are translation faults, an
   * output or next-table address above oas is an address-size fault, a leaf
   * without AF is an access-flag fault. A block at a level the granule cannot
   * use for blocks is invalid. Read is always granted by a valid stage-1 leaf
   * (AP[2] only removes write); stage 2 uses S2AP (HAP) bits 6 and 7.
   */
  walk(iova: bigint, fetch?: DescriptorFetch): WalkResult {
    const stage = this.stage;
    const steps: WalkStep[] = [];
    let accesses = 0;
    const fault = (level: number, reason: WalkFaultReason): WalkResult => ({ steps, fault: { level, reason, stage }, accesses });

    if (iova >> BigInt(this.cfg.ias)) return fault(this.startLevel, 'translation');
    const blockSizes = armLpaeGranulePageSizes(this.granule, this.cfg.oas);
    const oasLimit = 1n << BigInt(this.cfg.oas);
    let table = this.root;
    for (let lvl = this.startLevel; lvl < ARM_LPAE_MAX_LEVELS; lvl++) {
      const index = this.lvlIdx(iova, lvl);
      const descAddr = table + BigInt(index) * 8n;
      let desc: bigint;
      let nested: WalkResult | undefined;
      if (fetch) {
        const got = fetch(descAddr, lvl);
        if ('fault' in got) {
          accesses += got.fault.accesses;
          return { steps, fault: got.fault.fault ?? { level: lvl, reason: 'translation', stage }, accesses };
        }
        desc = got.value;
        nested = got.nested;
      } else {
        desc = this.read(descAddr);
      }
      const step: WalkStep = { stage, level: lvl, table, index, descAddr, desc };
      if (nested) step.nested = nested;
      steps.push(step);
      accesses += 1 + (nested?.accesses ?? 0);

      const type = desc & PTE_TYPE_MASK;
      const size = this.blockSize(lvl);
      const isPage = lvl === ARM_LPAE_MAX_LEVELS - 1 && type === PTE_TYPE_PAGE;
      const isBlock = lvl < ARM_LPAE_MAX_LEVELS - 1 && type === PTE_TYPE_BLOCK && (blockSizes & size) !== 0n;
      const isTable = lvl < ARM_LPAE_MAX_LEVELS - 1 && type === PTE_TYPE_TABLE;
      if (isTable) {
        table = this.iopteToPaddr(desc);
        if (table >= oasLimit) return fault(lvl, 'address-size');
        continue;
      }
      if (!isPage && !isBlock) return fault(lvl, 'translation');
      const base = this.iopteToPaddr(desc) & ~(size - 1n);
      if (base >= oasLimit) return fault(lvl, 'address-size');
      if (!(desc & PTE_AF)) return fault(lvl, 'access');
      const read = stage === 1 ? true : (desc & PTE_HAP_READ) !== 0n;
      const write = stage === 1 ? (desc & PTE_AP_RDONLY) === 0n : (desc & PTE_HAP_WRITE) !== 0n;
      return { steps, phys: base | (iova & (size - 1n)), leafLevel: lvl, pageSize: size, read, write, accesses };
    }
    return fault(ARM_LPAE_MAX_LEVELS - 1, 'translation');
  }

  /** Every table reachable from the pgd, depth first, with its non-zero entries. */
  tables(): ArmLpaeTableDump[] {
    const out: ArmLpaeTableDump[] = [];
    const visit = (lvl: number, table: bigint): void => {
      const size = this.tableSize(lvl);
      const dump: ArmLpaeTableDump = { level: lvl, table, size, entries: [] };
      out.push(dump);
      const n = Number(size / 8n);
      for (let i = 0; i < n; i++) {
        const pte = this.read(table + BigInt(i) * 8n);
        if (!pte) continue;
        dump.entries.push({ index: i, desc: pte });
        if (this.iopteTable(pte, lvl)) visit(lvl + 1, this.iopteToPaddr(pte));
      }
    };
    visit(this.startLevel, this.root);
    return out;
  }
}

/**
 * arm_lpae_concat_mandatory(): Arm DDI0487 R_DXBSH / R_SRKBC. Only these
 * cases start one level lower with concatenated tables (since v6.15).
 */
export function armLpaeConcatMandatory(granule: bigint, startLevel: number, ias: number, oas: number): boolean {
  if (granule === SZ_16K && startLevel === 0) return oas === 48 || ias === 48;
  if (granule === SZ_4K && startLevel === 0) return oas === 40 || oas === 42;
  return granule === SZ_16K && startLevel === 1 && oas === 40;
}

function allocFail(why: string): KernelError {
  // alloc_io_pgtable_ops() returns NULL; the SMMU drivers turn that into -ENOMEM.
  return new KernelError(ENOMEM, `alloc_io_pgtable_ops: ${why}`);
}

function hexOf(x: bigint): string {
  return '0x' + x.toString(16);
}
