// One IOMMU instance (struct iommu_device): its configuration, driver traits and IOTLB.

import { Iotlb } from './iotlb';
import { IOMMU_TRAITS, vtdAgaw, type IommuConfig, type IommuTraits } from './iommu-kinds';
import { EINVAL, KernelError } from '../errno';
import type { VduseIovaDomain } from '../vduse/vduse-iova-domain';

export class Iommu {
  readonly traits: IommuTraits;
  readonly iotlb: Iotlb;
  readonly granule: bigint;
  readonly ias: number;
  readonly oas: number;
  /** A `vduse` instance's struct vduse_iova_domain (vduse-dma-ops.ts creates it); null otherwise. */
  vduse: VduseIovaDomain | null = null;

  constructor(readonly cfg: IommuConfig, readonly line: number) {
    this.traits = IOMMU_TRAITS[cfg.kind];
    this.granule = cfg.granule ?? (cfg.pgsizes && cfg.pgsizes.length > 0 ? cfg.pgsizes.reduce((a, b) => (a < b ? a : b)) : this.traits.defaultGranule);
    this.ias = cfg.ias ?? (cfg.kind === 'intel-vtd' ? cfg.aw ?? 48 : this.traits.defaultIas);
    this.oas = smmuIdr5Oas(cfg.kind, cfg.oas ?? this.traits.defaultOas);
    this.iotlb = new Iotlb(cfg.iotlb ?? 128, this.granule);
    // alloc_iommu(): a DMAR unit whose SAGAW offers no usable width is not registered.
    if (cfg.kind === 'intel-vtd' && vtdAgaw(cfg) < 0) throw new KernelError(EINVAL, `DMAR: Cannot get a valid agaw for iommu ${cfg.name} (SAGAW 0x${cfg.sagaw?.toString(16) ?? '0'})`);
  }

  get name(): string {
    return this.cfg.name;
  }

  get deferredFlush(): boolean {
    return this.cfg.deferredFlush ?? this.traits.deferredFlush;
  }

  get maxPasids(): number {
    // pasid_bits = 0 (or absent): no PASID support at all, not one PASID.
    const bits = this.cfg.pasidBits ?? 0;
    return bits > 0 ? 1 << bits : 0;
  }
}

/** SMMUv3 IDR5.OAS encodes only these sizes, so a declared oas in between (39) reads back as the next one up (40). */
function smmuIdr5Oas(kind: IommuConfig['kind'], oas: number): number {
  if (kind !== 'arm-smmu-v3') return oas;
  return [32, 36, 40, 42, 44, 48, 52].find((x) => x >= oas) ?? 52;
}
