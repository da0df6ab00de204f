// Radix page tables in emulated memory: the walker and table bookkeeping the
// non-Arm formats share (the idea of drivers/iommu/generic_pt, which arrived
// in v6.19), plus the "generic" format for device-side MMUs such as an
// imaging unit's 2-level MMU, with a descriptor layout of our own:
//
//   bit 0      VALID
//   bit 1      LEAF   page or block (0: next-level table; a valid entry at
//                     the last level is always a page)
//   bit 2      READ   leaf only
//   bit 3      WRITE  leaf only
//   bits 51:12        output address of the leaf, or the next table's address
//
// Levels count from the top: level 1 is the root table, level `levels` holds
// pages. Every level but the root resolves log2(granule / 8) bits; the root
// takes what remains of ias and may be larger than a granule (ias 32 on a
// 4K granule with 2 levels has a 2048-entry, 16K root), at most 16 granules.

import { EEXIST, EINVAL, ENOMEM, ERANGE, KernelError } from '../errno';
import { ffs, isAligned, isPowerOfTwo } from '../u64';
import {
  DescriptorFetch, IOMMU_READ, IOMMU_WRITE, IoPgtableConfig, IoPgtableOps, PgtableHooks,
  WalkFaultReason, WalkResult, WalkStep,
} from './types';

/** What one descriptor means to the hardware walker at a level. */
export type RadixPteDecode =
  | { kind: 'invalid' }
  | { kind: 'table'; next: bigint; nextLevel: number; read: boolean; write: boolean }
  | { kind: 'leaf'; out: bigint; size: bigint; read: boolean; write: boolean };

/** One table page a format owns, with its non-zero descriptors. */
export interface RadixTableDump {
  level: number;
  table: bigint;
  size: bigint;
  entries: { index: number; desc: bigint }[];
}

/**
 * Shared machinery: table ownership (for free() and leak checks) and the
 * recording walker. Formats supply the geometry and descriptor decoding; map,
 * unmap and iova_to_phys stay in each format because the kernel's differ.
 */
export abstract class RadixIoPgtable implements IoPgtableOps {
  abstract readonly name: string;
  abstract readonly cfg: IoPgtableConfig;
  abstract readonly root: bigint;
  abstract readonly levels: number;
  /** Stage recorded in walk steps and faults: 2 when this table is a nest parent. */
  stage = 1;
  /** Tables this format allocated and has not freed: address -> size and level. */
  protected readonly owned = new Map<bigint, { bytes: number; level: number }>();

  constructor(protected readonly hooks: PgtableHooks) {}

  /** Where a walk starts, or why the input address never reaches a table. */
  protected abstract walkStart(iova: bigint): { level: number; table: bigint } | { level: number; fault: WalkFaultReason };
  protected abstract pteIndex(iova: bigint, level: number): number;
  protected abstract decodePte(desc: bigint, level: number): RadixPteDecode;

  abstract mapPages(iova: bigint, paddr: bigint, pgsize: bigint, count: number, prot: number): { mapped: bigint; ret: number };
  abstract unmapPages(iova: bigint, pgsize: bigint, count: number): bigint;
  abstract iovaToPhys(iova: bigint): bigint;

  protected read(addr: bigint): bigint {
    return this.hooks.mem.readU64(addr);
  }

  protected write(addr: bigint, value: bigint): void {
    this.hooks.mem.writeU64(addr, value);
  }

  protected warn(func: string, what: string): void {
    this.hooks.warn?.(func, what);
  }

  /** A zeroed table, or -1 when the allocator is out of memory (the kernel's NULL). */
  protected allocTable(bytes: number, level: number): bigint {
    let addr: bigint;
    try {
      addr = this.hooks.alloc.allocTable(bytes);
    } catch (e) {
      if (e instanceof KernelError && e.errno === ENOMEM) return -1n;
      throw e;
    }
    this.owned.set(addr, { bytes, level });
    return addr;
  }

  protected freeTable(addr: bigint): void {
    const t = this.owned.get(addr);
    if (!t) return;
    this.owned.delete(addr);
    this.hooks.alloc.freeTable(addr, t.bytes);
  }

  /** Releases every table still owned (free_io_pgtable_ops). */
  free(): void {
    this.hooks.tlb?.tlbFlushAll?.();
    for (const addr of [...this.owned.keys()]) this.freeTable(addr);
  }

  /** Table pages still owned, in allocation order. */
  tablePages(): { addr: bigint; bytes: number; level: number }[] {
    return [...this.owned].map(([addr, t]) => ({ addr, bytes: t.bytes, level: t.level }));
  }

  /** Every owned table with its non-zero descriptors (dumps and panels). */
  tables(): RadixTableDump[] {
    return this.tablePages().map(({ addr, bytes, level }) => {
      const entries: { index: number; desc: bigint }[] = [];
      for (let i = 0; i < bytes / 8; i++) {
        const desc = this.read(addr + BigInt(i) * 8n);
        if (desc) entries.push({ index: i, desc });
      }
      return { level, table: addr, size: BigInt(bytes), entries };
    });
  }

  /**
   * The hardware walk: one descriptor read per level, permissions ANDed over
   * the table entries and the leaf. Writes nothing back into the tables (no
   * accessed/dirty updates), so walking is free of side effects.
   */
  walk(iova: bigint, fetch?: DescriptorFetch): WalkResult {
    const stage = this.stage;
    const steps: WalkStep[] = [];
    let accesses = 0;
    const fault = (level: number, reason: WalkFaultReason): WalkResult => ({ steps, fault: { level, reason, stage }, accesses });

    const start = this.walkStart(iova);
    if ('fault' in start) return fault(start.level, start.fault);
    let { level, table } = start;
    let read = true;
    let write = true;
    for (;;) {
      const index = this.pteIndex(iova, level);
      const descAddr = table + BigInt(index) * 8n;
      let desc: bigint;
      let nested: WalkResult | undefined;
      if (fetch) {
        const got = fetch(descAddr, level);
        if ('fault' in got) {
          accesses += got.fault.accesses;
          return { steps, fault: got.fault.fault ?? { level, reason: 'translation', stage }, accesses };
        }
        desc = got.value;
        nested = got.nested;
      } else {
        desc = this.read(descAddr);
      }
      const step: WalkStep = { stage, level, table, index, descAddr, desc };
      if (nested) step.nested = nested;
      steps.push(step);
      accesses += 1 + (nested?.accesses ?? 0);

      const d = this.decodePte(desc, level);
      if (d.kind === 'invalid') return fault(level, 'translation');
      read = read && d.read;
      write = write && d.write;
      if (d.kind === 'table') {
        table = d.next;
        level = d.nextLevel;
        continue;
      }
      return { steps, phys: d.out | (iova & (d.size - 1n)), leafLevel: level, pageSize: d.size, read, write, accesses };
    }
  }
}

// ---- the generic format ----

const GPT_VALID = 1n << 0n;
const GPT_LEAF = 1n << 1n;
const GPT_READ = 1n << 2n;
const GPT_WRITE = 1n << 3n;
const GPT_ADDR_MASK = ((1n << 52n) - 1n) & ~((1n << 12n) - 1n); // GENMASK_ULL(51, 12)
/** The root may concatenate up to 16 granule-sized tables. */
const GPT_MAX_ROOT_EXTRA_BITS = 4;

export interface GenericPtConfig {
  granule: bigint;
  ias: number;
  oas: number;
  /** Defaults to the fewest levels that cover ias. */
  levels?: number;
  /** Leaf sizes the MMU accepts; defaults to the granule alone. */
  pgsizeBitmap?: bigint;
}

export class GenericIoPgtable extends RadixIoPgtable {
  readonly name = 'generic';
  readonly cfg: IoPgtableConfig;
  readonly root: bigint;
  readonly levels: number;
  readonly granule: bigint;
  readonly pgShift: number;
  readonly bitsPerLevel: number;
  /** Index bits of the root table. */
  readonly rootBits: number;

  constructor(config: GenericPtConfig, hooks: PgtableHooks) {
    super(hooks);
    const g = config.granule;
    if (g !== 1n << 12n && g !== 1n << 14n && g !== 1n << 16n) throw new KernelError(EINVAL, `generic io-pgtable: granule 0x${g.toString(16)} is not 4K, 16K or 64K`);
    this.granule = g;
    this.pgShift = ffs(g);
    this.bitsPerLevel = this.pgShift - 3;
    const vaBits = config.ias - this.pgShift;
    if (vaBits <= 0 || config.ias > 64 || config.oas > 52) throw new KernelError(EINVAL, `generic io-pgtable: ias ${config.ias} / oas ${config.oas} out of range`);
    const levels = config.levels ?? Math.ceil(vaBits / this.bitsPerLevel);
    const rootBits = vaBits - this.bitsPerLevel * (levels - 1);
    if (levels < 1 || rootBits < 1 || rootBits > this.bitsPerLevel + GPT_MAX_ROOT_EXTRA_BITS) {
      throw new KernelError(EINVAL, `generic io-pgtable: ${levels} levels of a 0x${g.toString(16)} granule cannot cover ias ${config.ias}`);
    }
    this.levels = levels;
    this.rootBits = rootBits;
    // Leaf sizes: only those a level can hold.
    let bitmap = 0n;
    const wanted = config.pgsizeBitmap ?? g;
    for (let l = 1; l <= levels; l++) if (wanted & this.blockSize(l)) bitmap |= this.blockSize(l);
    if (!(bitmap & g)) bitmap |= g;
    this.cfg = { pgsizeBitmap: bitmap, ias: config.ias, oas: config.oas };
    const root = this.allocTable(this.tableBytes(1), 1);
    if (root < 0n) throw new KernelError(ENOMEM, 'generic io-pgtable: no memory for the root table');
    this.root = root;
  }

  /** Bytes one entry at `level` maps. */
  blockSize(level: number): bigint {
    return 1n << BigInt(this.pgShift + this.bitsPerLevel * (this.levels - level));
  }

  private tableBytes(level: number): number {
    return 8 << (level === 1 ? this.rootBits : this.bitsPerLevel);
  }

  protected pteIndex(iova: bigint, level: number): number {
    const bits = level === 1 ? this.rootBits : this.bitsPerLevel;
    const shift = this.pgShift + this.bitsPerLevel * (this.levels - level);
    return Number((iova >> BigInt(shift)) & ((1n << BigInt(bits)) - 1n));
  }

  protected walkStart(iova: bigint): { level: number; table: bigint } | { level: number; fault: WalkFaultReason } {
    if (iova >> BigInt(this.cfg.ias)) return { level: 1, fault: 'address-size' };
    return { level: 1, table: this.root };
  }

  protected decodePte(desc: bigint, level: number): RadixPteDecode {
    if (!(desc & GPT_VALID)) return { kind: 'invalid' };
    if (level === this.levels || desc & GPT_LEAF) {
      const size = this.blockSize(level);
      return { kind: 'leaf', out: desc & GPT_ADDR_MASK & ~(size - 1n), size, read: (desc & GPT_READ) !== 0n, write: (desc & GPT_WRITE) !== 0n };
    }
    return { kind: 'table', next: desc & GPT_ADDR_MASK, nextLevel: level + 1, read: true, write: true };
  }

  /** The level whose entries are leaves of `pgsize`, or 0. */
  private leafLevel(pgsize: bigint): number {
    for (let l = 1; l <= this.levels; l++) if (this.blockSize(l) === pgsize) return l;
    return 0;
  }

  /** Maps page by page; refuses (-EEXIST) to overwrite a live leaf or a table with leaves below it. */
  mapPages(iova: bigint, paddr: bigint, pgsize: bigint, count: number, prot: number): { mapped: bigint; ret: number } {
    const target = this.leafLevel(pgsize);
    if (!isPowerOfTwo(pgsize) || !(pgsize & this.cfg.pgsizeBitmap) || !target || count < 1) {
      this.warn('generic_map_pages', 'WARN_ON(!pgsize || (pgsize & cfg->pgsize_bitmap) != pgsize)');
      return { mapped: 0n, ret: -EINVAL };
    }
    if (!isAligned(iova, pgsize) || !isAligned(paddr, pgsize)) return { mapped: 0n, ret: -EINVAL };
    const end = iova + pgsize * BigInt(count);
    if (end > 1n << BigInt(this.cfg.ias) || (paddr + pgsize * BigInt(count) - 1n) >> BigInt(this.cfg.oas)) {
      this.warn('generic_map_pages', 'WARN_ON(iaext || paddr >> cfg->oas)');
      return { mapped: 0n, ret: -ERANGE };
    }
    if (!(prot & (IOMMU_READ | IOMMU_WRITE))) return { mapped: 0n, ret: -EINVAL };
    const attr = GPT_VALID | (target < this.levels ? GPT_LEAF : 0n) | (prot & IOMMU_READ ? GPT_READ : 0n) | (prot & IOMMU_WRITE ? GPT_WRITE : 0n);

    let mapped = 0n;
    for (let i = 0; i < count; i++) {
      const va = iova + mapped;
      let table = this.root;
      for (let level = 1; level < target; level++) {
        const ptep = table + BigInt(this.pteIndex(va, level)) * 8n;
        let pte = this.read(ptep);
        if (!(pte & GPT_VALID)) {
          const next = this.allocTable(this.tableBytes(level + 1), level + 1);
          if (next < 0n) return { mapped, ret: -ENOMEM };
          pte = next | GPT_VALID;
          this.write(ptep, pte);
        } else if (pte & GPT_LEAF) {
          this.warn('generic_map_pages', 'WARN_ON(block already mapped above the target level)');
          return { mapped, ret: -EEXIST };
        }
        table = pte & GPT_ADDR_MASK;
      }
      const ptep = table + BigInt(this.pteIndex(va, target)) * 8n;
      const old = this.read(ptep);
      if (old & GPT_VALID) {
        // A block may replace a table left empty by unmaps; anything live needs an unmap first.
        const emptyTable = target < this.levels && !(old & GPT_LEAF) && !this.hasLeaves(old & GPT_ADDR_MASK, target + 1);
        if (!emptyTable) {
          this.warn('generic_map_pages', 'WARN_ON(entry already valid): we require an unmap first');
          return { mapped, ret: -EEXIST };
        }
        this.write(ptep, 0n);
        this.hooks.tlb?.tlbFlushWalk?.(va, pgsize, this.granule);
        this.freeSubtree(old & GPT_ADDR_MASK, target + 1);
      }
      this.write(ptep, attr | ((paddr + mapped) & GPT_ADDR_MASK));
      mapped += pgsize;
    }
    return { mapped, ret: 0 };
  }

  /** Clears whole leaves of exactly `pgsize`; stops at a hole or a larger leaf. Tables are kept. */
  unmapPages(iova: bigint, pgsize: bigint, count: number): bigint {
    const target = this.leafLevel(pgsize);
    if (!isPowerOfTwo(pgsize) || !(pgsize & this.cfg.pgsizeBitmap) || !target || count < 1) {
      this.warn('generic_unmap_pages', 'WARN_ON(!pgsize || (pgsize & cfg->pgsize_bitmap) != pgsize || !pgcount)');
      return 0n;
    }
    let unmapped = 0n;
    for (let i = 0; i < count; i++) {
      const va = iova + unmapped;
      const leaf = this.findLeaf(va);
      if (!leaf) {
        this.warn('generic_unmap_pages', 'WARN_ON(unmap of an unmapped iova)');
        break;
      }
      if (leaf.level !== target) {
        this.warn('generic_unmap_pages', 'Unmap of a partial large IOPTE is not allowed');
        break;
      }
      this.write(leaf.ptep, 0n);
      this.hooks.tlb?.tlbAddPage?.(va, pgsize);
      unmapped += pgsize;
    }
    return unmapped;
  }

  private tableEntries(level: number): number {
    return this.tableBytes(level) / 8;
  }

  /** Whether any valid leaf hangs below the table at `level`. */
  private hasLeaves(table: bigint, level: number): boolean {
    for (let i = 0; i < this.tableEntries(level); i++) {
      const pte = this.read(table + BigInt(i) * 8n);
      if (!(pte & GPT_VALID)) continue;
      if (level === this.levels || pte & GPT_LEAF || this.hasLeaves(pte & GPT_ADDR_MASK, level + 1)) return true;
    }
    return false;
  }

  /** Frees a table and the tables below it, children first. */
  private freeSubtree(table: bigint, level: number): void {
    if (level < this.levels) {
      for (let i = 0; i < this.tableEntries(level); i++) {
        const pte = this.read(table + BigInt(i) * 8n);
        if (pte & GPT_VALID && !(pte & GPT_LEAF)) this.freeSubtree(pte & GPT_ADDR_MASK, level + 1);
      }
    }
    this.freeTable(table);
  }

  iovaToPhys(iova: bigint): bigint {
    const leaf = this.findLeaf(iova);
    if (!leaf) return 0n;
    const size = this.blockSize(leaf.level);
    return (leaf.pte & GPT_ADDR_MASK & ~(size - 1n)) | (iova & (size - 1n));
  }

  private findLeaf(iova: bigint): { ptep: bigint; pte: bigint; level: number } | undefined {
    if (iova >> BigInt(this.cfg.ias)) return undefined;
    let table = this.root;
    for (let level = 1; level <= this.levels; level++) {
      const ptep = table + BigInt(this.pteIndex(iova, level)) * 8n;
      const pte = this.read(ptep);
      if (!(pte & GPT_VALID)) return undefined;
      if (level === this.levels || pte & GPT_LEAF) return { ptep, pte, level };
      table = pte & GPT_ADDR_MASK;
    }
    return undefined;
  }
}
