// A guest owns its stage-1 tables: it edits them with plain stores, and the
// IOTLB keeps what it cached until the guest asks for an invalidation, which
// iommufd forwards to the driver (IOMMU_HWPT_INVALIDATE ->
// domain->ops->cache_invalidate_user: intel_nested_cache_invalidate_user on
// VT-d, the vSMMU's TLBI_NH_VA / TLBI_NH_ASID commands on SMMUv3). Until then
// the device keeps translating through the stale combined entries.

import type { EngineCtx } from '../context';
import { EINVAL } from '../errno';
import { iommuMapNosync, iommuUnmapFast } from './iommu-core';
import type { IommuDomain } from './iommu-domain';

/** What a guest invalidation covers: a range, one PASID (its ASID on SMMUv3), or the whole domain. */
export interface GuestInvalidation {
  iova?: bigint;
  size?: bigint;
  pasid?: number;
}

/** The guest writes stage-1 entries; nothing is invalidated. */
export function guestStage1Map(ctx: EngineCtx, domain: IommuDomain, iova: bigint, ipa: bigint, size: bigint, prot: number): number {
  if (domain.type !== 'nested') return -EINVAL;
  return ctx.trace.call('guest_stage1_map', { domain: domain.label, iova, ipa, size: Number(size), prot }, () => iommuMapNosync(ctx, domain, iova, ipa, size, prot));
}

/** The guest clears stage-1 entries; the IOTLB still holds what it cached. */
export function guestStage1Unmap(ctx: EngineCtx, domain: IommuDomain, iova: bigint, size: bigint): bigint | number {
  if (domain.type !== 'nested') return -EINVAL;
  return ctx.trace.call('guest_stage1_unmap', { domain: domain.label, iova, size: Number(size) }, () => iommuUnmapFast(ctx, domain, iova, size));
}

/** iommu_hwpt_invalidate on a nested domain: drop the cached translations the scope covers on every IOMMU caching the domain. */
export function iommuCacheInvalidateUser(ctx: EngineCtx, domain: IommuDomain, scope: GuestInvalidation): number {
  if (domain.type !== 'nested') return -EINVAL;
  const ranged = scope.iova !== undefined && scope.size !== undefined;
  const what = ranged ? 'range' : scope.pasid !== undefined ? 'pasid' : 'all';
  return ctx.trace.call('iommu_cache_invalidate_user', { domain: domain.label, scope: what, ...(ranged ? { iova: scope.iova, size: Number(scope.size) } : {}), ...(scope.pasid !== undefined ? { pasid: scope.pasid } : {}) }, () => {
    let n = 0;
    for (const unit of domain.iommus()) {
      const iotlb = unit.iotlb;
      const end = ranged ? (scope.iova ?? 0n) + (scope.size ?? 0n) : 0n;
      for (const [k, e] of iotlb.entries) {
        if (e.domainId !== domain.id) continue;
        if (scope.pasid !== undefined && e.pasid !== scope.pasid) continue;
        if (ranged && !(e.iova + iotlb.granule > (scope.iova ?? 0n) && e.iova < end)) continue;
        iotlb.entries.delete(k);
        n++;
      }
      iotlb.invalidations++;
    }
    ctx.trace.emit('engine:iotlb_inv_user', { domain: domain.label, scope: what, entries: n });
    return 0;
  });
}
