// The walk a device access would make now, read-only, with every descriptor
// read attributed to the IOMMU, domain and page-table format that owns it and
// decoded field by field (descriptor-bits.ts). It is probeTranslation's walk
// (the IOTLB peeked, never filled) in JSON-able form: the walk panel's input.

import type { Device } from '../device';
import { staleIotlbCause, probeDma, type Translation } from '../device-access';
import type { IommuDomain } from '../iommu/iommu-domain';
import type { PgtableFormat } from '../iommu/iommu-kinds';
import { SvaDomain } from '../iommu/iommu-sva';
import type { IoPgtableOps, WalkFaultReason, WalkResult, WalkStep } from '../io-pgtable/types';
import type { Machine } from '../machine';
import { hex } from '../u64';
import { decodeDescriptor, type DescriptorBits } from './descriptor-bits';
import type { Hex } from './types';

export type WalkAccess = 'read' | 'write' | null;

export interface WalkStepInspect {
  /** 1 (or the only stage), 2 for a nest parent; on a chain, the MMU's position (1 = nearest the device). */
  stage: number;
  level: number;
  table: Hex;
  index: number;
  descAddr: Hex;
  desc: Hex;
  iommu: string | null;
  domain: string | null;
  format: PgtableFormat | null;
  bits: DescriptorBits | null;
  /** Nested stage-1 reads: the stage-2 walk of descAddr. Chains: the walk of the IOMMUs after this MMU. */
  nested: WalkSubInspect | null;
}

export interface WalkSubInspect {
  steps: WalkStepInspect[];
  accesses: number;
  phys: Hex | null;
  fault: { level: number; reason: WalkFaultReason; stage: number } | null;
}

/** One IOMMU of the device's path as the walk meets it. */
export interface WalkPathEntry {
  iommu: string;
  kind: string;
  /** The driver name the kernel's fault lines start with (DMAR, AMD-Vi, arm-smmu-v3, ...). */
  driver: string;
  domain: string | null;
  domainType: string | null;
  format: PgtableFormat | null;
  /** Table levels of the domain's page table (stage 1 for a nested domain). */
  levels: number | null;
  /** A nested domain's stage-2 parent. */
  parent: { domain: string; format: PgtableFormat | null; levels: number | null } | null;
  iotlb: { capacity: number; granule: Hex };
}

export interface WalkInspect {
  device: string;
  busId: string;
  addr: Hex;
  pasid: number | null;
  access: WalkAccess;
  path: WalkPathEntry[];
  /** More than one IOMMU in series. */
  chained: boolean;
  phys: Hex | null;
  iotlbHit: boolean;
  accesses: number;
  fault: string | null;
  faultAt: { iommu: string; stage: number; level: number; reason: WalkFaultReason } | null;
  domains: string[];
  staleIotlb: boolean;
  /** On a stale IOTLB hit, why, in the sanitizer finding's words ("after it was unmapped at line N ..."); else null. */
  staleCause: string | null;
  steps: WalkStepInspect[];
}

/** The domain an entry of the path translates with: the RID's, or the PASID's attachment (only the device's own requests carry one). */
function domainAt(dev: Device, index: number, pasid: number | null): IommuDomain | null {
  const entry = dev.path[index];
  if (!entry) return null;
  if (pasid === null || index > 0) return entry.group.domain;
  return entry.group.pasidArray.get(pasid)?.domain ?? null;
}

interface Table {
  iommu: string;
  domain: string;
  ops: IoPgtableOps | null;
  format: PgtableFormat | null;
}

function tableOf(domain: IommuDomain): Table {
  if (domain instanceof SvaDomain) return { iommu: domain.iommu.name, domain: domain.label, ops: domain.mm.pgd, format: domain.mm.pgdFormat };
  return { iommu: domain.iommu.name, domain: domain.label, ops: domain.ops, format: domain.fmt };
}

/** Which table a step with this stage number was read from (see WalkStepInspect.stage). */
function tableResolver(dev: Device, pasid: number | null): (stage: number) => Table | null {
  if (dev.path.length > 1) {
    return (stage) => {
      const d = domainAt(dev, stage - 1, pasid);
      return d ? tableOf(d) : null;
    };
  }
  const d = domainAt(dev, 0, pasid);
  return (stage) => {
    if (!d) return null;
    if (d.type === 'nested' && stage === 2) return d.parent ? tableOf(d.parent) : null;
    return tableOf(d);
  };
}

function stepView(s: WalkStep, resolve: (stage: number) => Table | null): WalkStepInspect {
  const t = resolve(s.stage);
  return {
    stage: s.stage,
    level: s.level,
    table: hex(s.table),
    index: s.index,
    descAddr: hex(s.descAddr),
    desc: hex(s.desc),
    iommu: t?.iommu ?? null,
    domain: t?.domain ?? null,
    format: t?.format ?? null,
    bits: t?.ops && t.format ? decodeDescriptor(t.format, t.ops, s.desc, s.level) : null,
    nested: s.nested ? subView(s.nested, resolve) : null,
  };
}

function subView(w: WalkResult, resolve: (stage: number) => Table | null): WalkSubInspect {
  return { steps: w.steps.map((s) => stepView(s, resolve)), accesses: w.accesses, phys: w.phys === undefined ? null : hex(w.phys), fault: w.fault ?? null };
}

function pathEntry(dev: Device, index: number, pasid: number | null): WalkPathEntry {
  const { iommu } = dev.path[index];
  const d = domainAt(dev, index, pasid);
  const t = d ? tableOf(d) : null;
  return {
    iommu: iommu.name,
    kind: iommu.cfg.kind,
    driver: iommu.traits.driver,
    domain: d?.label ?? null,
    domainType: d?.type ?? null,
    format: t?.format ?? null,
    levels: t?.ops?.levels ?? null,
    parent: d?.type === 'nested' && d.parent ? { domain: d.parent.label, format: d.parent.fmt, levels: d.parent.ops?.levels ?? null } : null,
    iotlb: { capacity: iommu.iotlb.capacity, granule: hex(iommu.iotlb.granule) },
  };
}

/** Turns an engine Translation into the view (exported for callers that already probed one). */
export function walkView(dev: Device, addr: bigint, pasid: number | null, access: WalkAccess, t: Translation): WalkInspect {
  const resolve = tableResolver(dev, pasid);
  return {
    device: dev.name,
    busId: dev.busId,
    addr: hex(addr),
    pasid,
    access,
    path: dev.path.map((_, i) => pathEntry(dev, i, pasid)),
    chained: dev.path.length > 1,
    phys: t.phys === undefined ? null : hex(t.phys),
    iotlbHit: t.iotlbHit,
    accesses: t.accesses,
    fault: t.fault ?? null,
    faultAt: t.faultAt ?? null,
    domains: [...t.domains],
    staleIotlb: t.staleIotlb,
    staleCause: null,
    steps: t.steps.map((s) => stepView(s, resolve)),
  };
}

/**
 * The walk `dev` would make for an access at `addr` (with `pasid`) now: the
 * IOTLB peeked, nothing filled or counted. `access` adds the permission check
 * of a read or a write, as dev_read/dev_write make it.
 */
export function inspectWalk(m: Machine, dev: Device, addr: bigint, pasid: number | null, access: WalkAccess = null): WalkInspect {
  const t = probeDma(m, dev, addr, pasid, access);
  return { ...walkView(dev, addr, pasid, access, t), staleCause: t.staleIotlb ? staleIotlbCause(m.mappings, addr).text : null };
}

/** A device by its scenario name or bus id. */
export function findDevice(m: Machine, nameOrBusId: string): Device | undefined {
  return [...m.devices.values()].find((d) => d.name === nameOrBusId || d.busId === nameOrBusId);
}
