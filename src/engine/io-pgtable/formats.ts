// alloc_io_pgtable_ops(): one entry point from a format name and the IOMMU's
// configuration to a page table, and each format's default pgsize_bitmap.

import { EINVAL, KernelError } from '../errno';
import { AMD_IOMMU_PGSIZES, AmdV1IoPgtable } from './amd-v1';
import { AppleDartIoPgtable } from './apple-dart';
import { ArmLpaeIoPgtable, armLpaeGranulePageSizes } from './arm-lpae';
import { GenericIoPgtable } from './generic-pt';
import { IoPgtableOps, PgtableHooks } from './types';
import { VtdFirstStageIoPgtable } from './vtd-first-stage';
import { VtdSecondStageIoPgtable } from './vtd-second-stage';

export type IoPgtableFmt = 'arm-lpae-s1' | 'arm-lpae-s2' | 'vtd-first' | 'vtd-second' | 'amd-v1' | 'apple-dart' | 'generic';

export interface IoPgtableAllocConfig {
  /** Smallest page; VT-d and AMD only take 4K. */
  granule: bigint;
  /** Input address bits; the address width (aw) for VT-d. */
  ias: number;
  oas: number;
  /** Generic: table levels. AMD v1: the most levels the table may grow to. VT-d: must match ias if given. */
  levels?: number;
  pgsizeBitmap?: bigint;
  /** VT-d second stage: levels from the unit's SAGAW (iommu->agaw + 2) rather than from aw. */
  vtdAgawLevels?: number;
  /** CPU PAGE_SIZE (Arm picks its granule relative to it). */
  pageSize: bigint;
}

const SZ_4K = 1n << 12n;
const SZ_2M = 1n << 21n;
const SZ_1G = 1n << 30n;

/** The page sizes a format offers for a granule (its pgsize_bitmap before the IOMMU narrows it). */
export function defaultPgsizeBitmap(fmt: IoPgtableFmt, granule: bigint): bigint {
  switch (fmt) {
    case 'arm-lpae-s1':
    case 'arm-lpae-s2':
      // 4T blocks (64K granule) need oas > 48, which this signature does not know.
      return armLpaeGranulePageSizes(granule, 48);
    case 'vtd-first':
    case 'vtd-second':
      return SZ_4K | SZ_2M | SZ_1G;
    case 'amd-v1':
      return AMD_IOMMU_PGSIZES;
    case 'apple-dart':
    case 'generic':
      return granule;
  }
}

function needGranule(fmt: IoPgtableFmt, granule: bigint, want: bigint): void {
  if (granule !== want) throw new KernelError(EINVAL, `alloc_io_pgtable_ops: ${fmt} has no 0x${granule.toString(16)} granule`);
}

/** Builds the page table; throws KernelError where the kernel's allocator returns NULL. */
export function allocIoPgtableOps(fmt: IoPgtableFmt, cfg: IoPgtableAllocConfig, hooks: PgtableHooks): IoPgtableOps {
  switch (fmt) {
    case 'arm-lpae-s1':
    case 'arm-lpae-s2':
      return new ArmLpaeIoPgtable(
        { stage: fmt === 'arm-lpae-s1' ? 1 : 2, granule: cfg.granule, ias: cfg.ias, oas: cfg.oas, pgsizeBitmap: cfg.pgsizeBitmap, pageSize: cfg.pageSize },
        hooks,
      );
    case 'vtd-first':
    case 'vtd-second': {
      needGranule(fmt, cfg.granule, SZ_4K);
      const ops = fmt === 'vtd-first'
        ? new VtdFirstStageIoPgtable({ aw: cfg.ias, pgsizeBitmap: cfg.pgsizeBitmap }, hooks)
        : new VtdSecondStageIoPgtable({ aw: cfg.ias, pgsizeBitmap: cfg.pgsizeBitmap, ...(cfg.vtdAgawLevels !== undefined ? { agawLevels: cfg.vtdAgawLevels } : {}) }, hooks);
      if (cfg.levels !== undefined && cfg.levels !== ops.levels) {
        ops.free();
        throw new KernelError(EINVAL, `alloc_io_pgtable_ops: ${fmt} with aw ${cfg.ias} has ${ops.levels} levels, not ${cfg.levels}`);
      }
      return ops;
    }
    case 'amd-v1':
      needGranule(fmt, cfg.granule, SZ_4K);
      return new AmdV1IoPgtable({ ias: cfg.ias, oas: cfg.oas, maxLevel: cfg.levels }, hooks);
    case 'apple-dart':
      // Real DARTs have oas 36 (t8103, APPLE_DART) or 42 (t6000, APPLE_DART2); other values pick the nearer.
      return new AppleDartIoPgtable({ granule: cfg.granule, ias: cfg.ias, oas: cfg.oas === 36 || cfg.oas < 42 ? 36 : 42 }, hooks);
    case 'generic':
      return new GenericIoPgtable({ granule: cfg.granule, ias: cfg.ias, oas: cfg.oas, levels: cfg.levels, pgsizeBitmap: cfg.pgsizeBitmap }, hooks);
  }
}
