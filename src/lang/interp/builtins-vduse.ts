// Builtins for VDUSE: vduse_domain_set_map (the vhost-vdpa path handing
// guest memory over as IOTLB ranges) and user_read / user_write (the
// userspace device touching the IOVA space through its mmap).

import type { Iommu } from '../../engine/iommu/iommu-instance';
import { vduseIommuDomain } from '../../engine/vduse/vduse-iova-domain';
import { vduseDomainSetMap, vduseUserRead, vduseUserWrite, type VduseIovaDomain, type VduseMapRange } from '../../engine/vduse/vduse-iova-domain';
import type { BuiltinBinding, CallContext } from './builtin-types';
import { address, bytes, int, iommu, length } from './coerce';
import { RuntimeError } from './runtime-error';
import { RecordValue, typeName, type Value } from './values';

const RANGE_KEYS = ['start', 'last', 'addr', 'perm', 'file', 'offset'];

/** The domain of a `vduse` instance, created on first use. */
function vduseDomain(c: CallContext, v: Value): VduseIovaDomain {
  const i: Iommu = iommu(v, 'domain');
  if (i.cfg.kind !== 'vduse') throw new RuntimeError(`${i.name} is an ${i.cfg.kind} IOMMU; this call needs a \`vduse\` instance`);
  return vduseIommuDomain(c.m, i);
}

function mapRange(v: Value, n: number): VduseMapRange {
  if (!(v instanceof RecordValue)) throw new RuntimeError(`range ${n} must be a record {start = .., last = .., addr = .., perm = RW}, got ${typeName(v)}`);
  for (const k of v.fields.keys()) if (!RANGE_KEYS.includes(k)) throw new RuntimeError(`range ${n} has an unknown key ${k} (keys: ${RANGE_KEYS.join(', ')})`);
  const need = (k: string): Value => {
    const x = v.fields.get(k);
    if (x === undefined) throw new RuntimeError(`range ${n} needs ${k}`);
    return x;
  };
  const perm = int(need('perm'), `range ${n} perm`);
  if (perm < 1n || perm > 3n) throw new RuntimeError(`range ${n} perm must be RO, WO or RW (VHOST_MAP_*), got ${perm}`);
  const file = v.fields.get('file');
  if (file !== undefined && typeof file !== 'string') throw new RuntimeError(`range ${n} file must be a string naming the backing file, got ${typeName(file)}`);
  const offset = v.fields.get('offset');
  return {
    start: address(need('start'), `range ${n} start`),
    last: address(need('last'), `range ${n} last`),
    addr: address(need('addr'), `range ${n} addr`),
    perm: Number(perm),
    file: file ?? 'guest memory',
    offset: offset === undefined ? 0n : address(offset, `range ${n} offset`),
  };
}

export const VDUSE_BUILTINS: Readonly<Record<string, BuiltinBinding>> = {
  vduse_domain_set_map: {
    min: 2, max: 2,
    impl: (c, [d, list]) => {
      const domain = vduseDomain(c, d);
      if (!Array.isArray(list)) throw new RuntimeError(`iotlb must be a list of ranges, got ${typeName(list)}`);
      return BigInt(vduseDomainSetMap(c.m, domain, list.map((r, n) => mapRange(r, n))));
    },
  },
  user_read: {
    min: 3, max: 3,
    impl: (c, [d, iova, len]) => vduseUserRead(c.m, vduseDomain(c, d), address(iova, 'iova'), length(len, 'len')).bytes,
  },
  user_write: {
    min: 3, max: 3,
    impl: (c, [d, iova, data]) => {
      const payload = typeof data === 'bigint' ? new Uint8Array(length(data, 'len')) : bytes(data, 'data');
      vduseUserWrite(c.m, vduseDomain(c, d), address(iova, 'iova'), payload);
      return null;
    },
  },
};
