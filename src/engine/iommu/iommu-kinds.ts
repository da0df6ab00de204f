// What differs between IOMMU drivers, as data: page-table format, default
// domain policy (Kconfig IOMMU_DEFAULT_DMA_LAZY on x86, strict elsewhere),
// capabilities and the aperture each driver reports in domain geometry.

export type IommuKind = 'arm-smmu-v3' | 'intel-vtd' | 'amd-vi' | 'apple-dart' | 'generic' | 'vduse' | 'virtio-iommu';

export const IOMMU_KINDS: readonly IommuKind[] = ['arm-smmu-v3', 'intel-vtd', 'amd-vi', 'apple-dart', 'generic', 'vduse', 'virtio-iommu'];

export type PgtableFormat = 'arm-lpae-s1' | 'arm-lpae-s2' | 'vtd-first' | 'vtd-second' | 'amd-v1' | 'apple-dart' | 'generic';

/** The declaration of an IOMMU instance (docs/language.md). */
export interface IommuConfig {
  name: string;
  kind: IommuKind;
  granule?: bigint;
  pgsizes?: bigint[];
  ias?: number;
  oas?: number;
  levels?: number;
  /** IOTLB entries; 0 = none. */
  iotlb?: number;
  deferredFlush?: boolean;
  pasidBits?: number;
  coherentWalk?: boolean;
  /** VT-d address width (48 = 4 levels, 57 = 5 levels). */
  aw?: number;
  /** VT-d translation stage for DMA domains. */
  stage?: 'first' | 'second';
  /** VT-d CAP.SAGAW (bits 12:8 as a 5-bit field): bit 1 = 39-bit 3-level, bit 2 = 48-bit 4-level, bit 3 = 57-bit 5-level tables. */
  sagaw?: number;
  /** VT-d CAP.FL5LP: first-stage 5-level paging. */
  fl5lp?: boolean;
  bounceSize?: bigint;
  iovaLimit?: bigint;
}

export interface IommuTraits {
  /** Name the kernel prints in io_page_fault and logs. */
  driver: string;
  defaultPolicy: 'dma' | 'dma-fq';
  /** IOMMU_CAP_DEFERRED_FLUSH. */
  deferredFlush: boolean;
  /** New mappings need iotlb_sync_map before the device may use them (caching mode, virtio-iommu). */
  needsSyncMap: boolean;
  defaultGranule: bigint;
  defaultIas: number;
  defaultOas: number;
}

export const IOMMU_TRAITS: Readonly<Record<IommuKind, IommuTraits>> = {
  'arm-smmu-v3': { driver: 'arm-smmu-v3', defaultPolicy: 'dma', deferredFlush: true, needsSyncMap: false, defaultGranule: 4096n, defaultIas: 48, defaultOas: 48 },
  'intel-vtd': { driver: 'DMAR', defaultPolicy: 'dma-fq', deferredFlush: true, needsSyncMap: false, defaultGranule: 4096n, defaultIas: 48, defaultOas: 48 },
  'amd-vi': { driver: 'AMD-Vi', defaultPolicy: 'dma-fq', deferredFlush: true, needsSyncMap: false, defaultGranule: 4096n, defaultIas: 64, defaultOas: 52 },
  // apple_dart_iotlb_sync_map() flushes: the DART TLB may hold a non-present result for a new mapping.
  'apple-dart': { driver: 'apple-dart', defaultPolicy: 'dma', deferredFlush: false, needsSyncMap: true, defaultGranule: 16384n, defaultIas: 32, defaultOas: 36 },
  generic: { driver: 'generic-iommu', defaultPolicy: 'dma', deferredFlush: false, needsSyncMap: false, defaultGranule: 4096n, defaultIas: 32, defaultOas: 48 },
  vduse: { driver: 'vduse', defaultPolicy: 'dma', deferredFlush: false, needsSyncMap: false, defaultGranule: 4096n, defaultIas: 64, defaultOas: 64 },
  'virtio-iommu': { driver: 'virtio-iommu', defaultPolicy: 'dma', deferredFlush: true, needsSyncMap: true, defaultGranule: 4096n, defaultIas: 48, defaultOas: 48 },
};

/** The page-table format a paging domain of this IOMMU uses. */
export function pagingFormat(cfg: IommuConfig, nestParent: boolean): PgtableFormat {
  switch (cfg.kind) {
    case 'arm-smmu-v3':
      return nestParent ? 'arm-lpae-s2' : 'arm-lpae-s1';
    case 'intel-vtd':
      return nestParent || cfg.stage === 'second' ? 'vtd-second' : 'vtd-first';
    case 'amd-vi':
      return 'amd-v1';
    case 'apple-dart':
      return 'apple-dart';
    default:
      return 'generic';
  }
}

/** Domain geometry aperture end (inclusive), as each driver reports it. */
export function apertureEnd(cfg: IommuConfig, fmt: PgtableFormat, ias: number): bigint {
  const bits = (n: number): bigint => (n >= 64 ? (1n << 64n) - 1n : (1n << BigInt(n)) - 1n);
  switch (fmt) {
    case 'vtd-first':
      // Scalable-mode first stage: canonical lower half only.
      return bits((cfg.aw ?? 48) - 1);
    case 'vtd-second':
      return bits(cfg.aw ?? 48);
    default:
      return bits(ias);
  }
}

/** width_to_agaw(): 39 -> 1, 48 -> 2, 57 -> 3 (agaw + 2 is the level count). */
function widthToAgaw(width: number): number {
  return Math.ceil((width - 30) / 9);
}

/**
 * VT-d iommu->agaw as __iommu_calculate_agaw(iommu, 57) finds it: the highest
 * SAGAW bit at or below 5 levels; without SAGAW, the one aw needs. -1 when
 * SAGAW offers none (alloc_iommu(): "Cannot get a valid agaw").
 */
export function vtdAgaw(cfg: IommuConfig): number {
  const aw = cfg.aw ?? 48;
  if (cfg.sagaw === undefined) return widthToAgaw(aw);
  for (let agaw = widthToAgaw(57); agaw >= 0; agaw--) if ((cfg.sagaw >> agaw) & 1) return agaw;
  return -1;
}

/** VT-d CAP.FL5LP; hardware with a 57-bit MGAW has it unless the scenario says otherwise. */
export function vtdFl5lp(cfg: IommuConfig): boolean {
  return cfg.fl5lp ?? (cfg.aw ?? 48) >= 57;
}
