// Builtins for PASID attach/detach and SVA (iommu_*_pasid, iommu_sva_*),
// bound to iommu-pasid.ts and iommu-sva.ts. Kernel argument order; the
// attach handle iommufd passes to iommu_replace_device_pasid() is made here.

import type { DomainType } from '../../engine/iommu/iommu-domain';
import {
  IommufdAttachHandle, iommuAttachDevicePasid, iommuAttachHandleGet, iommuDetachDevicePasid, iommuReplaceDevicePasid,
} from '../../engine/iommu/iommu-pasid';
import { iommuSvaBindDevice, iommuSvaUnbindDevice } from '../../engine/iommu/iommu-sva';
import type { BuiltinBinding } from './builtin-types';
import { device, domain, smallInt } from './coerce';
import { RuntimeError } from './runtime-error';
import { AttachHandleValue, MmValue, SvaHandleValue, typeName, type Value } from './values';

/** ioasid_t is 32 bits; the PASID range checks are the kernel's, not the language's. */
function pasid(v: Value): number {
  return smallInt(v, 'pasid', 0xffff_ffff);
}

function mm(v: Value): MmValue {
  if (v instanceof MmValue) return v;
  throw new RuntimeError(`mm must be a process address space declared with \`mm NAME { ... }\`, got ${typeName(v)}`);
}

function svaHandle(v: Value): SvaHandleValue {
  if (v instanceof SvaHandleValue) return v;
  if (typeof v === 'bigint' && v < 0n) throw new RuntimeError(`handle is ${v}: the iommu_sva_bind_device() that should have made it failed`);
  throw new RuntimeError(`handle must be what iommu_sva_bind_device() returned, got ${typeName(v)}`);
}

const DOMAIN_TYPES: readonly DomainType[] = ['blocked', 'identity', 'unmanaged', 'dma', 'dma-fq', 'sva', 'nested'];

/** The optional `type` of iommu_attach_handle_get: 0 (any) or a domain type name ("sva", "nested", ...). */
function domainType(v: Value | undefined): DomainType | null {
  if (v === undefined || v === 0n) return null;
  const t = DOMAIN_TYPES.find((x) => x === v);
  if (t) return t;
  throw new RuntimeError(`type must be 0 or one of ${DOMAIN_TYPES.map((x) => `"${x}"`).join(', ')}, got ${typeof v === 'string' ? JSON.stringify(v) : typeName(v)}`);
}

export const PASID_BUILTINS: Readonly<Record<string, BuiltinBinding>> = {
  iommu_attach_device_pasid: {
    min: 3, max: 3,
    // A kernel-internal attach passes no attach handle (NULL), as drivers such as idxd do.
    impl: (c, [d, dev, p]) => BigInt(iommuAttachDevicePasid(c.m, domain(d), device(dev), pasid(p), null)),
  },
  iommu_detach_device_pasid: {
    min: 3, max: 3,
    impl: (c, [d, dev, p]) => {
      iommuDetachDevicePasid(c.m, domain(d), device(dev), pasid(p));
      return null;
    },
  },
  iommu_replace_device_pasid: {
    min: 3, max: 3,
    impl: (c, [d, dev, p]) => BigInt(iommuReplaceDevicePasid(c.m, domain(d), device(dev), pasid(p), new IommufdAttachHandle(c.m.nextId()))),
  },
  iommu_attach_handle_get: {
    min: 2, max: 3,
    impl: (_c, [dev, p, type]) => {
      const dv = device(dev);
      const group = dv.path[0]?.group;
      if (!group) throw new RuntimeError(`${dv.name} is not behind an IOMMU: it has no group`);
      const n = pasid(p);
      const r = iommuAttachHandleGet(group, n, domainType(type));
      return typeof r === 'number' ? BigInt(r) : new AttachHandleValue(r, n);
    },
  },
  iommu_sva_bind_device: {
    min: 2, max: 2,
    impl: (c, [dev, m]) => {
      const r = iommuSvaBindDevice(c.m, device(dev), mm(m).mm);
      return typeof r === 'number' ? BigInt(r) : new SvaHandleValue(r);
    },
  },
  iommu_sva_unbind_device: {
    min: 1, max: 1,
    impl: (c, [h]) => {
      iommuSvaUnbindDevice(c.m, svaHandle(h).sva);
      return null;
    },
  },
};
