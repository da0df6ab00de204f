// PASID-granular attach (drivers/iommu/iommu.c, v6.18): a domain attached
// to one PASID of every device in a group, next to the group's RID domain,
// recorded in group->pasid_array. iommu_attach_device_pasid,
// iommu_replace_device_pasid, iommu_detach_device_pasid (through the driver's
// blocked domain) and iommu_attach_handle_get; the drivers' set_dev_pasid
// ops and PASID capabilities are modelled as data.

import type { EngineCtx } from '../context';
import type { Device } from '../device';
import { EBUSY, EINVAL, ENODEV, ENOENT, EOPNOTSUPP } from '../errno';
import type { DomainType, IommuDomain } from './iommu-domain';
import type { IommuGroup, PasidAttachment } from './iommu-group';
import type { Iommu } from './iommu-instance';
import type { IommuKind } from './iommu-kinds';
import { attachHop, domainAttachUnit, driverSetDevPasidCheck, type PathEntry } from './driver-attach';

/** PASID 0 tags requests without a PASID: the RID's domain, never a pasid_array slot. */
export const IOMMU_NO_PASID = 0;

/** What the PASID calls need beyond EngineCtx: the devices, to walk a group. */
export type IommuCtx = EngineCtx & { readonly devices: ReadonlyMap<string, Device> };

/** struct iommu_attach_handle as iommufd supplies it (SVA's is struct iommu_sva, iommu-sva.ts). */
export class IommufdAttachHandle {
  readonly kind = 'iommufd' as const;
  constructor(readonly id: number) {}
}

/** What an attach stores beside the domain: an attach handle, or nothing (kernel-internal users). */
export type AttachHandle = NonNullable<PasidAttachment['handle']>;

interface PasidDriverOps {
  /** The set_dev_pasid of each domain type's ops, by driver function name; missing = not implemented. */
  setDevPasid: Partial<Record<DomainType, string>>;
  /** ops->blocked_domain->ops->set_dev_pasid. */
  blocked: string;
}

// Which domains can sit on a PASID, per driver (v6.18): VT-d takes any paging
// domain, identity and SVA; SMMUv3 takes stage-1 paging and SVA domains
// through context descriptors; AMD-Vi only SVA (its GCR3 table).
const PAGING_VTD = 'intel_iommu_set_dev_pasid';
const PAGING_SMMU = 'arm_smmu_s1_set_dev_pasid';
const PASID_OPS: Partial<Record<IommuKind, PasidDriverOps>> = {
  'intel-vtd': {
    setDevPasid: { unmanaged: PAGING_VTD, dma: PAGING_VTD, 'dma-fq': PAGING_VTD, nested: 'intel_nested_set_dev_pasid', identity: 'identity_domain_set_dev_pasid', sva: 'intel_svm_set_dev_pasid' },
    blocked: 'blocking_domain_set_dev_pasid',
  },
  'arm-smmu-v3': {
    setDevPasid: { unmanaged: PAGING_SMMU, dma: PAGING_SMMU, 'dma-fq': PAGING_SMMU, sva: 'arm_smmu_sva_set_dev_pasid' },
    blocked: 'arm_smmu_blocking_set_dev_pasid',
  },
  'amd-vi': {
    setDevPasid: { sva: 'iommu_sva_set_dev_pasid' },
    blocked: 'blocked_domain_set_dev_pasid',
  },
};

/** iommu->max_pasids: 0 when the driver or the hardware has no PASID support. */
export function iommuMaxPasids(iommu: Iommu): number {
  if (!PASID_OPS[iommu.cfg.kind]) return 0;
  const bits = iommu.cfg.pasidBits ?? 20;
  return bits > 0 ? 2 ** bits : 0;
}

/** dev->iommu->max_pasids: min of the device's PASID capability and its IOMMU's (dev_iommu_get_max_pasids). */
export function devMaxPasids(dev: Device): number {
  const near = dev.path[0];
  if (!near) return 0;
  return Math.min(dev.maxPasids, iommuMaxPasids(near.iommu));
}

/** Can the device's recoverable faults reach iopf? PRI (with ATS) on VT-d and AMD-Vi; on SMMUv3 only stall, which platform devices have here. */
export function deviceIopfCapable(dev: Device): boolean {
  const near = dev.path[0];
  if (!near || devMaxPasids(dev) === 0) return false;
  switch (near.iommu.cfg.kind) {
    case 'intel-vtd':
    case 'amd-vi':
      return dev.pri && dev.ats;
    case 'arm-smmu-v3':
      // Mainline SMMUv3 has no PRI; stall-capable (dma-can-stall) masters are platform devices.
      return dev.bus === 'platform';
    default:
      return false;
  }
}

/** The name of the driver op that sets `domain` on a PASID, or null when the ops lack set_dev_pasid. */
export function setDevPasidOp(iommu: Iommu, type: DomainType): string | null {
  return PASID_OPS[iommu.cfg.kind]?.setDevPasid[type] ?? null;
}

/** Devices of a group, as objects, in group order. */
function groupDevices(ctx: IommuCtx, group: IommuGroup): Device[] {
  const out: Device[] = [];
  for (const name of group.devices) {
    const d = ctx.devices.get(name);
    if (d) out.push(d);
  }
  return out;
}

/** intel_iommu_sva_supported(): an SVM-capable IOMMU, and PASID and ATS enabled on the device. */
export function intelIommuSvaSupported(dev: Device): number {
  const near = dev.path[0];
  if (!near || iommuMaxPasids(near.iommu) === 0) return -ENODEV; // not VTD_FLAG_SVM_CAPABLE
  return devMaxPasids(dev) === 0 || !dev.ats ? -EINVAL : 0;
}

/** The driver's set_dev_pasid for one device: programs the PASID entry (or context descriptor, or GCR3 slot). */
function setDevPasid(ctx: EngineCtx, domain: IommuDomain, dev: Device, pasid: number, old: IommuDomain | null): number {
  const op = setDevPasidOp(domain.iommu, domain.type) ?? 'set_dev_pasid';
  return ctx.trace.call(op, { device: dev.busId, pasid, domain: domain.label, old: old?.label ?? 'none' }, () => {
    const kind = domain.iommu.cfg.kind;
    if (kind === 'arm-smmu-v3' && domain.nestParent) return -EINVAL; // arm_smmu_s1_set_dev_pasid: stage != S1
    const hop = dev.path[0];
    const ret = hop ? driverSetDevPasidCheck(domain, hop) : 0;
    if (ret) return ret;
    if (domain.type === 'sva') {
      if (kind === 'intel-vtd') {
        const ret = intelIommuSvaSupported(dev);
        if (ret) return ret;
        if (!dev.pri) return -ENODEV; // iopf_for_domain_replace() -> intel_iommu_enable_iopf(): PRI not enabled
      }
      if (kind === 'amd-vi' && old) return -EOPNOTSUPP; // AMD's SVA set_dev_pasid cannot replace
    }
    if (hop) domainAttachUnit(domain, hop.iommu);
    domain.users.add(`${dev.name} pasid ${pasid}`);
    old?.users.delete(`${dev.name} pasid ${pasid}`);
    ctx.trace.emit('engine:pasid_entry', { iommu: domain.iommu.name, device: dev.busId, pasid, domain: domain.label });
    return 0;
  });
}

/** iommu_remove_dev_pasid(): the blocked domain's set_dev_pasid; requests with the PASID now fault. */
function removeDevPasid(ctx: EngineCtx, dev: Device, pasid: number, domain: IommuDomain): void {
  const near = dev.path[0];
  const op = near ? PASID_OPS[near.iommu.cfg.kind]?.blocked ?? 'blocked_set_dev_pasid' : 'blocked_set_dev_pasid';
  ctx.trace.call(op, { device: dev.busId, pasid, old: domain.label }, () => {
    domain.users.delete(`${dev.name} pasid ${pasid}`);
    ctx.trace.emit('engine:pasid_entry', { iommu: near?.iommu.name ?? '', device: dev.busId, pasid, domain: 'blocked' });
  });
}

/** Drop the IOTLB entries one PASID cached through one domain (the PASID-selective flush of a teardown). */
export function flushPasidIotlb(ctx: EngineCtx, domain: IommuDomain, pasid: number): void {
  let n = 0;
  for (const unit of domain.iommus()) {
    const iotlb = unit.iotlb;
    for (const [k, e] of iotlb.entries) {
      if (e.domainId === domain.id && e.pasid === pasid) {
        iotlb.entries.delete(k);
        n++;
      }
    }
    iotlb.invalidations++;
  }
  ctx.trace.emit('engine:iotlb_inv_pasid', { domain: domain.label, pasid, entries: n });
}

/**
 * __iommu_set_group_pasid(): set_dev_pasid on every device of the group that
 * can issue PASIDs; on a failure the devices already done go back to `old`,
 * or to the blocked domain when there was none.
 */
function iommuSetGroupPasid(ctx: IommuCtx, domain: IommuDomain, group: IommuGroup, pasid: number, old: IommuDomain | null): number {
  const devs = groupDevices(ctx, group).filter((d) => devMaxPasids(d) > 0);
  for (let i = 0; i < devs.length; i++) {
    const ret = setDevPasid(ctx, domain, devs[i], pasid, old);
    if (ret === 0) continue;
    for (const done of devs.slice(0, i)) {
      if (!old || setDevPasid(ctx, old, done, pasid, domain) !== 0) removeDevPasid(ctx, done, pasid, domain);
    }
    return ret;
  }
  return 0;
}

function groupOf(dev: Device): IommuGroup | null {
  return dev.path[0]?.group ?? null;
}

/** domain_iommu_ops_compatible() plus the driver's own instance check (driver-attach.ts): the hop to program, or an errno. */
function pasidHop(dev: Device, domain: IommuDomain): PathEntry | number {
  const hop = attachHop(dev, domain);
  return typeof hop !== 'number' && hop !== dev.path[0] ? -EINVAL : hop;
}

function storeEntry(ctx: EngineCtx, group: IommuGroup, pasid: number, domain: IommuDomain, handle: AttachHandle | null): void {
  group.pasidArray.set(pasid, { domain, handle });
  ctx.trace.emit('engine:pasid_array_store', { group: group.id, pasid, domain: domain.label, handle: handle ? `${handle.kind} #${handle.id}` : 'none' });
}

/**
 * iommu_attach_device_pasid(domain, dev, pasid, handle): -EOPNOTSUPP when the
 * domain's ops (or the blocked domain's) lack set_dev_pasid; -EINVAL for an
 * incompatible domain, IOMMU_NO_PASID, or a PASID beyond max_pasids of any
 * PASID-capable device in the group; -EBUSY when the slot is taken.
 */
export function iommuAttachDevicePasid(ctx: IommuCtx, domain: IommuDomain, dev: Device, pasid: number, handle: AttachHandle | null): number {
  return ctx.trace.call('iommu_attach_device_pasid', { device: dev.busId, pasid, domain: domain.label }, () => {
    const group = groupOf(dev);
    if (!group) return -ENODEV;
    const near = dev.path[0];
    if (!setDevPasidOp(domain.iommu, domain.type) || !PASID_OPS[near.iommu.cfg.kind]) return -EOPNOTSUPP;
    if (pasid === IOMMU_NO_PASID) return -EINVAL;
    const hop = pasidHop(dev, domain);
    if (typeof hop === 'number') return hop;
    // Devices without PASID support (max_pasids 0) cannot emit the PASID, so they do not limit it (v6.15 fix).
    for (const d of groupDevices(ctx, group)) {
      const max = devMaxPasids(d);
      if (max > 0 && pasid >= max) {
        ctx.trace.emit('engine:pasid_too_large', { device: d.busId, pasid, max_pasids: max });
        return -EINVAL;
      }
    }
    if (group.pasidArray.has(pasid)) return -EBUSY; // xa_insert() on an occupied slot
    const ret = iommuSetGroupPasid(ctx, domain, group, pasid, null);
    if (ret) return ret;
    if (!groupDevices(ctx, group).some((d) => devMaxPasids(d) > 0)) {
      ctx.trace.check('pasid-attach-no-pasid-device', 'warning', `iommu_attach_device_pasid(${domain.label}, ${dev.busId}, ${pasid}) returned 0, but no device of the group supports PASID (max_pasids 0): nothing was programmed and no request can carry PASID ${pasid}`);
    }
    storeEntry(ctx, group, pasid, domain, handle);
    return 0;
  });
}

/**
 * iommu_replace_device_pasid(domain, dev, pasid, handle): switch an attached
 * PASID to `domain` without passing through the blocked domain; -EINVAL when
 * nothing is attached yet. On failure the PASID keeps its old domain.
 */
export function iommuReplaceDevicePasid(ctx: IommuCtx, domain: IommuDomain, dev: Device, pasid: number, handle: AttachHandle | null): number {
  return ctx.trace.call('iommu_replace_device_pasid', { device: dev.busId, pasid, domain: domain.label }, () => {
    const group = groupOf(dev);
    if (!group) return -ENODEV;
    if (!setDevPasidOp(domain.iommu, domain.type)) return -EOPNOTSUPP;
    if (pasid === IOMMU_NO_PASID || !handle) return -EINVAL;
    const hop = pasidHop(dev, domain);
    if (typeof hop === 'number') return hop;
    const curr = group.pasidArray.get(pasid);
    if (!curr) return -EINVAL; // not a replace: nothing attached
    if (curr.handle === handle) {
      ctx.trace.printk(`WARNING: iommu_replace_device_pasid: attach handle reused for PASID ${pasid}`);
      return -EINVAL;
    }
    if (curr.domain !== domain) {
      const ret = iommuSetGroupPasid(ctx, domain, group, pasid, curr.domain);
      if (ret) return ret;
      flushPasidIotlb(ctx, curr.domain, pasid);
    }
    storeEntry(ctx, group, pasid, domain, handle);
    return 0;
  });
}

/**
 * iommu_detach_device_pasid(domain, dev, pasid): every device of the group
 * gets the blocked domain on the PASID and the slot is erased. The kernel
 * trusts the caller; detaching a domain that is not the one attached is
 * reported here.
 */
export function iommuDetachDevicePasid(ctx: IommuCtx, domain: IommuDomain, dev: Device, pasid: number): void {
  ctx.trace.call('iommu_detach_device_pasid', { device: dev.busId, pasid, domain: domain.label }, () => {
    const group = groupOf(dev);
    if (!group) return;
    const curr = group.pasidArray.get(pasid);
    if (!curr) {
      ctx.trace.check('pasid-detach-unattached', 'warning', `iommu_detach_device_pasid(${domain.label}, ${dev.busId}, ${pasid}): nothing is attached to PASID ${pasid} of group ${group.id}`);
    } else if (curr.domain !== domain) {
      ctx.trace.check('pasid-detach-wrong-domain', 'error', `iommu_detach_device_pasid(${domain.label}, ${dev.busId}, ${pasid}): PASID ${pasid} is attached to ${curr.domain.label}, not ${domain.label}; the driver is told the wrong old domain`);
    }
    for (const d of groupDevices(ctx, group)) if (devMaxPasids(d) > 0) removeDevPasid(ctx, d, pasid, domain);
    if (curr) flushPasidIotlb(ctx, curr.domain, pasid);
    group.pasidArray.delete(pasid);
    ctx.trace.emit('engine:pasid_array_erase', { group: group.id, pasid });
  });
}

/**
 * iommu_attach_handle_get(group, pasid, type): the entry's attach handle;
 * -ENOENT when the slot is empty or was attached without a handle, -EBUSY
 * when `type` is given and the domain is of another type.
 */
export function iommuAttachHandleGet(group: IommuGroup, pasid: number, type: DomainType | null): (PasidAttachment & { handle: AttachHandle }) | number {
  const e = group.pasidArray.get(pasid);
  if (!e || !e.handle) return -ENOENT;
  if (type !== null && e.domain.type !== type) return -EBUSY;
  return { domain: e.domain, handle: e.handle };
}
