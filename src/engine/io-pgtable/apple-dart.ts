// Apple DART page tables: drivers/iommu/io-pgtable-dart.c as of v6.18.
// One page size (the granule, 16K on Apple silicon, 4K on older DARTs),
// tables of one granule (2048 entries at 16K), leaves only in the last table.
// The top IOVA bits pick a TTBR register (up to 4 on 4K DARTs) instead of a
// table, so "levels" counts the TTBR selection: ias 32 at 16K is 3 levels,
// two of them tables. Levels are the kernel's: the TTBR choice is level
// data->levels, leaves are level 1.
//
// Descriptors: bit 0 VALID; tables carry only the next table's address.
// APPLE_DART (t8103):  bits 35:12 address, bit 1 SP_DIS, bit 7 NO_WRITE,
//                      bit 8 NO_READ; oas 36.
// APPLE_DART2 (t6000): bits 37:10 address >> 4, bit 1 NO_CACHE,
//                      bit 2 NO_WRITE, bit 3 NO_READ; oas 42.
// Leaves also set the subpage range 0..0xfff (bits 63:52 / 51:40), the
// whole page, so the walk ignores subpage protection.

import { EEXIST, EINVAL, ENOMEM, ERANGE, KernelError } from '../errno';
import { ffs } from '../u64';
import { RadixIoPgtable, RadixPteDecode } from './generic-pt';
import { IOMMU_CACHE, IOMMU_READ, IOMMU_WRITE, IoPgtableConfig, PgtableHooks, WalkFaultReason } from './types';

const DART_MAX_TABLE_BITS = 2;
/** Includes the TTBR level. */
const DART_MAX_LEVELS = 4;

export const APPLE_DART_PTE_VALID = 1n << 0n;
const APPLE_DART_PTE_SUBPAGE_END_SHIFT = 40n;
const APPLE_DART1_PADDR_MASK = ((1n << 36n) - 1n) & ~((1n << 12n) - 1n); // GENMASK_ULL(35, 12)
const APPLE_DART2_PADDR_MASK = ((1n << 38n) - 1n) & ~((1n << 10n) - 1n); // GENMASK_ULL(37, 10)
const APPLE_DART2_PADDR_SHIFT = 4n;
export const APPLE_DART1_PTE_PROT_NO_READ = 1n << 8n;
export const APPLE_DART1_PTE_PROT_NO_WRITE = 1n << 7n;
export const APPLE_DART1_PTE_PROT_SP_DIS = 1n << 1n;
export const APPLE_DART2_PTE_PROT_NO_READ = 1n << 3n;
export const APPLE_DART2_PTE_PROT_NO_WRITE = 1n << 2n;
export const APPLE_DART2_PTE_PROT_NO_CACHE = 1n << 1n;

const SZ_4K = 1n << 12n;
const SZ_16K = 1n << 14n;

export type AppleDartFmt = 'APPLE_DART' | 'APPLE_DART2';

export interface AppleDartConfig {
  granule: bigint;
  ias: number;
  /** 36 (APPLE_DART) or 42 (APPLE_DART2). */
  oas: number;
  /** Defaults from oas: 42 is DART2, 36 is DART. */
  fmt?: AppleDartFmt;
}

export class AppleDartIoPgtable extends RadixIoPgtable {
  readonly name: string;
  readonly cfg: IoPgtableConfig;
  readonly root: bigint;
  readonly fmt: AppleDartFmt;
  /** data->levels: table levels plus the TTBR level. */
  readonly dartLevels: number;
  readonly tblBits: number;
  readonly bitsPerLevel: number;
  readonly granule: bigint;
  /** cfg->apple_dart_cfg.ttbr[]: one top-level table per TTBR. */
  readonly ttbr: bigint[] = [];

  /** apple_dart_alloc_pgtable() / dart_alloc_pgtable(); throws where the kernel returns NULL. */
  constructor(config: AppleDartConfig, hooks: PgtableHooks) {
    super(hooks);
    const fail = (why: string): KernelError => new KernelError(EINVAL, `apple_dart_alloc_pgtable: ${why}`);
    if (config.oas !== 36 && config.oas !== 42) throw fail(`oas ${config.oas} is neither 36 nor 42`);
    if (config.ias > config.oas) throw fail(`ias ${config.ias} above oas ${config.oas}`);
    if (config.granule !== SZ_4K && config.granule !== SZ_16K) throw fail('pgsize_bitmap must be SZ_4K or SZ_16K');
    this.fmt = config.fmt ?? (config.oas === 42 ? 'APPLE_DART2' : 'APPLE_DART');
    this.name = this.fmt === 'APPLE_DART' ? 'apple-dart' : 'apple-dart2';
    this.granule = config.granule;

    // Old 4K page DARTs can use up to 4 top-level tables; newer ones one.
    const maxTblBits = config.granule === SZ_4K ? DART_MAX_TABLE_BITS : 0;
    const pgShift = ffs(config.granule);
    this.bitsPerLevel = pgShift - 3;
    const vaBits = config.ias - pgShift;
    const levels = Math.max(2, Math.floor((vaBits - maxTblBits + this.bitsPerLevel - 1) / this.bitsPerLevel));
    if (levels > DART_MAX_LEVELS - 1) throw fail(`${levels} table levels needed`);
    const tblBits = Math.max(0, vaBits - this.bitsPerLevel * levels);
    if (tblBits > maxTblBits) throw fail(`${1 << tblBits} TTBRs needed`);
    this.dartLevels = levels + 1;
    this.tblBits = tblBits;
    this.cfg = { pgsizeBitmap: config.granule, ias: config.ias, oas: config.oas };

    for (let i = 0; i < 1 << tblBits; i++) {
      const t = this.allocTable(this.tableBytes, levels);
      if (t < 0n) throw new KernelError(ENOMEM, 'apple_dart_alloc_pgtable: no memory for a TTBR table');
      this.ttbr.push(t);
    }
    this.root = this.ttbr[0];
  }

  /** Table levels (the TTBR choice is not a memory read). */
  get levels(): number {
    return this.dartLevels - 1;
  }

  /** DART_GRANULE. */
  private get tableBytes(): number {
    return 8 << this.bitsPerLevel;
  }

  /** DART_PTES_PER_TABLE. */
  private get ptesPerTable(): number {
    return 1 << this.bitsPerLevel;
  }

  private paddrToIopte(paddr: bigint): bigint {
    if (this.fmt === 'APPLE_DART') return paddr & APPLE_DART1_PADDR_MASK;
    return (paddr >> APPLE_DART2_PADDR_SHIFT) & APPLE_DART2_PADDR_MASK;
  }

  private iopteToPaddr(pte: bigint): bigint {
    if (this.fmt === 'APPLE_DART') return pte & APPLE_DART1_PADDR_MASK;
    return (pte & APPLE_DART2_PADDR_MASK) << APPLE_DART2_PADDR_SHIFT;
  }

  /** dart_get_index(); level data->levels selects the TTBR. */
  private dartGetIndex(iova: bigint, level: number): number {
    return Number((iova >> BigInt(level * this.bitsPerLevel + 3)) & BigInt(this.ptesPerTable - 1));
  }

  /** dart_prot_to_pte(). */
  private protToPte(prot: number): bigint {
    let pte = 0n;
    if (this.fmt === 'APPLE_DART') {
      pte |= APPLE_DART1_PTE_PROT_SP_DIS;
      if (!(prot & IOMMU_WRITE)) pte |= APPLE_DART1_PTE_PROT_NO_WRITE;
      if (!(prot & IOMMU_READ)) pte |= APPLE_DART1_PTE_PROT_NO_READ;
    } else {
      if (!(prot & IOMMU_WRITE)) pte |= APPLE_DART2_PTE_PROT_NO_WRITE;
      if (!(prot & IOMMU_READ)) pte |= APPLE_DART2_PTE_PROT_NO_READ;
      if (!(prot & IOMMU_CACHE)) pte |= APPLE_DART2_PTE_PROT_NO_CACHE;
    }
    return pte;
  }

  // ---- walk ----

  protected walkStart(iova: bigint): { level: number; table: bigint } | { level: number; fault: WalkFaultReason } {
    const top = this.dartLevels - 1;
    if (iova >> BigInt(this.cfg.ias)) return { level: top, fault: 'address-size' };
    return { level: top, table: this.ttbr[this.dartGetIndex(iova, this.dartLevels)] };
  }

  protected pteIndex(iova: bigint, level: number): number {
    return this.dartGetIndex(iova, level);
  }

  protected decodePte(desc: bigint, level: number): RadixPteDecode {
    if (!(desc & APPLE_DART_PTE_VALID)) return { kind: 'invalid' };
    if (level > 1) return { kind: 'table', next: this.iopteToPaddr(desc), nextLevel: level - 1, read: true, write: true };
    const noRead = this.fmt === 'APPLE_DART' ? APPLE_DART1_PTE_PROT_NO_READ : APPLE_DART2_PTE_PROT_NO_READ;
    const noWrite = this.fmt === 'APPLE_DART' ? APPLE_DART1_PTE_PROT_NO_WRITE : APPLE_DART2_PTE_PROT_NO_WRITE;
    return {
      kind: 'leaf',
      out: this.iopteToPaddr(desc) & ~(this.granule - 1n),
      size: this.granule,
      read: (desc & noRead) === 0n,
      write: (desc & noWrite) === 0n,
    };
  }

  // ---- map / unmap / lookup ----

  /** dart_map_pages(): maps at most to the end of one leaf table; the caller loops. */
  mapPages(iova: bigint, paddr: bigint, pgsize: bigint, count: number, prot: number): { mapped: bigint; ret: number } {
    if (pgsize !== this.cfg.pgsizeBitmap) {
      this.warn('dart_map_pages', 'WARN_ON(pgsize != cfg->pgsize_bitmap)');
      return { mapped: 0n, ret: -EINVAL };
    }
    if (paddr >> BigInt(this.cfg.oas)) {
      this.warn('dart_map_pages', 'WARN_ON(paddr >> cfg->oas)');
      return { mapped: 0n, ret: -ERANGE };
    }
    if (!(prot & (IOMMU_READ | IOMMU_WRITE))) return { mapped: 0n, ret: -EINVAL };

    let level = this.dartLevels;
    const tbl = this.dartGetIndex(iova, level);
    if (tbl >= 1 << this.tblBits) return { mapped: 0n, ret: -ENOMEM };
    let table = this.ttbr[tbl];
    while (--level > 1) {
      const ptep = table + BigInt(this.dartGetIndex(iova, level)) * 8n;
      let pte = this.read(ptep);
      if (!pte) {
        const next = this.allocTable(this.tableBytes, level - 1);
        if (next < 0n) return { mapped: 0n, ret: -ENOMEM };
        pte = this.paddrToIopte(next) | APPLE_DART_PTE_VALID; // dart_install_table()
        this.write(ptep, pte);
      }
      table = this.iopteToPaddr(pte);
    }

    const start = this.dartGetIndex(iova, 1);
    const num = Math.min(count, this.ptesPerTable - start);
    const ret = this.dartInitPte(paddr, this.protToPte(prot), num, table + BigInt(start) * 8n);
    return { mapped: ret ? 0n : BigInt(num) * pgsize, ret };
  }

  /** dart_init_pte(): all or nothing; a valid entry in the way is -EEXIST. */
  private dartInitPte(paddr: bigint, prot: bigint, num: number, ptep: bigint): number {
    for (let i = 0; i < num; i++) {
      if (this.read(ptep + BigInt(i) * 8n) & APPLE_DART_PTE_VALID) {
        // We require an unmap first
        this.warn('dart_init_pte', 'WARN_ON(ptep[i] & APPLE_DART_PTE_VALID)');
        return -EEXIST;
      }
    }
    // subpage protection: always allow access to the entire page
    const pte = prot | (0xfffn << APPLE_DART_PTE_SUBPAGE_END_SHIFT) | APPLE_DART_PTE_VALID;
    for (let i = 0; i < num; i++) this.write(ptep + BigInt(i) * 8n, pte | this.paddrToIopte(paddr + BigInt(i) * this.granule));
    return 0;
  }

  /** dart_get_last(): the leaf table for `iova`, or undefined. */
  private dartGetLast(iova: bigint): bigint | undefined {
    let level = this.dartLevels;
    const tbl = this.dartGetIndex(iova, level);
    if (tbl >= 1 << this.tblBits) return undefined;
    let table = this.ttbr[tbl];
    while (--level > 1) {
      const pte = this.read(table + BigInt(this.dartGetIndex(iova, level)) * 8n);
      if (!pte) return undefined;
      table = this.iopteToPaddr(pte);
    }
    return table;
  }

  /** dart_unmap_pages(): up to the end of one leaf table, stopping (WARN) at a hole. */
  unmapPages(iova: bigint, pgsize: bigint, count: number): bigint {
    if (pgsize !== this.cfg.pgsizeBitmap || !count) {
      this.warn('dart_unmap_pages', 'WARN_ON(pgsize != cfg->pgsize_bitmap || !pgcount)');
      return 0n;
    }
    const table = this.dartGetLast(iova);
    if (table === undefined) {
      this.warn('dart_unmap_pages', 'WARN_ON(!ptep)');
      return 0n;
    }
    const start = this.dartGetIndex(iova, 1);
    const num = Math.min(count, this.ptesPerTable - start);
    let i = 0;
    for (; i < num; i++) {
      const ptep = table + BigInt(start + i) * 8n;
      if (!this.read(ptep)) {
        this.warn('dart_unmap_pages', 'WARN_ON(!pte)');
        break;
      }
      this.write(ptep, 0n);
      this.hooks.tlb?.tlbAddPage?.(iova + BigInt(i) * pgsize, pgsize);
    }
    return BigInt(i) * pgsize;
  }

  /** dart_iova_to_phys(). */
  iovaToPhys(iova: bigint): bigint {
    const table = this.dartGetLast(iova);
    if (table === undefined) return 0n;
    const pte = this.read(table + BigInt(this.dartGetIndex(iova, 1)) * 8n);
    if (!pte) return 0n;
    return this.iopteToPaddr(pte) | (iova & (this.granule - 1n));
  }
}
