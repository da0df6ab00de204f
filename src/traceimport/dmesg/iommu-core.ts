// The IOMMU core's alignment check (drivers/iommu/iommu.c, __iommu_map and
// __iommu_unmap, pr_fmt "iommu: "):
//   "iommu: unaligned: iova 0x%lx pa %pa size 0x%zx min_pagesz 0x%x"   (map)
//   "iommu: unaligned: iova 0x%lx size 0x%zx min_pagesz 0x%x"          (unmap)
// The map is refused with -EINVAL; no device is named.

import { canonHex, hexSize } from '../values';
import { type LineCtx, type OpenRecord, type Partial, SingleLineRecord, base } from './record';

const UNALIGNED = /^(?:iommu: )?unaligned: iova (0x[0-9a-fA-F]+) (?:pa (0x[0-9a-fA-F]+) )?size (0x[0-9a-fA-F]+) min_pagesz (0x[0-9a-fA-F]+)\s*$/;

export function startIommuCore(ctx: LineCtx): OpenRecord | Partial | undefined {
  const m = UNALIGNED.exec(ctx.body);
  if (!m) {
    if (/^(?:iommu: )?unaligned: iova /.test(ctx.body)) return { partial: true, reason: 'iommu unaligned message does not match any known format (cut short?)' };
    return undefined;
  }
  const f = base(ctx, 'iommu_unaligned');
  f.addr = canonHex(m[1]);
  if (m[2] !== undefined) f.phys = canonHex(m[2]);
  const size = hexSize(m[3]);
  if (size !== undefined) f.size = size;
  f.min_pagesz = hexSize(m[4]);
  f.operation = m[2] !== undefined ? 'map' : 'unmap';
  const misaligned = [m[1], m[2], m[3]].filter((v): v is string => v !== undefined).map((v) => BigInt(v));
  const pg = BigInt(m[4]);
  const what = ['iova', 'pa', 'size'].filter((_, i) => misaligned[i] !== undefined && pg > 0n && misaligned[i] % pg !== 0n);
  f.reason = what.length > 0 ? `${what.join(', ')} not a multiple of min_pagesz ${m[4]}` : 'unaligned';
  f.message = ctx.body.trimEnd();
  return new SingleLineRecord(ctx, f);
}
