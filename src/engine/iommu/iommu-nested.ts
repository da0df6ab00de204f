// IOMMU_DOMAIN_NESTED: a guest's stage 1 (IOVA -> IPA) over a host stage-2
// nest parent (IPA -> PA), as iommufd builds it (IOMMU_HWPT_ALLOC with a
// NEST_PARENT hwpt, then the driver's domain_alloc_nested). The stage-1
// tables live in guest memory: every table page has an IPA, its contents sit
// in the host page backing that IPA, and the hardware reads each stage-1
// descriptor through stage 2. iommu_map/iommu_unmap on the nested domain
// stand for the guest editing its own tables (no kernel call does that).
//
// Who maps the guest's table pages in stage 2: a VMM maps all guest RAM into
// the nest parent before the guest runs. The emulator does that on the
// guest's behalf, one table page at a time, when the guest allocates it: the
// page gets an IPA from the top of the IPA space downwards (away from the
// low IPAs scenarios map data at) and an iommu_map on the parent. A scenario
// that later unmaps such an IPA from the parent makes the walk take a
// stage-2 fault on the stage-1 descriptor fetch, as the hardware would.

import type { EngineCtx } from '../context';
import type { Device } from '../device';
import { EINVAL, ENOMEM, EOPNOTSUPP, KernelError } from '../errno';
import { allocIoPgtableOps, type IoPgtableFmt } from '../io-pgtable/formats';
import { IOMMU_CACHE, IOMMU_READ, IOMMU_WRITE, type TableAllocator, type TableMemory, type WalkFaultReason, type WalkResult, type WalkStep } from '../io-pgtable/types';
import { hex } from '../u64';
import { iommuMap, iommuUnmap } from './iommu-core';
import { IommuDomain } from './iommu-domain';
import { DomainPgtableHooks } from './pgtable-warn';

/**
 * Guest RAM holding a nested domain's stage-1 tables: IPA pages and the host
 * pages behind them. Reads and writes are the guest CPU's (through its own
 * memory, not through the SMMU), so they work whatever the parent maps.
 */
export class GuestTableMemory implements TableMemory, TableAllocator {
  /** IPA page -> host page (PAGE_SIZE granularity). */
  readonly backing = new Map<bigint, bigint>();
  /** Table allocations: IPA -> { host address, bytes mapped in stage 2 }. */
  readonly tables = new Map<bigint, { host: bigint; size: bigint }>();
  /** IPAs handed back by the guest, reused first (lowest index first: deterministic). */
  readonly freeIpas: { ipa: bigint; size: bigint }[] = [];
  /** Next IPA (exclusive) of the top-down guest table window. */
  private top: bigint;
  /** The window's floor: table pages never go below the upper half of the IPA space. */
  private readonly floor: bigint;

  constructor(private readonly ctx: EngineCtx, readonly parent: IommuDomain, ipaBits: number) {
    this.top = 1n << BigInt(ipaBits);
    this.floor = 1n << BigInt(ipaBits - 1);
  }

  private get pageSize(): bigint {
    return this.ctx.platform.pageSize;
  }

  private hostOf(ipa: bigint): bigint | undefined {
    const page = this.backing.get(ipa & ~(this.pageSize - 1n));
    return page === undefined ? undefined : page + (ipa & (this.pageSize - 1n));
  }

  readU64(ipa: bigint): bigint {
    const pa = this.hostOf(ipa);
    return pa === undefined ? 0n : this.ctx.mem.readU64(pa);
  }

  writeU64(ipa: bigint, value: bigint): void {
    const pa = this.hostOf(ipa);
    if (pa === undefined) {
      this.ctx.trace.printk(`WARNING: nested: guest write to IPA ${hex(ipa)}, which is not guest RAM`);
      return;
    }
    this.ctx.mem.writeU64(pa, value);
  }

  /** Table pages are whole pages of the larger of PAGE_SIZE and the stage-2 granule, size-aligned. */
  private pageBytes(bytes: number): bigint {
    let size = this.pageSize > this.parent.minPagesz ? this.pageSize : this.parent.minPagesz;
    while (size < BigInt(bytes)) size *= 2n;
    return size;
  }

  /** Whether the parent maps nothing in [ipa, ipa + size) yet (scenario data IPAs stay untouched). */
  private unmappedInParent(ipa: bigint, size: bigint): boolean {
    const ops = this.parent.ops;
    if (!ops) return false;
    for (let a = ipa; a < ipa + size; a += this.parent.minPagesz) if (ops.iovaToPhys(a) !== 0n) return false;
    return true;
  }

  private allocIpa(size: bigint): bigint | null {
    const i = this.freeIpas.findIndex((f) => f.size === size);
    if (i >= 0) return this.freeIpas.splice(i, 1)[0].ipa;
    for (;;) {
      const ipa = (this.top - size) & ~(size - 1n);
      if (ipa < this.floor) return null;
      this.top = ipa;
      if (this.unmappedInParent(ipa, size)) return ipa;
    }
  }

  /** The guest allocates a zeroed table page; the VMM backs it with host memory and maps it in stage 2. */
  allocTable(bytes: number): bigint {
    const size = this.pageBytes(bytes);
    const ipa = this.allocIpa(size);
    if (ipa === null) throw new KernelError(ENOMEM, 'nested: the guest table window is exhausted');
    const host = this.ctx.tables.allocTable(Number(size));
    const ret = iommuMap(this.ctx, this.parent, ipa, host, size, IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE);
    if (ret !== 0) {
      this.ctx.tables.freeTable(host, Number(size));
      this.freeIpas.push({ ipa, size });
      throw new KernelError(ENOMEM, `nested: stage 2 cannot map the guest table page at IPA ${hex(ipa)} (${ret})`);
    }
    for (let off = 0n; off < size; off += this.pageSize) this.backing.set(ipa + off, host + off);
    this.tables.set(ipa, { host, size });
    this.ctx.trace.emit('engine:nested_table_page', { domain: this.parent.label, ipa: hex(ipa), phys: hex(host), size: Number(size) });
    return ipa;
  }

  /** The guest frees a table page: the VMM unmaps it from stage 2 (which also drops the nested IOTLB entries) and frees it. */
  freeTable(ipa: bigint): void {
    const t = this.tables.get(ipa);
    if (!t) return;
    this.tables.delete(ipa);
    iommuUnmap(this.ctx, this.parent, ipa, t.size);
    for (let off = 0n; off < t.size; off += this.pageSize) this.backing.delete(ipa + off);
    this.ctx.tables.freeTable(t.host, Number(t.size));
    this.freeIpas.push({ ipa, size: t.size });
  }
}

/** Widest address a stage-1 table descriptor holds (bits 51:12 on VT-d first stage and Arm LPAE). */
const STAGE1_TABLE_ADDR_BITS = 52;

/** The stage-1 format a driver's domain_alloc_nested builds over its own nest parent. */
function stage1Format(parent: IommuDomain): IoPgtableFmt | null {
  switch (parent.iommu.cfg.kind) {
    case 'arm-smmu-v3':
      return 'arm-lpae-s1'; // IOMMU_HWPT_DATA_ARM_SMMUV3: the guest's CD points at LPAE stage-1 tables
    case 'intel-vtd':
      return 'vtd-first'; // IOMMU_HWPT_DATA_VTD_S1: PGTT=nested, guest first-stage tables
    default:
      return null; // AMD guest tables (IOMMU_HWPT_DATA_AMD_GUEST) are not modelled
  }
}

/**
 * iommufd's nested hwpt allocation. `ias` defaults to the IOMMU's stage-1
 * input size (the VT-d address width), `granule` to the IOMMU's; stage 1
 * outputs IPAs as wide as the parent's input. Returns the domain or -errno.
 */
export function iommuNestedDomainAlloc(ctx: EngineCtx, parent: IommuDomain, dev: Device, label: string, ias?: number, granule?: bigint): IommuDomain | number {
  return ctx.trace.call('iommu_nested_domain_alloc', { parent: parent.label, device: dev.busId, ...(ias !== undefined ? { ias } : {}), ...(granule !== undefined ? { granule: hex(granule) } : {}) }, () => {
    // iommufd: the parent must be a NEST_PARENT paging hwpt of the IOMMU the device sits behind.
    if (!parent.nestParent || !parent.ops) return -EINVAL;
    if (!dev.path.some((p) => p.iommu === parent.iommu)) return -EINVAL;
    const fmt = stage1Format(parent);
    if (!fmt) return -EOPNOTSUPP;
    const iommu = parent.iommu;
    const s1Ias = ias ?? (iommu.cfg.kind === 'intel-vtd' ? iommu.cfg.aw ?? 48 : iommu.ias);
    const s1Granule = granule ?? iommu.granule;
    const ipaBits = parent.ops.cfg.ias;
    const domain = new IommuDomain(ctx.nextId(), 'nested', iommu, label, ctx.trace.line);
    domain.parent = parent;
    // Guest table pages sit where a stage-1 table descriptor can point: below 2^52 (x86 first-stage and LPAE addresses).
    const guest = new GuestTableMemory(ctx, parent, Math.min(ipaBits, STAGE1_TABLE_ADDR_BITS));
    try {
      domain.ops = allocIoPgtableOps(fmt, { granule: s1Granule, ias: s1Ias, oas: ipaBits, pageSize: ctx.platform.pageSize }, new DomainPgtableHooks(guest, guest, ctx.trace));
    } catch (e) {
      if (e instanceof KernelError) return e.errno === ENOMEM ? -ENOMEM : -EINVAL;
      throw e;
    }
    domain.fmt = fmt;
    domain.pgsizeBitmap = domain.ops.cfg.pgsizeBitmap;
    domain.apertureEnd = (1n << BigInt(domain.ops.cfg.ias)) - 1n;
    ctx.trace.emit('engine:domain_alloc', { domain: label, type: 'nested', format: fmt, parent: parent.label, ias: domain.ops.cfg.ias, ipa_bits: ipaBits });
    return domain;
  });
}

/** Where a 2-stage walk stopped. */
export interface NestedFault {
  stage: 1 | 2;
  level: number;
  reason: WalkFaultReason;
  /** Stage-2 faults: the IPA stage 2 could not translate. */
  ipa?: bigint;
  /** Set when stage 2 failed on a stage-1 descriptor fetch: the stage-1 level being fetched. */
  s1Level?: number;
}

/** A 2-stage walk: stage-1 steps (each with its stage-2 fetch in `nested`), then the final IPA's stage-2 steps. */
export interface NestedWalk {
  steps: WalkStep[];
  accesses: number;
  phys?: bigint;
  ipa?: bigint;
  /** What each stage's leaf grants, with its level (the stage that refuses an access is named in the fault). */
  s1?: { read: boolean; write: boolean; level: number; pageSize: bigint };
  s2?: { read: boolean; write: boolean; level: number; pageSize: bigint };
  fault?: NestedFault;
}

function asStage2(w: WalkResult): WalkResult {
  return { ...w, steps: w.steps.map((s) => ({ ...s, stage: 2 })) };
}

/**
 * The hardware's 2-stage walk: each stage-1 descriptor address is an IPA that
 * stage 2 translates (m reads) before the descriptor is read (1), and the
 * final IPA costs another m: (n+1)(m+1)-1 accesses. No IOTLB here.
 */
export function iommuNestedWalk(ctx: EngineCtx, domain: IommuDomain, iova: bigint): NestedWalk {
  const parent = domain.parent;
  const s1ops = domain.ops;
  if (!parent?.ops || !s1ops) return { steps: [], accesses: 0, fault: { stage: parent?.ops ? 1 : 2, level: 0, reason: 'translation' } };
  const s2ops = parent.ops;
  let failed = undefined as NestedFault | undefined;
  // A closure per walk, not kept: it reads each stage-1 descriptor the way the SMMU does.
  const s1 = s1ops.walk(iova, (descAddr, level) => {
    const s2 = s2ops.walk(descAddr);
    if (s2.phys === undefined) {
      failed = { stage: 2, level: s2.fault?.level ?? 0, reason: s2.fault?.reason ?? 'translation', ipa: descAddr, s1Level: level };
      return { fault: s2 };
    }
    if (!s2.read) {
      failed = { stage: 2, level: s2.leafLevel ?? 0, reason: 'permission', ipa: descAddr, s1Level: level };
      return { fault: { ...s2, fault: { level: s2.leafLevel ?? 0, reason: 'permission', stage: 2 } } };
    }
    return { value: ctx.mem.readU64(s2.phys), nested: asStage2(s2) };
  });
  const out: NestedWalk = { steps: s1.steps.map((s) => ({ ...s, stage: 1 })), accesses: s1.accesses };
  if (s1.phys === undefined) {
    out.fault = failed ?? { stage: 1, level: s1.fault?.level ?? 0, reason: s1.fault?.reason ?? 'translation' };
    return out;
  }
  out.ipa = s1.phys;
  out.s1 = { read: s1.read ?? true, write: s1.write ?? true, level: s1.leafLevel ?? 0, pageSize: s1.pageSize ?? 0n };
  const s2 = asStage2(s2ops.walk(s1.phys));
  out.steps.push(...s2.steps);
  out.accesses += s2.accesses;
  if (s2.phys === undefined) {
    out.fault = { stage: 2, level: s2.fault?.level ?? 0, reason: s2.fault?.reason ?? 'translation', ipa: s1.phys };
    return out;
  }
  out.s2 = { read: s2.read ?? true, write: s2.write ?? true, level: s2.leafLevel ?? 0, pageSize: s2.pageSize ?? 0n };
  out.phys = s2.phys;
  return out;
}

/** Software lookup through both stages (the guest's tables, then the parent's): 0 when either misses. */
export function iommuNestedIovaToPhys(domain: IommuDomain, iova: bigint): bigint {
  const ipa = domain.ops?.iovaToPhys(iova) ?? 0n;
  if (ipa === 0n || !domain.parent?.ops) return 0n;
  return domain.parent.ops.iovaToPhys(ipa);
}

/** Kernel-log wording of a 2-stage fault: which stage, which level, and for stage 2 which IPA. */
export function nestedFaultText(f: NestedFault): string {
  const what = f.reason === 'address-size' ? 'address size fault' : f.reason === 'permission' ? 'permission fault' : f.reason === 'access' ? 'access flag fault' : 'translation fault';
  const where = `stage-${f.stage} ${what} at level ${f.level}`;
  if (f.stage === 2 && f.s1Level !== undefined) {
    const why = f.reason === 'permission' ? 'stage 2 maps the guest\'s table page without read access' : 'the guest\'s table page is not mapped by stage 2';
    return `${where} on IPA ${hex(f.ipa ?? 0n)}, fetching the stage-1 level-${f.s1Level} descriptor (${why})`;
  }
  if (f.stage === 2) return `${where} on IPA ${hex(f.ipa ?? 0n)}`;
  return where;
}
