// The IOMMU core (drivers/iommu/iommu.c): probing devices into groups with a
// default domain, allocating paging domains, attach/detach, iommu_map /
// iommu_unmap with IOTLB maintenance, and iova_to_phys.

import type { EngineCtx } from '../context';
import { traceSite } from '../trace/recorder';
import { numberOf } from '../u64';
import type { Device } from '../device';
import { EBUSY, EINVAL, ENODEV, KernelError } from '../errno';
import { allocIoPgtableOps, defaultPgsizeBitmap } from '../io-pgtable/formats';
import { hasNumberOps } from '../io-pgtable/types';
import { IovaDomain } from '../iova/iova';
import { FlushQueue } from './flush-queue';
import { IommuDomain, type DomainPolicy, type DomainType } from './iommu-domain';
import { IommuGroup } from './iommu-group';
import type { Iommu } from './iommu-instance';
import { apertureEnd, pagingFormat, vtdAgaw } from './iommu-kinds';
import { attachHop, domainAttachUnit, driverAttachDevCheck } from './driver-attach';
import { iommuMapPagesQuiet, iommuMapPagesQuietN, iommuUnmapPagesQuiet, iommuUnmapPagesQuietN, type IommuMapResult } from './iommu-pgsize';
import { DomainPgtableHooks } from './pgtable-warn';
import { vduseIommuDomain } from '../vduse/vduse-iova-domain';

/** Allocate a domain of `type` on `iommu`; a negative errno when the driver refuses. */
export function iommuDomainAlloc(ctx: EngineCtx, iommu: Iommu, type: DomainType, label: string, nestParent = false): IommuDomain | number {
  if (type === 'dma-fq' && !iommu.deferredFlush) type = 'dma'; // no IOMMU_CAP_DEFERRED_FLUSH: silently strict
  const domain = new IommuDomain(ctx.nextId(), type, iommu, label, ctx.trace.line);
  if (type === 'identity' || type === 'blocked') return domain;
  // apple_dart_finalize_domain(): a DART page larger than PAGE_SIZE cannot back a paging domain.
  if (iommu.cfg.kind === 'apple-dart' && iommu.granule > ctx.platform.pageSize) return -EINVAL;
  const fmt = pagingFormat(iommu.cfg, nestParent);
  const pgsizes = iommu.cfg.pgsizes && iommu.cfg.pgsizes.length > 0 ? iommu.cfg.pgsizes.reduce((a, b) => a | b, 0n) : defaultPgsizeBitmap(fmt, iommu.granule);
  // A nest parent's input is the IPA space: the output size on SMMU (stage 2),
  // but on VT-d paging_domain_alloc takes every domain's width from the unit's
  // address width (agaw, capped by MGAW), nest parent or not.
  // VT-d second stage: iommu->agaw from SAGAW sets the levels, its width capped by MGAW (aw) the gaw.
  const vtdSecond = fmt === 'vtd-second' && iommu.cfg.sagaw !== undefined;
  const agaw = vtdAgaw(iommu.cfg);
  const ias = nestParent && iommu.cfg.kind !== 'intel-vtd' ? iommu.oas : vtdSecond ? Math.min(30 + 9 * agaw, iommu.ias) : iommu.ias;
  try {
    domain.ops = allocIoPgtableOps(
      fmt,
      { granule: iommu.granule, ias, oas: iommu.oas, levels: iommu.cfg.levels, pgsizeBitmap: pgsizes, pageSize: ctx.platform.pageSize, ...(vtdSecond ? { vtdAgawLevels: agaw + 2 } : {}) },
      new DomainPgtableHooks(ctx.mem, ctx.tables, ctx.trace),
    );
  } catch (e) {
    if (e instanceof KernelError) return -e.errno;
    throw e;
  }
  const ops = domain.ops;
  domain.fmt = fmt;
  domain.nestParent = nestParent;
  domain.pgsizeBitmap = ops.cfg.pgsizeBitmap;
  domain.apertureEnd = apertureEnd(iommu.cfg, fmt, ops.cfg.ias);
  if (domain.isDmaApi()) iommuDmaInitDomain(ctx, domain);
  ctx.trace.emit('engine:domain_alloc', { domain: domain.label, type, format: fmt, pgsize_bitmap: domain.pgsizeBitmap });
  return domain;
}

/** iommu_dma_init_domain: the IOVA cookie over the aperture, and the flush queue for DMA_FQ. */
function iommuDmaInitDomain(ctx: EngineCtx, domain: IommuDomain): void {
  // A granule above PAGE_SIZE reaches init_iova_domain's BUG_ON (iova.ts throws KernelBug).
  const granule = domain.minPagesz;
  const shift = BigInt(granule.toString(2).length - 1);
  const basePfn = Number(domain.apertureStart >> shift) || 1;
  domain.iovad = new IovaDomain(granule, basePfn, ctx.platform.cpus, ctx.platform.pageSize);
  if (domain.type === 'dma-fq') domain.fq = new FlushQueue(ctx.platform.cpus);
}

/** The default domain type iommu_get_def_domain_type() and the driver settle on. */
function defaultDomainType(ctx: EngineCtx, dev: Device, iommu: Iommu, asked: DomainPolicy | undefined): DomainType {
  // apple_dart_def_domain_type(): "bypass forced" when the DART page exceeds PAGE_SIZE.
  if (iommu.cfg.kind === 'apple-dart' && iommu.granule > ctx.platform.pageSize) return 'identity';
  if (dev.untrusted) return 'dma'; // untrusted devices are always translated, strictly
  return asked ?? iommu.traits.defaultPolicy;
}

/** Probe: put the device in a group on each IOMMU of its path and attach the default domain. */
export function iommuProbeDevice(ctx: EngineCtx, dev: Device, iommus: Iommu[], policies: DomainPolicy[] | undefined, groups: Map<string, IommuGroup>, groupName: string | undefined): void {
  iommus.forEach((iommu, i) => {
    const key = groupName !== undefined ? `${iommu.name}/${groupName}` : `${iommu.name}/${dev.name}`;
    let group = groups.get(key);
    if (!group) {
      group = new IommuGroup(groups.size, groupName ?? dev.name, iommu.name);
      groups.set(key, group);
    }
    group.devices.push(dev.name);
    dev.path.push({ iommu, group });
    ctx.trace.emit('iommu:add_device_to_group', { groupID: group.id, device: dev.busId });
    // VDUSE: no page-table domain; the device's DMA goes through the instance's vduse_iova_domain.
    if (iommu.cfg.kind === 'vduse') {
      vduseIommuDomain(ctx, iommu);
      return;
    }
    if (!group.defaultDomain) {
      const type = defaultDomainType(ctx, dev, iommu, policies?.[i] ?? policies?.[0]);
      const d = iommuDomainAlloc(ctx, iommu, type, `default domain of ${dev.name}${iommus.length > 1 ? ` on ${iommu.name}` : ''}`);
      if (typeof d === 'number') throw new KernelError(-d, `cannot allocate the default domain of ${dev.name}`);
      group.defaultDomain = d;
      group.domain = d;
    }
    group.domain?.users.add(dev.name);
    ctx.trace.emit('iommu:attach_device_to_domain', { device: dev.busId, domain: group.domain?.label ?? '' });
  });
  const near = dev.path[0];
  dev.dmaIommu = near !== undefined && near.group.domain !== null && near.group.domain.isDmaApi();
}

/** iommu_paging_domain_alloc(dev) (nest_parent: iommufd's IOMMU_HWPT_ALLOC_NEST_PARENT). */
export function iommuPagingDomainAlloc(ctx: EngineCtx, dev: Device, label: string, nestParent: boolean): IommuDomain | number {
  const near = dev.path[0];
  if (!near) return -ENODEV;
  return ctx.trace.call('iommu_paging_domain_alloc', { device: dev.busId, nest_parent: nestParent }, () => iommuDomainAlloc(ctx, near.iommu, 'unmanaged', label, nestParent));
}

/**
 * iommu_attach_device: singleton groups only (-EINVAL), and __iommu_attach_group
 * refuses (-EBUSY) while the group's domain is neither its default nor a
 * blocking domain, even when it is the very domain asked for: there is no
 * "already attached" shortcut on that path. Which IOMMU instance may take the
 * domain, and the SMMUv3 RID/PASID rule, are the driver's (driver-attach.ts).
 */
export function iommuAttachDevice(ctx: EngineCtx, domain: IommuDomain, dev: Device): number {
  return ctx.trace.call('iommu_attach_device', { device: dev.busId, domain: domain.label }, () => {
    const hop = attachHop(dev, domain);
    if (typeof hop === 'number') return hop;
    const group = hop.group;
    if (group.devices.length !== 1) return -EINVAL;
    const cur = group.domain;
    if (cur && cur !== group.defaultDomain && cur.type !== 'blocked') return -EBUSY;
    const ret = driverAttachDevCheck(domain, hop);
    if (ret) return ret;
    domainAttachUnit(domain, hop.iommu);
    group.domain?.users.delete(dev.name);
    group.domain = domain;
    domain.users.add(dev.name);
    ctx.setupGroupDmaOps(group);
    ctx.trace.emit('iommu:attach_device_to_domain', { device: dev.busId, domain: domain.label });
    return 0;
  });
}

/** iommu_detach_device: back to the default domain. */
export function iommuDetachDevice(ctx: EngineCtx, domain: IommuDomain, dev: Device): number {
  return ctx.trace.call('iommu_detach_device', { device: dev.busId, domain: domain.label }, () => {
    const entry = dev.path.find((p) => p.group.domain === domain);
    if (!entry) {
      ctx.trace.printk(`WARNING: iommu_detach_device: ${dev.busId} is not attached to ${domain.label}`);
      return -EINVAL;
    }
    domain.users.delete(dev.name);
    entry.group.domain = entry.group.defaultDomain;
    entry.group.domain?.users.add(dev.name);
    ctx.setupGroupDmaOps(entry.group);
    ctx.trace.emit('iommu:attach_device_to_domain', { device: dev.busId, domain: entry.group.domain?.label ?? '' });
    return 0;
  });
}

/** Trace sites of the map/unmap events, their field names in order (the trace compares repeats by site and position). */
const MAP_POINT = traceSite('point', 'iommu:map', ['iova', 'paddr', 'size']);
const MAP_SITE = traceSite('call', 'iommu_map', ['domain', 'iova', 'paddr', 'size', 'prot']);
const SYNC_MAP_POINT = traceSite('point', 'engine:iotlb_sync_map', ['domain', 'iova', 'size']);
const UNMAP_POINT = traceSite('point', 'iommu:unmap', ['iova', 'size', 'unmapped_size']);
const IOTLB_INV_POINT = traceSite('point', 'engine:iotlb_inv', ['domain', 'iova', 'size', 'entries']);
const IOTLB_INV_UNIT_POINT = traceSite('point', 'engine:iotlb_inv', ['domain', 'iova', 'size', 'entries', 'iommu']);

/** iommu_map_nosync: split into page sizes and write the page table; no IOTLB sync. */
export function iommuMapNosync(ctx: EngineCtx, domain: IommuDomain, iova: bigint, paddr: bigint, size: bigint, prot: number): number {
  if (!domain.ops) return -EINVAL;
  return mapNosyncDone(ctx, domain, iommuMapPagesQuiet(domain.ops, iova, paddr, size, prot), -1, iova, paddr, size, -1, prot);
}

/** iommu_map_nosync with the addresses and size also as numbers (integers below 2^53): the page table takes the numbers when its format does. */
function iommuMapNosyncN(ctx: EngineCtx, domain: IommuDomain, iova: bigint, iovaN: number, paddr: bigint, paddrN: number, size: bigint, sizeN: number, prot: number): number {
  const ops = domain.ops;
  if (!ops) return -EINVAL;
  const r = hasNumberOps(ops) ? iommuMapPagesQuietN(ops, iova, iovaN, paddr, paddrN, size, sizeN, prot) : iommuMapPagesQuiet(ops, iova, paddr, size, prot);
  return mapNosyncDone(ctx, domain, r, iovaN, iova, paddr, size, sizeN, prot);
}

/** What iommu_map_nosync does once the page table is written: report the error, or record the range and the event; iovaN and sizeN are iova and size as numbers, or -1. */
function mapNosyncDone(ctx: EngineCtx, domain: IommuDomain, r: IommuMapResult, iovaN: number, iova: bigint, paddr: bigint, size: bigint, sizeN: number, prot: number): number {
  if (r.message) {
    ctx.trace.printk(`iommu: ${r.message}`);
    ctx.trace.check('iommu-unaligned', 'error', `iommu: ${r.message}`);
  }
  if (r.ret === 0) {
    if (iovaN >= 0) domain.mapped.addN(iovaN, iova, paddr, size, prot, ctx.trace.line);
    else domain.mapped.add(iova, paddr, size, prot, ctx.trace.line);
    if (ctx.trace.keeps()) ctx.trace.pointAt(MAP_POINT, iova, paddr, sizeN >= 0 ? sizeN : numberOf(size));
  }
  return r.ret;
}

/** iommu_map = iommu_map_nosync + iommu_sync_map. */
export function iommuMap(ctx: EngineCtx, domain: IommuDomain, iova: bigint, paddr: bigint, size: bigint, prot: number): number {
  return iommuMapN(ctx, domain, iova, -1, paddr, -1, size, -1, prot);
}

/**
 * iommu_map with the addresses and size also as numbers (integers below
 * 2^53, as dma-iommu has them; iovaN -1 when not), so the page table makes
 * no BigInt; the bigints are what the trace and the record show.
 */
export function iommuMapN(ctx: EngineCtx, domain: IommuDomain, iova: bigint, iovaN: number, paddr: bigint, paddrN: number, size: bigint, sizeN: number, prot: number): number {
  const trace = ctx.trace;
  if (trace.keeps()) trace.enterAt(MAP_SITE, domain.label, iova, paddr, sizeN >= 0 ? sizeN : numberOf(size), prot);
  else trace.enterUnkept();
  let ret: number;
  try {
    ret = iovaN < 0 ? iommuMapNosync(ctx, domain, iova, paddr, size, prot) : iommuMapNosyncN(ctx, domain, iova, iovaN, paddr, paddrN, size, sizeN, prot);
    if (ret === 0) iommuSyncMap(ctx, domain, iova, size);
  } catch (e) {
    trace.unwind(e);
    throw e;
  }
  if (trace.leavesUnkept()) trace.leaveUnkept();
  else trace.leave(ret);
  return ret;
}

/** iommu_sync_map: on IOMMUs that cache non-present entries, new mappings become visible only now. */
export function iommuSyncMap(ctx: EngineCtx, domain: IommuDomain, iova: bigint, size: bigint): void {
  if (!domain.iommu.traits.needsSyncMap) return;
  ctx.trace.pointAt(SYNC_MAP_POINT, domain.label, iova, numberOf(size));
  for (const unit of domain.iommus()) unit.iotlb.invalidateRange(domain.id, iova, size);
}

/** iommu_unmap_fast: clear the page table; the caller decides when the IOTLB is synced. */
export function iommuUnmapFast(ctx: EngineCtx, domain: IommuDomain, iova: bigint, size: bigint): bigint {
  return iommuUnmapFastN(ctx, domain, iova, -1, size, -1);
}

/** iommu_unmap_fast with the IOVA and size also as numbers (integers below 2^53; iovaN -1 when not), as iommuMapN. */
export function iommuUnmapFastN(ctx: EngineCtx, domain: IommuDomain, iova: bigint, iovaN: number, size: bigint, sizeN: number): bigint {
  const ops = domain.ops;
  if (!ops) return 0n;
  const r = iovaN >= 0 && hasNumberOps(ops) ? iommuUnmapPagesQuietN(ops, iova, iovaN, size, sizeN) : iommuUnmapPagesQuiet(ops, iova, size);
  if (iovaN >= 0) domain.mapped.removeN(iovaN, iova, r.unmapped);
  else domain.mapped.remove(iova, r.unmapped);
  if (r.message) ctx.trace.printk(`iommu: ${r.message}`);
  const unmapped = r.unmapped;
  if (ctx.trace.keeps()) {
    const sizeNumber = sizeN >= 0 ? sizeN : numberOf(size);
    ctx.trace.pointAt(UNMAP_POINT, iova, sizeNumber, unmapped === size ? sizeNumber : numberOf(unmapped));
  }
  return unmapped;
}

/** iommu_iotlb_sync for a range: drop the IOTLB entries that translate it. */
export function iommuIotlbSync(ctx: EngineCtx, domain: IommuDomain, iova: bigint, size: bigint): void {
  // Every unit the domain is attached through gets the invalidation (VT-d cache tags per IOMMU).
  if (domain.units.size === 0) {
    const n = domain.iommu.iotlb.invalidateRange(domain.id, iova, size);
    if (ctx.trace.keeps()) ctx.trace.pointAt(IOTLB_INV_POINT, domain.label, iova, numberOf(size), n);
    return;
  }
  for (const unit of domain.iommus()) {
    const n = unit.iotlb.invalidateRange(domain.id, iova, size);
    ctx.trace.pointAt(IOTLB_INV_UNIT_POINT, domain.label, iova, numberOf(size), n, unit.name);
  }
}

/** iommu_unmap = iommu_unmap_fast + iommu_iotlb_sync. */
export function iommuUnmap(ctx: EngineCtx, domain: IommuDomain, iova: bigint, size: bigint): bigint {
  return ctx.trace.call('iommu_unmap', { domain: domain.label, iova: iova, size: Number(size) }, () => {
    const unmapped = iommuUnmapFast(ctx, domain, iova, size);
    iommuIotlbSync(ctx, domain, iova, size);
    return unmapped;
  });
}

export function iommuIovaToPhys(domain: IommuDomain, iova: bigint): bigint {
  if (domain.type === 'identity') return iova;
  if (!domain.ops) return 0n;
  return domain.ops.iovaToPhys(iova);
}

/** iommu_iova_to_phys with a number IOVA (an integer below 2^53): 0 when unmapped. */
export function iommuIovaToPhysN(domain: IommuDomain, iovaN: number): number {
  if (domain.type === 'identity') return iovaN;
  const ops = domain.ops;
  if (!ops) return 0;
  return hasNumberOps(ops) ? ops.iovaToPhysNum(iovaN) : Number(ops.iovaToPhys(BigInt(iovaN)));
}

/** iommu_flush_iotlb_all. */
export function iommuFlushIotlbAll(ctx: EngineCtx, domain: IommuDomain): void {
  for (const unit of domain.iommus()) {
    const n = unit.iotlb.invalidateDomain(domain.id);
    ctx.trace.emit('engine:iotlb_flush_all', { domain: domain.label, entries: n, ...(domain.units.size > 0 ? { iommu: unit.name } : {}) });
  }
}
