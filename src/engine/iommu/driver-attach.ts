// The drivers' own attach rules, which the IOMMU core leaves to them (v6.18):
// - which IOMMU instance a domain may be attached through: SMMUv3 keeps a
//   domain on the SMMU that made it (arm_smmu_attach_dev, arm_smmu_set_pasid:
//   -EINVAL), VT-d lets one paging domain serve every compatible DMAR unit
//   (drivers/iommu/intel/iommu.c paging_domain_compatible, domain_attach_iommu);
// - SMMUv3's RID/PASID rules: a stage-2 (or nested) STE cannot hold a CD table,
//   so it is refused on the RID while PASIDs are in use (-EBUSY), and a PASID
//   is refused while the RID holds such a domain (-EINVAL).

import type { Device } from '../device';
import { EBUSY, EINVAL } from '../errno';
import { defaultPgsizeBitmap } from '../io-pgtable/formats';
import type { IommuDomain } from './iommu-domain';
import type { IommuGroup } from './iommu-group';
import type { Iommu } from './iommu-instance';
import { pagingFormat, vtdAgaw, vtdFl5lp } from './iommu-kinds';

/** One hop of a device's IOMMU path. */
export interface PathEntry {
  iommu: Iommu;
  group: IommuGroup;
}

/** An SMMUv3 domain whose STE is stage 2 (a nest parent) or a guest's (nested): no CD table of the host's. */
function smmuSteWithoutCdTable(domain: IommuDomain): boolean {
  return domain.nestParent || domain.type === 'nested';
}

/** arm_smmu_ssids_in_use(): a context descriptor other than SSID 0 is live. */
function smmuSsidsInUse(group: IommuGroup): boolean {
  return group.pasidArray.size > 0;
}

/**
 * paging_domain_compatible(domain, dev) for a domain made on another DMAR unit:
 * the same translation stage, the unit's adjusted width reaching the domain's
 * (gaw and agaw), the same paging-structure coherency, and every page size of
 * the domain supported by the unit. 0 or -EINVAL.
 */
export function vtdPagingDomainCompatible(domain: IommuDomain, unit: Iommu): number {
  const owner = domain.iommu;
  if (!domain.ops || unit.cfg.kind !== 'intel-vtd' || owner.cfg.kind !== 'intel-vtd') return -EINVAL;
  const fmt = pagingFormat(unit.cfg, domain.nestParent);
  if (fmt !== domain.fmt) return -EINVAL; // first stage needs FLTS, second stage SLTS
  if (domain.ops.cfg.ias > vtdWidth(unit) || domain.ops.levels - 2 > vtdAgaw(unit.cfg)) return -EINVAL;
  if ((owner.cfg.coherentWalk ?? true) !== (unit.cfg.coherentWalk ?? true)) return -EINVAL;
  const unitSizes = unit.cfg.pgsizes && unit.cfg.pgsizes.length > 0 ? unit.cfg.pgsizes.reduce((a, b) => a | b, 0n) : defaultPgsizeBitmap(fmt, unit.granule);
  if ((domain.pgsizeBitmap & ~unitSizes) !== 0n) return -EINVAL;
  return 0;
}

/** agaw_to_width(iommu->agaw), capped by MGAW (aw). */
function vtdWidth(unit: Iommu): number {
  return Math.min(30 + 9 * vtdAgaw(unit.cfg), unit.ias);
}

/**
 * The hop of `dev`'s path a domain is attached through, or an errno: the
 * domain's own IOMMU, or on VT-d any compatible DMAR unit in front of the
 * device (the domain is then attached to that unit too, domain_attach_iommu).
 */
export function attachHop(dev: Device, domain: IommuDomain): PathEntry | number {
  const own = dev.path.find((p) => p.iommu === domain.iommu);
  if (own) return own;
  if (domain.iommu.cfg.kind !== 'intel-vtd') return -EINVAL; // SMMUv3 and the rest: smmu_domain->smmu != master->smmu
  const hop = dev.path.find((p) => p.iommu.cfg.kind === 'intel-vtd');
  if (!hop) return -EINVAL;
  // intel_nested_attach_dev() checks the stage-2 parent.
  const paging = domain.type === 'nested' && domain.parent ? domain.parent : domain;
  const ret = vtdPagingDomainCompatible(paging, hop.iommu);
  return ret === 0 ? hop : ret;
}

/** domain_attach_iommu(): the unit now caches the domain's translations and gets its invalidations. */
export function domainAttachUnit(domain: IommuDomain, unit: Iommu): void {
  if (unit === domain.iommu) return;
  domain.units.add(unit);
  if (domain.parent && domain.parent.iommu !== unit) domain.parent.units.add(unit);
}

/** The driver's attach_dev checks on the RID beyond the core's: 0 or a negative errno. */
export function driverAttachDevCheck(domain: IommuDomain, hop: PathEntry): number {
  if (hop.iommu.cfg.kind === 'arm-smmu-v3' && smmuSteWithoutCdTable(domain) && smmuSsidsInUse(hop.group)) return -EBUSY;
  // intel_pasid_setup_nested(): a 5-level guest first stage needs CAP.FL5LP.
  if (hop.iommu.cfg.kind === 'intel-vtd' && domain.type === 'nested' && domain.ops?.levels === 5 && !vtdFl5lp(hop.iommu.cfg)) return -EINVAL;
  return 0;
}

/** arm_smmu_set_pasid(): a PASID needs the CD table in the STE, which a stage-2 or nested RID domain does not have. */
export function driverSetDevPasidCheck(domain: IommuDomain, hop: PathEntry): number {
  if (domain.iommu.cfg.kind !== 'arm-smmu-v3') return 0;
  const rid = hop.group.domain;
  if (rid && rid.type !== 'identity' && rid.type !== 'blocked' && smmuSteWithoutCdTable(rid)) return -EINVAL;
  return 0;
}
