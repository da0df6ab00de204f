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
