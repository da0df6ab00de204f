// Builtins for nested (two-stage) domains: iommu_nested_domain_alloc, bound
// to iommu-nested.ts. What iommufd does for a VMM, in kernel argument order.

import { iommuNestedDomainAlloc } from '../../engine/iommu/iommu-nested';
import { guestStage1Map, guestStage1Unmap, iommuCacheInvalidateUser } from '../../engine/iommu/nested-invalidate';
import type { BuiltinBinding } from './builtin-types';
import { address, device, domain, int, optional, smallInt } from './coerce';
import { RuntimeError } from './runtime-error';

export const NESTED_BUILTINS: Readonly<Record<string, BuiltinBinding>> = {
  iommu_nested_domain_alloc: {
    min: 2, max: 4, named: ['ias', 'granule'],
    impl: (c, args, named) => {
      const iasV = optional(args, 2, named, 'ias');
      const granuleV = optional(args, 3, named, 'granule');
      const ias = iasV === undefined ? undefined : smallInt(iasV, 'ias', 64);
      if (ias !== undefined && ias < 16) throw new RuntimeError(`ias = ${ias} is out of range (16..64)`);
      const granule = granuleV === undefined ? undefined : int(granuleV, 'granule');
      if (granule !== undefined && (granule <= 0n || (granule & (granule - 1n)) !== 0n)) throw new RuntimeError(`granule = ${granule} is not a power of two`);
      const d = iommuNestedDomainAlloc(c.m, domain(args[0], 'parent'), device(args[1]), c.target ?? 'nested domain', ias, granule);
      if (typeof d === 'number') return BigInt(d);
      c.m.domains.push(d);
      return d;
    },
  },
  guest_stage1_map: {
    min: 5, max: 5,
    impl: (c, [d, iova, ipa, size, prot]) => BigInt(guestStage1Map(c.m, domain(d), address(iova, 'iova'), address(ipa, 'ipa'), int(size, 'size'), Number(int(prot, 'prot')))),
  },
  guest_stage1_unmap: {
    min: 3, max: 3,
    impl: (c, [d, iova, size]) => BigInt(guestStage1Unmap(c.m, domain(d), address(iova, 'iova'), int(size, 'size'))),
  },
  iommu_cache_invalidate: {
    min: 1, max: 3, named: ['pasid'],
    impl: (c, args, named) => {
      if (args.length === 2) throw new RuntimeError('iommu_cache_invalidate takes a range as iova and size, both or neither');
      const p = named.get('pasid');
      return BigInt(iommuCacheInvalidateUser(c.m, domain(args[0]), {
        ...(args.length === 3 ? { iova: address(args[1], 'iova'), size: int(args[2], 'size') } : {}),
        ...(p !== undefined ? { pasid: smallInt(p, 'pasid', (1 << 20) - 1) } : {}),
      }));
    },
  },
};
