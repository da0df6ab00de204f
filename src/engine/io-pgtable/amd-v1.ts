// AMD IOMMU v1 host page tables: drivers/iommu/amd/io_pgtable.c as of v6.18.
// 4K tables of 512 entries. The table starts as 3 levels (PAGE_MODE_3_LEVEL)
// and grows a level at a time, up to amd_iommu_hpt_level (6), when a map
// needs a larger address or page size; the DTE's mode field follows `mode`.
//
// PTE: bit 0 PR, bits 11:9 NextLevel (0 = natural-size leaf, 7 = leaf whose
// size is encoded in the address bits, 1..6 = level of the table pointed
// to), bits 51:12 address, bit 60 FC, bit 61 IR, bit 62 IW. A page size
// between natural ones (8K, 64K, 4M, ...) is NextLevel 7 replicated over
// PAGE_SIZE_PTE_COUNT() entries: the first 0 above bit 11 marks the size.
//
// Levels in walks are the hardware's, the NextLevel numbering: the root table
// is level `mode`, 4K PTEs live in level 1. The kernel's loops count the same
// tables from mode - 1 down to 0 (PM_LEVEL_SHIFT(level)), as the code here does.

import { EINVAL, ENOMEM, KernelError } from '../errno';
import { ffs, isAligned, isPowerOfTwo, U64_MASK } from '../u64';
import { RadixIoPgtable, RadixPteDecode } from './generic-pt';
import { IOMMU_READ, IOMMU_WRITE, IoPgtableConfig, PgtableHooks, WalkFaultReason } from './types';

export const PAGE_MODE_NONE = 0;
export const PAGE_MODE_3_LEVEL = 3;
export const PAGE_MODE_6_LEVEL = 6;
export const PAGE_MODE_7_LEVEL = 7;
export const IOMMU_PTE_PR = 1n << 0n;
export const IOMMU_PTE_FC = 1n << 60n;
export const IOMMU_PTE_IR = 1n << 61n;
export const IOMMU_PTE_IW = 1n << 62n;
export const PM_ADDR_MASK = 0x000ffffffffff000n;
/** AMD_IOMMU_PGSIZES: every power of two from 4K up to 2^51 except 512G. */
export const AMD_IOMMU_PGSIZES = (((1n << 52n) - 1n) & ~((1n << 12n) - 1n)) ^ (1n << 39n);

const SZ_4K = 1n << 12n;

/** PM_LEVEL_SHIFT. */
function pmLevelShift(x: number): bigint {
  return BigInt(12 + x * 9);
}

/** PM_LEVEL_SIZE: the last address a table of `mode` levels covers. */
export function pmLevelSize(mode: number): bigint {
  return mode < 6 ? (1n << pmLevelShift(mode)) - 1n : U64_MASK;
}

/** PM_LEVEL_INDEX. */
function pmLevelIndex(x: number, a: bigint): number {
  return Number((a >> pmLevelShift(x)) & 0x1ffn);
}

/** PM_LEVEL_ENC. */
function pmLevelEnc(x: number): bigint {
  return (BigInt(x) << 9n) & 0xe00n;
}

/** PM_LEVEL_PDE: a table entry, readable and writable below. */
function pmLevelPde(x: number, a: bigint): bigint {
  return a | pmLevelEnc(x) | IOMMU_PTE_PR | IOMMU_PTE_IR | IOMMU_PTE_IW;
}

/** PM_PTE_LEVEL: the NextLevel field. */
function pmPteLevel(pte: bigint): number {
  return Number((pte >> 9n) & 7n);
}

function iommuPtePresent(pte: bigint): boolean {
  return (pte & IOMMU_PTE_PR) !== 0n;
}

/** PAGE_SIZE_LEVEL: the kernel level whose entries hold `pagesize`. */
function pageSizeLevel(pagesize: bigint): number {
  return Math.floor((ffs(pagesize) - 12) / 9);
}

/** PAGE_SIZE_PTE_COUNT: replicated entries for `pagesize`. */
function pageSizePteCount(pagesize: bigint): number {
  return 1 << ((ffs(pagesize) - 12) % 9);
}

/** PAGE_SIZE_PTE: the address with the size encoded in its low bits. */
function pageSizePte(address: bigint, pagesize: bigint): bigint {
  return (address | (pagesize - 1n)) & ~(pagesize >> 1n) & PM_ADDR_MASK;
}

/** PTE_PAGE_SIZE: size of a NextLevel-7 PTE, 2 << (first zero bit above bit 11). The walk panel's decoder reads it too. */
export function ptePageSize(pte: bigint): bigint {
  let x = pte | 0xfffn;
  let n = 0;
  while (x & 1n && n < 63) {
    x >>= 1n;
    n++;
  }
  return 1n << BigInt(n + 1);
}

/** PTE_LEVEL_PAGE_SIZE. */
function pteLevelPageSize(level: number): bigint {
  return 1n << pmLevelShift(level);
}

export interface AmdV1Config {
  ias: number;
  oas: number;
  /** amd_iommu_hpt_level: the most levels the table may grow to (4..6). */
  maxLevel?: number;
}

export class AmdV1IoPgtable extends RadixIoPgtable {
  readonly name = 'amd-v1';
  readonly cfg: IoPgtableConfig;
  /** pgtable->root. */
  root: bigint;
  /** pgtable->mode: PAGE_MODE_3_LEVEL at first. */
  mode: number;
  readonly hptLevel: number;

  constructor(config: AmdV1Config, hooks: PgtableHooks) {
    super(hooks);
    this.hptLevel = config.maxLevel ?? PAGE_MODE_6_LEVEL;
    if (this.hptLevel < PAGE_MODE_3_LEVEL || this.hptLevel > PAGE_MODE_6_LEVEL) throw new KernelError(EINVAL, `amd-v1: amd_iommu_hpt_level ${this.hptLevel} out of range`);
    this.cfg = { pgsizeBitmap: AMD_IOMMU_PGSIZES, ias: config.ias, oas: config.oas };
    const root = this.allocTable(Number(SZ_4K), PAGE_MODE_3_LEVEL);
    if (root < 0n) throw new KernelError(ENOMEM, 'amd-v1: no memory for the root table');
    this.root = root;
    this.mode = PAGE_MODE_3_LEVEL;
  }

  get levels(): number {
    return this.mode;
  }

  // ---- walk geometry (hardware level = kernel level + 1) ----

  protected walkStart(iova: bigint): { level: number; table: bigint } | { level: number; fault: WalkFaultReason } {
    if (iova > pmLevelSize(this.mode)) return { level: this.mode, fault: 'address-size' };
    return { level: this.mode, table: this.root };
  }

  protected pteIndex(iova: bigint, level: number): number {
    return pmLevelIndex(level - 1, iova);
  }

  protected decodePte(desc: bigint, level: number): RadixPteDecode {
    if (!iommuPtePresent(desc)) return { kind: 'invalid' };
    const read = (desc & IOMMU_PTE_IR) !== 0n;
    const write = (desc & IOMMU_PTE_IW) !== 0n;
    const next = pmPteLevel(desc);
    if (next === PAGE_MODE_NONE || next === PAGE_MODE_7_LEVEL) {
      // A NextLevel-7 size lies between this level's natural size and the one above.
      const size = next === PAGE_MODE_NONE ? pteLevelPageSize(level - 1) : ptePageSize(desc);
      if (size >= pteLevelPageSize(level)) return { kind: 'invalid' };
      return { kind: 'leaf', out: desc & PM_ADDR_MASK & ~(size - 1n), size, read, write };
    }
    // A NextLevel at or above this level is invalid; below it the hardware may skip levels.
    if (next >= level) return { kind: 'invalid' };
    return { kind: 'table', next: desc & PM_ADDR_MASK, nextLevel: next, read, write };
  }

  // ---- map ----

  /** iommu_v1_map_pages(): existing entries are overwritten, tables under them freed. */
  mapPages(iova: bigint, paddr: bigint, pgsize: bigint, count: number, prot: number): { mapped: bigint; ret: number } {
    if (!isPowerOfTwo(pgsize) || pgsize < SZ_4K || count < 1) return { mapped: 0n, ret: -EINVAL };
    if (!isAligned(iova, pgsize) || !isAligned(paddr, pgsize)) {
      this.warn('iommu_v1_map_pages', 'BUG_ON(!IS_ALIGNED(iova, pgsize) || !IS_ALIGNED(paddr, pgsize))');
      return { mapped: 0n, ret: -EINVAL };
    }
    const oIova = iova;
    const size = pgsize * BigInt(count);
    if (!(prot & (IOMMU_READ | IOMMU_WRITE))) return { mapped: 0n, ret: -EINVAL };
    const st = { updated: false };
    let mapped = 0n;
    let ret = 0;
    while (count > 0) {
      const cnt = pageSizePteCount(pgsize);
      const pte = this.allocPte(iova, pgsize, st);
      if (pte < 0n) {
        ret = -ENOMEM;
        break;
      }
      for (let i = 0; i < cnt; i++) if (this.freeClearPte(pte + BigInt(i) * 8n)) st.updated = true;

      let pteval = cnt > 1 ? pageSizePte(paddr, pgsize) | pmLevelEnc(PAGE_MODE_7_LEVEL) : paddr;
      pteval |= IOMMU_PTE_PR | IOMMU_PTE_FC;
      if (prot & IOMMU_READ) pteval |= IOMMU_PTE_IR;
      if (prot & IOMMU_WRITE) pteval |= IOMMU_PTE_IW;
      for (let i = 0; i < cnt; i++) this.write(pte + BigInt(i) * 8n, pteval);

      iova += pgsize;
      paddr += pgsize;
      count--;
      mapped += pgsize;
    }
    // amd_iommu_domain_flush_pages() when live entries were replaced
    if (st.updated) this.hooks.tlb?.tlbFlushWalk?.(oIova, size, SZ_4K);
    return { mapped, ret };
  }

  /** increase_address_space(): a new root whose entry 0 points at the old one. */
  private increaseAddressSpace(address: bigint, pageSizeLvl: number): boolean {
    if (address <= pmLevelSize(this.mode) && this.mode - 1 >= pageSizeLvl) return true;
    if (this.mode === this.hptLevel) {
      this.warn('increase_address_space', 'WARN_ON_ONCE(pgtable->mode == amd_iommu_hpt_level)');
      return false;
    }
    const pte = this.allocTable(Number(SZ_4K), this.mode + 1);
    if (pte < 0n) return false;
    this.write(pte, pmLevelPde(this.mode, this.root));
    this.root = pte;
    this.mode += 1;
    return true;
  }

  /** alloc_pte(): the entry for `address` at the level of `pageSize`, building tables; -1 on failure. */
  private allocPte(address: bigint, pageSize: bigint, st: { updated: boolean }): bigint {
    const lastAddr = address + (pageSize - 1n);
    while (lastAddr > pmLevelSize(this.mode) || this.mode - 1 < pageSizeLevel(pageSize)) {
      if (!this.increaseAddressSpace(lastAddr, pageSizeLevel(pageSize))) return -1n;
    }
    let level = this.mode - 1;
    let pte = this.root + BigInt(pmLevelIndex(level, address)) * 8n;
    address &= ~(pageSize - 1n);
    const endLvl = pageSizeLevel(pageSize);
    while (level > endLvl) {
      const cur = this.read(pte);
      const pteLevel = pmPteLevel(cur);
      if (iommuPtePresent(cur) && pteLevel === PAGE_MODE_7_LEVEL) {
        // Replacing a series of large PTEs: tear all of them down.
        const first = this.firstPteL7(pte, cur);
        for (let i = 0; i < first.count; i++) {
          const p = first.fpte + BigInt(i) * 8n;
          if (this.read(p) === cur) this.write(p, 0n);
        }
        st.updated = true;
        continue;
      }
      if (!iommuPtePresent(cur) || pteLevel === PAGE_MODE_NONE) {
        const page = this.allocTable(Number(SZ_4K), level);
        if (page < 0n) return -1n;
        this.write(pte, pmLevelPde(level, page));
        if (iommuPtePresent(cur)) st.updated = true;
        continue;
      }
      // No level skipping support yet
      if (pteLevel !== level) return -1n;
      level -= 1;
      pte = (cur & PM_ADDR_MASK) + BigInt(pmLevelIndex(level, address)) * 8n;
    }
    return pte;
  }

  /** first_pte_l7(): the first of the replicated entries and how many there are. */
  private firstPteL7(ptep: bigint, pte: bigint): { fpte: bigint; pageSize: bigint; count: number } {
    const pageSize = ptePageSize(pte);
    const count = pageSizePteCount(pageSize);
    return { fpte: ptep & ~(BigInt(count << 3) - 1n), pageSize, count };
  }

  /** free_clear_pte(): clear an entry and free the tables below it; true when tables went away. */
  private freeClearPte(ptep: bigint): boolean {
    const pteval = this.read(ptep);
    this.write(ptep, 0n);
    if (!iommuPtePresent(pteval)) return false;
    const mode = pmPteLevel(pteval);
    if (mode === PAGE_MODE_NONE || mode === PAGE_MODE_7_LEVEL) return false;
    this.freeSubPt(pteval & PM_ADDR_MASK, mode);
    return true;
  }

  /** free_sub_pt() / free_pt_lvl(): children first, then the table. */
  private freeSubPt(table: bigint, mode: number): void {
    if (mode > 1) {
      for (let i = 0; i < 512; i++) {
        const pte = this.read(table + BigInt(i) * 8n);
        if (!iommuPtePresent(pte)) continue;
        const lvl = pmPteLevel(pte);
        if (lvl === PAGE_MODE_NONE || lvl === PAGE_MODE_7_LEVEL) continue;
        this.freeSubPt(pte & PM_ADDR_MASK, mode - 1);
      }
    }
    this.freeTable(table);
  }

  // ---- lookup and unmap ----

  /**
   * fetch_pte(): the leaf for `address` and its page size. Like the kernel it
   * returns a level-0 slot even when that slot is empty.
   */
  private fetchPte(address: bigint): { ptep: bigint; pageSize: bigint } | undefined {
    if (address > pmLevelSize(this.mode)) return undefined;
    let level = this.mode - 1;
    let ptep = this.root + BigInt(pmLevelIndex(level, address)) * 8n;
    let pageSize = pteLevelPageSize(level);
    while (level > 0) {
      const pte = this.read(ptep);
      if (!iommuPtePresent(pte)) return undefined;
      const next = pmPteLevel(pte);
      if (next === PAGE_MODE_7_LEVEL || next === PAGE_MODE_NONE) break;
      // No level skipping support yet
      if (next !== level) return undefined;
      level -= 1;
      ptep = (pte & PM_ADDR_MASK) + BigInt(pmLevelIndex(level, address)) * 8n;
      pageSize = pteLevelPageSize(level);
    }
    const pte = this.read(ptep);
    if (pmPteLevel(pte) === PAGE_MODE_7_LEVEL) {
      const first = this.firstPteL7(ptep, pte);
      return { ptep: first.fpte, pageSize: first.pageSize };
    }
    return { ptep, pageSize };
  }

  /** iommu_v1_unmap_pages(): whole leaves, so unmapping part of a large page unmaps all of it. */
  unmapPages(iova: bigint, pgsize: bigint, count: number): bigint {
    if (!isPowerOfTwo(pgsize)) {
      this.warn('iommu_v1_unmap_pages', 'BUG_ON(!is_power_of_2(pgsize))');
      return 0n;
    }
    const start = iova;
    const size = pgsize * BigInt(count);
    let unmapped = 0n;
    while (unmapped < size) {
      const got = this.fetchPte(iova);
      if (!got) break;
      const cnt = pageSizePteCount(got.pageSize);
      for (let i = 0; i < cnt; i++) this.write(got.ptep + BigInt(i) * 8n, 0n);
      iova = (iova & ~(got.pageSize - 1n)) + got.pageSize;
      unmapped += got.pageSize;
    }
    // amd_iommu_unmap_pages(): amd_iommu_iotlb_gather_add_page(iova, r)
    if (unmapped) this.hooks.tlb?.tlbAddPage?.(start, unmapped);
    return unmapped;
  }

  /** iommu_v1_iova_to_phys(). */
  iovaToPhys(iova: bigint): bigint {
    const got = this.fetchPte(iova);
    if (!got) return 0n;
    const pte = this.read(got.ptep);
    if (!iommuPtePresent(pte)) return 0n;
    const offsetMask = got.pageSize - 1n;
    return (pte & PM_ADDR_MASK & ~offsetMask) | (iova & offsetMask);
  }
}
