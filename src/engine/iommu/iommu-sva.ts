// Shared Virtual Addressing (drivers/iommu/iommu-sva.c): a process address
// space (struct mm_struct) with its own CPU page table in emulated memory,
// bound to devices through one PASID from the global allocator and an
// IOMMU_DOMAIN_SVA domain per IOMMU that walks that page table. PTEs are
// filled the way a process's are, on first touch: a device's first access
// to a page takes a recoverable IO page fault that handle_mm_fault resolves
// (io-pgfault.ts), then the access is retried.

import type { EngineCtx } from '../context';
import type { Device } from '../device';
import { EBUSY, EINVAL, ENODEV, ENOENT, ENOSPC, EOPNOTSUPP, KernelError, EOVERFLOW } from '../errno';
import { allocIoPgtableOps, defaultPgsizeBitmap } from '../io-pgtable/formats';
import { IOMMU_READ, IOMMU_WRITE, type IoPgtableOps, type WalkStep } from '../io-pgtable/types';
import type { AccessKind } from '../trace/recorder';
import type { TranslationEffects } from '../translation-effects';
import { hex } from '../u64';
import { iommuPageRequest } from './io-pgfault';
import { IommuDomain } from './iommu-domain';
import type { Iommu } from './iommu-instance';
import { devMaxPasids, deviceIopfCapable, intelIommuSvaSupported, iommuAttachDevicePasid, iommuAttachHandleGet, iommuDetachDevicePasid, setDevPasidOp, type IommuCtx } from './iommu-pasid';
import { DomainPgtableHooks } from './pgtable-warn';

/** PASIDs handed out for SVA start at 1: 0 is IOMMU_NO_PASID. */
export const IOMMU_FIRST_GLOBAL_PASID = 1;

/** One mapping of the process: [start, end) -> phys, as `map VA -> target size N perm` declares it. */
export interface MmVma {
  start: bigint;
  end: bigint;
  phys: bigint;
  read: boolean;
  write: boolean;
}

/** The CPU page-table format an IOMMU walks for SVA: x86-64 paging on VT-d and AMD-Vi, the arm64 stage-1 format on SMMUv3. */
export type CpuPgtableFormat = 'vtd-first' | 'arm-lpae-s1';

const SZ_4K = 0x1000n;
/** User virtual addresses stay below 2^48 (x86-64 4-level paging: 2^47; arm64 VA_BITS 48). */
const USER_VA_END = 1n << 48n;

/** struct mm_struct, with what SVA uses of it: VMAs, pgd and mm->iommu_mm. */
export class MmStruct {
  /** mm->iommu_mm->pasid; 0 until the first bind (no iommu_mm yet). */
  pasid = 0;
  /** mm->pgd: the CPU page table, built at the first bind in the CPU's format. */
  pgd: IoPgtableOps | null = null;
  pgdFormat: CpuPgtableFormat | null = null;
  /** The CPU page size of that table: the unit handle_mm_fault populates. */
  pgdPageSize = 0n;
  /** iommu_mm->sva_domains: one SVA domain per IOMMU the mm is bound through. */
  readonly svaDomains: SvaDomain[] = [];
  /** Pages handle_mm_fault has populated so far. */
  ptesPopulated = 0;

  constructor(readonly id: number, readonly name: string, readonly vmas: readonly MmVma[], readonly line: number) {}

  /** vma_lookup(): the VMA that covers addr. */
  vmaLookup(addr: bigint): MmVma | undefined {
    return this.vmas.find((v) => addr >= v.start && addr < v.end);
  }

  /** The core of handle_mm_fault for these pinned-target VMAs: install the PTE of the page holding addr. 0 or -errno. */
  populatePte(ctx: EngineCtx, addr: bigint, vma: MmVma): number {
    const pgd = this.pgd;
    if (!pgd) return -EINVAL;
    const page = addr & ~(this.pgdPageSize - 1n);
    if (pgd.iovaToPhys(page) !== 0n) return 0; // already present: a spurious fault
    const phys = vma.phys + (page - vma.start);
    const prot = (vma.read ? IOMMU_READ : 0) | (vma.write ? IOMMU_WRITE : 0);
    const r = pgd.mapPages(page, phys, this.pgdPageSize, 1, prot);
    if (r.ret !== 0) return r.ret;
    this.ptesPopulated++;
    ctx.trace.emit('engine:set_pte', { mm: this.name, va: hex(page), phys: hex(phys), size: Number(this.pgdPageSize), write: vma.write });
    return 0;
  }
}

/** An IOMMU_DOMAIN_SVA domain: no page table of its own, domain->mm's instead. */
export class SvaDomain extends IommuDomain {
  /** domain->users: the binds sharing this domain. */
  bonds = 0;

  constructor(id: number, iommu: Iommu, readonly mm: MmStruct, label: string, line: number) {
    super(id, 'sva', iommu, label, line);
  }
}

/** struct iommu_sva: the refcounted bond of one device to one mm; it is the PASID slot's attach handle. */
export class IommuSva {
  readonly kind = 'sva' as const;
  /** refcount of iommu_sva_bind_device() calls not yet unbound. */
  users = 1;

  constructor(readonly id: number, readonly dev: Device, readonly domain: SvaDomain) {}
}

/** What the kernel keeps globally for SVA: iommu_global_pasid_ida and the mms. */
export class SvaGlobals {
  readonly mms: MmStruct[] = [];
  /** IDs taken from iommu_global_pasid_ida. */
  readonly pasidIda = new Set<number>();
}

interface SvaHost {
  iommuSva?: SvaGlobals;
}

/** The SVA globals, kept on the machine object itself so its snapshots clone them with the rest of the state. */
export function svaGlobals(ctx: EngineCtx): SvaGlobals {
  const host: EngineCtx & SvaHost = ctx;
  if (!host.iommuSva) host.iommuSva = new SvaGlobals();
  return host.iommuSva;
}

/** Declare a process address space (the scenario's `mm NAME { map ... }`); throws KernelError on a malformed map. */
export function mmAlloc(ctx: EngineCtx, name: string, maps: readonly MmVma[], line: number): MmStruct {
  const page = ctx.platform.pageSize;
  const vmas: MmVma[] = [];
  for (const v of maps) {
    const what = `mm ${name}: map ${hex(v.start)} -> ${hex(v.phys)} size ${hex(v.end - v.start)}`;
    if (v.end <= v.start) throw new KernelError(EINVAL, `${what}: the size must be positive`);
    if ((v.start | v.end | v.phys) & (page - 1n)) throw new KernelError(EINVAL, `${what}: address, target and size must be multiples of PAGE_SIZE (${hex(page)})`);
    if (v.end > USER_VA_END) throw new KernelError(EINVAL, `${what}: beyond the user address space (${hex(USER_VA_END)})`);
    if (!ctx.mem.isRam(v.phys, v.end - v.start)) throw new KernelError(EINVAL, `${what}: the target is not RAM`);
    const clash = vmas.find((o) => v.start < o.end && o.start < v.end);
    if (clash) throw new KernelError(EINVAL, `${what}: overlaps the map at ${hex(clash.start)}`);
    vmas.push({ ...v });
  }
  vmas.sort((a, b) => (a.start < b.start ? -1 : 1));
  const mm = new MmStruct(ctx.nextId(), name, vmas, line);
  svaGlobals(ctx).mms.push(mm);
  ctx.trace.emit('engine:mm_alloc', { mm: name, vmas: vmas.length });
  return mm;
}

/** The CPU page-table format of the architecture this IOMMU lives on; null when the driver has no SVA. */
export function cpuPgtableFormat(iommu: Iommu): CpuPgtableFormat | null {
  switch (iommu.cfg.kind) {
    case 'intel-vtd':
    case 'amd-vi':
      return 'vtd-first';
    case 'arm-smmu-v3':
      return 'arm-lpae-s1';
    default:
      return null;
  }
}

/** mm->pgd in `fmt`, built the first time: x86-64 4-level paging (4K pages) or arm64 stage 1 with PAGE_SIZE granule and 48-bit VAs. */
function mmPgd(ctx: EngineCtx, mm: MmStruct, fmt: CpuPgtableFormat): number {
  if (mm.pgd) return mm.pgdFormat === fmt ? 0 : -EINVAL; // one CPU, one page-table format
  const pageSize = fmt === 'vtd-first' ? SZ_4K : ctx.platform.pageSize;
  try {
    mm.pgd = allocIoPgtableOps(
      fmt,
      { granule: pageSize, ias: 48, oas: 48, pgsizeBitmap: defaultPgsizeBitmap(fmt, pageSize), pageSize: ctx.platform.pageSize },
      new DomainPgtableHooks(ctx.mem, ctx.tables, ctx.trace),
    );
  } catch (e) {
    if (e instanceof KernelError) return -e.errno;
    throw e;
  }
  mm.pgdFormat = fmt;
  mm.pgdPageSize = pageSize;
  ctx.trace.emit('engine:mm_pgd', { mm: mm.name, format: fmt, pgd: hex(mm.pgd.root) });
  return 0;
}

/** iommu_alloc_global_pasid(): the lowest free ID in [IOMMU_FIRST_GLOBAL_PASID, max_pasids - 1], or null. */
export function iommuAllocGlobalPasid(ctx: EngineCtx, dev: Device): number | null {
  const max = devMaxPasids(dev);
  if (max === 0) return null; // the device does not support PASID
  const ida = svaGlobals(ctx).pasidIda;
  for (let id = IOMMU_FIRST_GLOBAL_PASID; id < max; id++) {
    if (ida.has(id)) continue;
    ida.add(id);
    ctx.trace.emit('engine:pasid_alloc', { pasid: id, device: dev.busId });
    return id;
  }
  return null;
}

/** iommu_free_global_pasid(). */
export function iommuFreeGlobalPasid(ctx: EngineCtx, pasid: number): void {
  if (!svaGlobals(ctx).pasidIda.delete(pasid)) ctx.trace.printk(`WARNING: iommu_free_global_pasid: PASID ${pasid} was not allocated`);
  else ctx.trace.emit('engine:pasid_free', { pasid });
}

/** iommu_alloc_mm_data(): the mm keeps one PASID for every device it is bound to. 0 or -errno. */
function iommuAllocMmData(ctx: EngineCtx, mm: MmStruct, dev: Device): number {
  return ctx.trace.call('iommu_alloc_mm_data', { mm: mm.name, device: dev.busId }, () => {
    if (mm.pasid !== 0) return mm.pasid >= devMaxPasids(dev) ? -EOVERFLOW : 0;
    const pasid = iommuAllocGlobalPasid(ctx, dev);
    if (pasid === null) return -ENOSPC;
    mm.pasid = pasid;
    return 0;
  });
}

/** iommu_sva_domain_alloc(): ops->domain_alloc_sva, with the driver's own checks. */
function iommuSvaDomainAlloc(ctx: EngineCtx, dev: Device, mm: MmStruct): SvaDomain | number {
  const iommu = dev.path[0].iommu;
  const fmt = cpuPgtableFormat(iommu);
  if (!fmt || !setDevPasidOp(iommu, 'sva')) return -EOPNOTSUPP; // no domain_alloc_sva
  const driverAlloc = iommu.cfg.kind === 'intel-vtd' ? 'intel_svm_domain_alloc' : iommu.cfg.kind === 'amd-vi' ? 'amd_iommu_domain_alloc_sva' : 'arm_smmu_sva_domain_alloc';
  return ctx.trace.call('iommu_sva_domain_alloc', { device: dev.busId, mm: mm.name }, () => ctx.trace.call(driverAlloc, { device: dev.busId }, () => {
    if (iommu.cfg.kind === 'intel-vtd') {
      const ret = intelIommuSvaSupported(dev);
      if (ret) return ret;
    }
    const ret = mmPgd(ctx, mm, fmt);
    if (ret) return ret;
    const d = new SvaDomain(ctx.nextId(), iommu, mm, `SVA domain of ${mm.name} on ${iommu.name}`, ctx.trace.line);
    ctx.trace.emit('engine:domain_alloc', { domain: d.label, type: 'sva', format: fmt, pgd: hex(mm.pgd?.root ?? 0n) });
    return d;
  }));
}

function iommuDomainFree(ctx: EngineCtx, domain: SvaDomain): void {
  ctx.trace.call('iommu_domain_free', { domain: domain.label }, () => {
    const n = domain.iommu.iotlb.invalidateDomain(domain.id);
    ctx.trace.emit('engine:iotlb_flush_all', { domain: domain.label, entries: n });
  });
}

/**
 * iommu_sva_bind_device(dev, mm): the mm's PASID (allocated on its first
 * bind), then the existing bond with a reference more, or a new handle with
 * one of the mm's SVA domains (or a new one) attached to the PASID.
 */
export function iommuSvaBindDevice(ctx: IommuCtx, dev: Device, mm: MmStruct): IommuSva | number {
  return ctx.trace.call('iommu_sva_bind_device', { device: dev.busId, mm: mm.name }, () => {
    const group = dev.path[0]?.group;
    if (!group) return -ENODEV;
    const ret = iommuAllocMmData(ctx, mm, dev);
    if (ret) return ret;
    const pasid = mm.pasid;
    const existing = iommuAttachHandleGet(group, pasid, 'sva');
    if (typeof existing !== 'number') {
      if (!(existing.handle instanceof IommuSva) || existing.handle.domain.mm !== mm) return -EBUSY;
      existing.handle.users++;
      ctx.trace.emit('engine:sva_bond_get', { device: dev.busId, pasid, users: existing.handle.users });
      return existing.handle;
    }
    if (existing !== -ENOENT) return existing;
    for (const d of mm.svaDomains) {
      const handle = new IommuSva(ctx.nextId(), dev, d);
      if (iommuAttachDevicePasid(ctx, d, dev, pasid, handle) === 0) {
        d.bonds++;
        return handle;
      }
    }
    const domain = iommuSvaDomainAlloc(ctx, dev, mm);
    if (typeof domain === 'number') return domain;
    const handle = new IommuSva(ctx.nextId(), dev, domain);
    const aret = iommuAttachDevicePasid(ctx, domain, dev, pasid, handle);
    if (aret) {
      iommuDomainFree(ctx, domain);
      return aret;
    }
    domain.bonds = 1;
    mm.svaDomains.unshift(domain); // list_add: newest first
    return handle;
  });
}

/**
 * iommu_sva_unbind_device(handle): drop a reference; the last one detaches
 * the PASID (blocked from then on) and frees the SVA domain when no other
 * device uses it. The mm keeps its PASID until it exits (mm_pasid_drop).
 */
export function iommuSvaUnbindDevice(ctx: IommuCtx, handle: IommuSva): void {
  const mm = handle.domain.mm;
  ctx.trace.call('iommu_sva_unbind_device', { device: handle.dev.busId, pasid: mm.pasid }, () => {
    if (handle.users <= 0) {
      ctx.trace.check('sva-unbind-freed', 'error', `iommu_sva_unbind_device() on the bond of ${handle.dev.busId} to ${mm.name} whose last reference is already gone: the handle was freed (use after free)`);
      return;
    }
    if (--handle.users > 0) {
      ctx.trace.emit('engine:sva_bond_put', { device: handle.dev.busId, pasid: mm.pasid, users: handle.users });
      return;
    }
    const domain = handle.domain;
    iommuDetachDevicePasid(ctx, domain, handle.dev, mm.pasid);
    if (--domain.bonds === 0) {
      mm.svaDomains.splice(mm.svaDomains.indexOf(domain), 1);
      iommuDomainFree(ctx, domain);
    }
  });
}

/** mm_pasid_drop(): at mm exit the PASID goes back to the global allocator. */
export function mmPasidDrop(ctx: EngineCtx, mm: MmStruct): void {
  ctx.trace.call('mm_pasid_drop', { mm: mm.name, pasid: mm.pasid }, () => {
    if (mm.pasid === 0) return;
    iommuFreeGlobalPasid(ctx, mm.pasid);
    mm.pasid = 0;
  });
}

// --- the device side --------------------------------------------------------------

/** One SVA translation, in the shape translateDma merges into its own. */
export interface SvaTranslation {
  phys?: bigint;
  fault?: string;
  iotlbHit: boolean;
  accesses: number;
  steps: WalkStep[];
}

type Lookup = { phys: bigint } | { fault: string };

/** IOTLB, then a walk of mm->pgd, then the permission check: what the IOMMU does before it gives up. */
function svaLookup(domain: SvaDomain, addr: bigint, pasid: number, access: AccessKind | null, effects: TranslationEffects, t: SvaTranslation): Lookup {
  const iommu = domain.iommu;
  const iotlb = iommu.iotlb;
  const hit = effects.iotlbLookup(iotlb, domain.id, pasid, addr);
  let phys: bigint;
  let read: boolean;
  let write: boolean;
  if (hit) {
    t.iotlbHit = true;
    effects.iotlbHit(iotlb);
    phys = hit.phys + (addr & (iotlb.granule - 1n));
    read = hit.read;
    write = hit.write;
  } else {
    effects.iotlbMiss(iotlb);
    const pgd = domain.mm.pgd;
    if (!pgd) return { fault: `${iommu.name}: ${domain.mm.name} has no page table` };
    const w = pgd.walk(addr);
    t.accesses += w.accesses;
    t.steps.push(...w.steps);
    if (w.phys === undefined) {
      const why = w.fault?.reason === 'address-size' ? 'outside the user address space' : `no present PTE (level ${w.fault?.level ?? 0})`;
      return { fault: `${iommu.name}: ${domain.mm.name} has ${why} for ${hex(addr)}` };
    }
    phys = w.phys;
    read = w.read ?? true;
    write = w.write ?? true;
    const g = iotlb.granule;
    effects.iotlbFill(iotlb, { domainId: domain.id, pasid, iova: addr & ~(g - 1n), phys: phys & ~(g - 1n), read, write });
  }
  if (access === 'read' && !read) return { fault: `${iommu.name}: ${domain.mm.name} maps ${hex(addr)} without read access` };
  if (access === 'write' && !write) return { fault: `${iommu.name}: ${domain.mm.name} maps ${hex(addr)} read-only` };
  return { phys };
}

/**
 * A PASID-tagged access through an SVA domain: the mm's page table decides.
 * A miss on a device that can take recoverable faults becomes a page request
 * (iommu_report_device_fault -> handle_mm_fault) and, when answered SUCCESS,
 * the access is retried; a probe (translate()) never faults anything in.
 */
export function iommuSvaTranslate(ctx: EngineCtx, dev: Device, domain: IommuDomain, addr: bigint, pasid: number | null, access: AccessKind | null, effects: TranslationEffects): SvaTranslation {
  const t: SvaTranslation = { iotlbHit: false, accesses: 0, steps: [] };
  if (!(domain instanceof SvaDomain) || pasid === null) {
    t.fault = `${domain.iommu.name}: ${domain.label} is an SVA domain without an mm`;
    return t;
  }
  const first = svaLookup(domain, addr, pasid, access, effects, t);
  if ('phys' in first) {
    t.phys = first.phys;
    return t;
  }
  const iopf = deviceIopfCapable(dev);
  if (!effects.faultsIn || access === null) {
    t.fault = `${first.fault}${iopf ? ' (the device\'s access would take a recoverable page fault)' : ''}`;
    return t;
  }
  if (!iopf) {
    t.fault = `${first.fault}, and ${dev.busId} cannot take recoverable page faults (${domain.iommu.cfg.kind === 'arm-smmu-v3' ? 'SMMUv3 recovers only stalling platform devices' : 'no PRI'})`;
    return t;
  }
  const page = addr & ~(SZ_4K - 1n);
  ctx.trace.emit('engine:page_request', { device: dev.busId, pasid, addr: hex(page), access, reason: first.fault });
  const r = iommuPageRequest(ctx, dev, { addr: page, pasid, read: access === 'read', write: access === 'write' });
  if (r.code !== 'SUCCESS') {
    t.fault = `${first.fault}; the page request was answered ${r.code}: ${r.why}`;
    return t;
  }
  ctx.trace.emit('engine:iopf_retry', { device: dev.busId, pasid, addr: hex(addr) });
  const again = svaLookup(domain, addr, pasid, access, effects, t);
  if ('phys' in again) t.phys = again.phys;
  else t.fault = `${again.fault} after a SUCCESS page response`;
  return t;
}

/** iommu_sva_get_pasid(). */
export function iommuSvaGetPasid(handle: IommuSva): number {
  return handle.domain.mm.pasid;
}
