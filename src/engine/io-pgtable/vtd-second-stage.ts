// Intel VT-d second-stage page tables (DMA_PTE_READ / DMA_PTE_WRITE,
// superpage bit 7), and the dma_pte code both VT-d stages share: in v6.18
// drivers/iommu/intel/iommu.c maps, unmaps and looks up either stage with the
// same functions (__domain_mapping, pfn_to_dma_pte, dma_pte_clear_level,
// intel_iommu_unmap), switching only the PTE bits on use_first_level. That
// shared code is DmarPgtable below; vtd-first-stage.ts supplies the x86-64
// bits. 4K tables of 512 entries; levels are the driver's: 1 holds 4K PTEs,
// the root is agaw_to_level() (4 for 48-bit, 5 for 57-bit, 3 for 39-bit).

import { EFAULT, EINVAL, ENOMEM, KernelError } from '../errno';
import { isAligned, isPowerOfTwo, u64 } from '../u64';
import { RadixIoPgtable, RadixPteDecode } from './generic-pt';
import { IOMMU_READ, IOMMU_WRITE, IoPgtableConfig, PgtableHooks, WalkFaultReason } from './types';

export const VTD_PAGE_SHIFT = 12;
export const VTD_PAGE_SIZE = 1n << 12n;
export const DMA_PTE_READ = 1n << 0n;
export const DMA_PTE_WRITE = 1n << 1n;
export const DMA_PTE_LARGE_PAGE = 1n << 7n;
export const DMA_PTE_SNP = 1n << 11n;
/** Address bits of a dma_pte as the walker uses them (51:12). */
export const VTD_PTE_ADDR_MASK = ((1n << 52n) - 1n) & ~((1n << 12n) - 1n);

const VTD_STRIDE_SHIFT = 9n;
const SZ_2M = 1n << 21n;
const SZ_1G = 1n << 30n;

export interface VtdPgtableConfig {
  /** Guest address width (gaw): 48 for 4 levels, 57 for 5. */
  aw: number;
  /** Superpages the hardware offers (iommu_superpage); defaults to 4K | 2M | 1G. */
  pgsizeBitmap?: bigint;
  /** Second stage: the unit's agaw + 2 (SAGAW), when it is not the level count aw needs; gaw stays aw (capped by MGAW). */
  agawLevels?: number;
}

/** 4K << (9 * (level - 1)): bytes one entry at `level` maps. */
function levelBytes(level: number): bigint {
  return VTD_PAGE_SIZE << BigInt(9 * (level - 1));
}

/** lvl_to_nr_pages. */
function lvlToNrPages(level: number): bigint {
  return 1n << BigInt(9 * (level - 1));
}

/** pfn_level_offset. */
function pfnLevelOffset(pfn: bigint, level: number): number {
  return Number((pfn >> BigInt(9 * (level - 1))) & 0x1ffn);
}

function dmaPtePresent(pte: bigint): boolean {
  return (pte & 3n) !== 0n;
}

function dmaPteSuperpage(pte: bigint): boolean {
  return (pte & DMA_PTE_LARGE_PAGE) !== 0n;
}

function dmaPteAddr(pte: bigint): bigint {
  return pte & VTD_PTE_ADDR_MASK;
}

function firstPteInPage(ptep: bigint): boolean {
  return (ptep & (VTD_PAGE_SIZE - 1n)) === 0n;
}

/**
 * The VT-d dma_pte table as intel/iommu.c drives it. Subclasses give the PTE
 * attribute bits and the hardware's reading of them.
 */
export abstract class DmarPgtable extends RadixIoPgtable {
  readonly cfg: IoPgtableConfig;
  readonly root: bigint;
  readonly levels: number;
  /** dmar_domain->gaw. */
  readonly gaw: number;
  /** dmar_domain->iommu_superpage: 0 none, 1 = 2M, 2 = 2M and 1G. */
  readonly iommuSuperpage: number;

  constructor(config: VtdPgtableConfig, levels: number, hooks: PgtableHooks) {
    super(hooks);
    this.gaw = config.aw;
    this.levels = levels;
    const bitmap = config.pgsizeBitmap ?? (VTD_PAGE_SIZE | SZ_2M | SZ_1G);
    this.iommuSuperpage = bitmap & SZ_2M ? (bitmap & SZ_1G ? 2 : 1) : 0;
    // domain_super_pgsize_bitmap()
    const pgsizes = VTD_PAGE_SIZE | (this.iommuSuperpage >= 1 ? SZ_2M : 0n) | (this.iommuSuperpage >= 2 ? SZ_1G : 0n);
    this.cfg = { pgsizeBitmap: pgsizes, ias: config.aw, oas: 52 };
    const pgd = this.allocTable(Number(VTD_PAGE_SIZE), levels);
    if (pgd < 0n) throw new KernelError(ENOMEM, 'intel-iommu: no memory for the pgd');
    this.root = pgd;
  }

  /** PTE bits of a leaf for DMA_PTE_READ/WRITE prot (the attr of __domain_mapping). */
  protected abstract leafAttr(dmaProt: bigint): bigint;
  /** PTE bits pfn_to_dma_pte() gives a new table entry. */
  protected abstract tableAttr(): bigint;
  /** Highest IOVA + 1 the hardware translates (the domain's aperture). */
  abstract apertureEnd(): bigint;

  protected pteIndex(iova: bigint, level: number): number {
    return pfnLevelOffset(iova >> BigInt(VTD_PAGE_SHIFT), level);
  }

  protected walkStart(iova: bigint): { level: number; table: bigint } | { level: number; fault: WalkFaultReason } {
    if (iova >= this.apertureEnd()) return { level: this.levels, fault: 'address-size' };
    return { level: this.levels, table: this.root };
  }

  /** Superpages exist at levels 2 (2M) and 3 (1G); bit 7 above that is reserved. */
  protected leafOrTable(pte: bigint, level: number, read: boolean, write: boolean): RadixPteDecode {
    if (level === 1 || ((level === 2 || level === 3) && dmaPteSuperpage(pte))) {
      const size = levelBytes(level);
      return { kind: 'leaf', out: dmaPteAddr(pte) & ~(size - 1n), size, read, write };
    }
    if (dmaPteSuperpage(pte)) return { kind: 'invalid' };
    return { kind: 'table', next: dmaPteAddr(pte), nextLevel: level - 1, read, write };
  }

  /** domain_pfn_supported(): the agaw's width, 12 + 9 * levels bits. */
  private pfnSupported(pfn: bigint): boolean {
    const width = 9 * this.levels;
    return width >= 64 || pfn >> BigInt(width) === 0n;
  }

  /** DOMAIN_MAX_ADDR(gaw) + 1. */
  private domainEnd(): bigint {
    return 1n << BigInt(this.gaw);
  }

  // ---- map ----

  /** intel_iommu_map_pages() -> intel_iommu_map() -> __domain_mapping(). */
  mapPages(iova: bigint, paddr: bigint, pgsize: bigint, count: number, prot: number): { mapped: bigint; ret: number } {
    if (!isPowerOfTwo(pgsize) || pgsize < VTD_PAGE_SIZE || count < 1) return { mapped: 0n, ret: -EINVAL };
    if (!isAligned(iova, VTD_PAGE_SIZE) || !isAligned(paddr, VTD_PAGE_SIZE)) return { mapped: 0n, ret: -EINVAL };
    const size = pgsize * BigInt(count);
    let dmaProt = 0n;
    if (prot & IOMMU_READ) dmaProt |= DMA_PTE_READ;
    if (prot & IOMMU_WRITE) dmaProt |= DMA_PTE_WRITE;
    const maxAddr = iova + size;
    if (maxAddr > this.domainEnd()) {
      this.warn('intel_iommu_map', `iommu width (${this.gaw}) is not sufficient for the mapped address (${maxAddr.toString(16)})`);
      return { mapped: 0n, ret: -EFAULT };
    }
    const ret = this.domainMapping(iova >> 12n, paddr >> 12n, size >> 12n, dmaProt);
    return ret ? { mapped: 0n, ret } : { mapped: size, ret: 0 };
  }

  /** hardware_largepage_caps(): largest level both pfns are aligned for and the length fills. */
  private hardwareLargepageCaps(iovPfn: bigint, phyPfn: bigint, pages: bigint): number {
    let support = this.iommuSuperpage;
    let level = 1;
    let pfnmerge = iovPfn | phyPfn;
    while (support && !(pfnmerge & 0x1ffn)) {
      pages >>= VTD_STRIDE_SHIFT;
      if (!pages) break;
      pfnmerge >>= VTD_STRIDE_SHIFT;
      level++;
      support--;
    }
    return level;
  }

  /**
   * pfn_to_dma_pte(): the PTE for `pfn` at `target` (allocating tables on the
   * way), or with target 0 the lowest present one without allocating. A
   * superpage met above the target stops the descent (`conflict`); the kernel
   * would go on and read the superpage's memory as a table.
   */
  private pfnToDmaPte(pfn: bigint, target: number): { ptep: bigint; level: number } | { conflict: bigint } | 'nomem' | undefined {
    if (!this.pfnSupported(pfn)) return undefined;
    let level = this.levels;
    let table = this.root;
    for (;;) {
      const ptep = table + BigInt(pfnLevelOffset(pfn, level)) * 8n;
      let pte = this.read(ptep);
      if (!target && (dmaPteSuperpage(pte) || !dmaPtePresent(pte))) return { ptep, level };
      if (level === target) return { ptep, level };
      if (!dmaPtePresent(pte)) {
        const page = this.allocTable(Number(VTD_PAGE_SIZE), level - 1);
        if (page < 0n) return 'nomem';
        pte = page | this.tableAttr();
        this.write(ptep, pte);
      } else if (dmaPteSuperpage(pte)) {
        return { conflict: pte };
      }
      if (level === 1) return { ptep, level };
      table = dmaPteAddr(pte);
      level--;
    }
  }

  /** __domain_mapping(): superpages wherever alignment and length allow, whatever pgsize the caller used. */
  private domainMapping(iovPfn: bigint, physPfn: bigint, nrPages: bigint, dmaProt: bigint): number {
    if (!this.pfnSupported(iovPfn + nrPages - 1n)) return -EINVAL;
    if ((dmaProt & (DMA_PTE_READ | DMA_PTE_WRITE)) === 0n) return -EINVAL;
    let pteval = (physPfn << 12n) | this.leafAttr(dmaProt);
    let ptep = -1n;
    let largepageLvl = 0;
    let lvlPages = 0n;
    while (nrPages > 0n) {
      if (ptep < 0n) {
        largepageLvl = this.hardwareLargepageCaps(iovPfn, physPfn, nrPages);
        lvlPages = lvlToNrPages(largepageLvl);
        const got = this.pfnToDmaPte(iovPfn, largepageLvl);
        if (got === 'nomem' || got === undefined) return -ENOMEM;
        if ('conflict' in got) {
          this.alreadySet(iovPfn, got.conflict, pteval);
          nrPages -= lvlPages;
          iovPfn += lvlPages;
          physPfn += lvlPages;
          pteval += lvlPages << 12n;
          continue;
        }
        ptep = got.ptep;
        if (largepageLvl > 1) {
          pteval |= DMA_PTE_LARGE_PAGE;
          const left = (VTD_PAGE_SIZE - (ptep & (VTD_PAGE_SIZE - 1n))) / 8n; // nr_pte_to_next_page
          const pagesToRemove = nrPages < left * lvlPages ? nrPages : left * lvlPages;
          this.switchToSuperPage(iovPfn, iovPfn + pagesToRemove - 1n, largepageLvl);
        } else {
          pteval &= ~DMA_PTE_LARGE_PAGE;
        }
      }
      const old = this.read(ptep);
      if (old !== 0n) this.alreadySet(iovPfn, old, pteval);
      else this.write(ptep, pteval);

      nrPages -= lvlPages;
      iovPfn += lvlPages;
      physPfn += lvlPages;
      pteval += lvlPages << 12n;
      ptep += 8n;
      if (!nrPages || firstPteInPage(ptep) || (largepageLvl > 1 && nrPages < lvlPages)) ptep = -1n;
    }
    return 0;
  }

  /** The pr_crit + WARN_ON(1) of __domain_mapping; the old PTE stays and the map still returns 0. */
  private alreadySet(iovPfn: bigint, old: bigint, pteval: bigint): void {
    this.warn('__domain_mapping', `ERROR: DMA PTE for vPFN 0x${iovPfn.toString(16)} already set (to ${old.toString(16)} not ${pteval.toString(16)})`);
  }

  /** switch_to_super_page(): empty each slot the superpages will use, freeing tables under it. */
  private switchToSuperPage(startPfn: bigint, endPfn: bigint, level: number): void {
    const lvlPages = lvlToNrPages(level);
    let ptep = -1n;
    while (startPfn <= endPfn) {
      if (ptep < 0n) {
        const got = this.pfnToDmaPte(startPfn, level);
        if (got === undefined || got === 'nomem' || 'conflict' in got) return;
        ptep = got.ptep;
      }
      const pte = this.read(ptep);
      if (dmaPtePresent(pte)) {
        // dma_pte_free_pagetable(start, start + lvl_pages - 1, level + 1)
        if (level > 1 && !dmaPteSuperpage(pte)) this.freeSubtree(dmaPteAddr(pte), level - 1);
        this.write(ptep, 0n);
        this.hooks.tlb?.tlbFlushWalk?.(startPfn << 12n, (endPfn - startPfn + 1n) << 12n, VTD_PAGE_SIZE);
      }
      ptep += 8n;
      startPfn += lvlPages;
      if (firstPteInPage(ptep)) ptep = -1n;
    }
  }

  /** dma_pte_list_pagetables(): a table and every table below it, parent first. */
  private freeSubtree(table: bigint, level: number): void {
    const children: bigint[] = [];
    if (level > 1) {
      for (let i = 0; i < 512; i++) {
        const pte = this.read(table + BigInt(i) * 8n);
        if (dmaPtePresent(pte) && !dmaPteSuperpage(pte)) children.push(dmaPteAddr(pte));
      }
    }
    this.freeTable(table);
    for (const c of children) this.freeSubtree(c, level - 1);
  }

  // ---- unmap ----

  /**
   * intel_iommu_unmap_pages() -> intel_iommu_unmap(): the size grows to the
   * level where the lookup stopped ("horrid API"), even an empty top-level
   * slot, and the whole range is cleared; returns that size even when nothing
   * was mapped.
   */
  unmapPages(iova: bigint, pgsize: bigint, count: number): bigint {
    let size = pgsize * BigInt(count);
    const got = this.pfnToDmaPte(iova >> 12n, 0);
    if (got === undefined || got === 'nomem' || 'conflict' in got) return 0n;
    const levelSize = levelBytes(got.level);
    if (size < levelSize) size = levelSize;
    const startPfn = iova >> 12n;
    const lastPfn = (iova + size - 1n) >> 12n;
    this.domainUnmap(startPfn, lastPfn);
    this.hooks.tlb?.tlbAddPage?.(iova, size);
    return size;
  }

  /** domain_unmap(); the pgd itself is only released by free() (domain_exit). */
  private domainUnmap(startPfn: bigint, lastPfn: bigint): void {
    if (!this.pfnSupported(lastPfn) || startPfn > lastPfn) {
      this.warn('domain_unmap', 'WARN_ON(!domain_pfn_supported(domain, last_pfn)) || WARN_ON(start_pfn > last_pfn)');
      return;
    }
    this.dmaPteClearLevel(this.levels, this.root, 0n, startPfn, lastPfn);
  }

  /** dma_pte_clear_level(): clear what the range covers, free tables it covers whole. */
  private dmaPteClearLevel(level: number, table: bigint, pfn: bigint, startPfn: bigint, lastPfn: bigint): void {
    if (pfn < startPfn) pfn = startPfn;
    const lvlPages = lvlToNrPages(level);
    let idx = pfnLevelOffset(pfn, level);
    do {
      const ptep = table + BigInt(idx) * 8n;
      const pte = this.read(ptep);
      const levelPfn = pfn & ~(lvlPages - 1n);
      if (dmaPtePresent(pte)) {
        if (startPfn <= levelPfn && lastPfn >= levelPfn + lvlPages - 1n) {
          if (level > 1 && !dmaPteSuperpage(pte)) this.freeSubtree(dmaPteAddr(pte), level - 1);
          this.write(ptep, 0n);
        } else if (level > 1 && dmaPteSuperpage(pte)) {
          // The kernel would recurse into the superpage's memory as if it were a table.
          this.warn('dma_pte_clear_level', `unmap range covers part of the superpage at pfn 0x${levelPfn.toString(16)}; clearing it whole`);
          this.write(ptep, 0n);
        } else if (level > 1) {
          this.dmaPteClearLevel(level - 1, dmaPteAddr(pte), levelPfn, startPfn, lastPfn);
        }
      }
      pfn = levelPfn + lvlPages;
      idx++;
    } while (idx < 512 && pfn <= lastPfn);
  }

  // ---- lookup ----

  /** intel_iommu_iova_to_phys(): the driver's lookup, 0 when not present; does not check the aperture. */
  iovaToPhys(iova: bigint): bigint {
    const got = this.pfnToDmaPte(iova >> 12n, 0);
    if (got === undefined || got === 'nomem' || 'conflict' in got) return 0n;
    const pte = this.read(got.ptep);
    if (!dmaPtePresent(pte)) return 0n;
    return u64(dmaPteAddr(pte) + (iova & (levelBytes(got.level) - 1n)));
  }
}

/** agaw_to_level(width_to_agaw(aw)): 39 -> 3, 48 -> 4, 57 -> 5 (widths round up to a level). */
export function vtdAwToLevels(aw: number): number {
  return Math.ceil((aw - VTD_PAGE_SHIFT) / 9);
}

/**
 * Second-stage (legacy and scalable-mode second-level) tables. The hardware
 * grants read and write from DMA_PTE_READ / DMA_PTE_WRITE, ANDed over the
 * levels; write-only is possible (v6.16 restored it). Aperture 2^aw.
 */
export class VtdSecondStageIoPgtable extends DmarPgtable {
  readonly name = 'vtd-second-stage';

  constructor(config: VtdPgtableConfig, hooks: PgtableHooks) {
    if (config.aw < 30 || config.aw > 57) throw new KernelError(EINVAL, `intel-iommu: second-stage address width ${config.aw} unsupported`);
    super(config, config.agawLevels ?? vtdAwToLevels(config.aw), hooks);
  }

  protected leafAttr(dmaProt: bigint): bigint {
    return dmaProt & (DMA_PTE_READ | DMA_PTE_WRITE | DMA_PTE_SNP);
  }

  protected tableAttr(): bigint {
    return DMA_PTE_READ | DMA_PTE_WRITE;
  }

  apertureEnd(): bigint {
    return 1n << BigInt(this.gaw);
  }

  protected decodePte(desc: bigint, level: number): RadixPteDecode {
    if (!dmaPtePresent(desc)) return { kind: 'invalid' };
    return this.leafOrTable(desc, level, (desc & DMA_PTE_READ) !== 0n, (desc & DMA_PTE_WRITE) !== 0n);
  }
}
