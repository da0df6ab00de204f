// What the editor shows about a run beyond the kernel's own outputs: per call
// site, the value the call returned (inlay hints, hovers) and, for device
// accesses and translate(), the IOMMU walk (code lenses); at the end, a
// summary of the machine with the values the engine applied (hovers on
// devices, IOMMUs, domains and addresses). Everything is read from the
// engine's own state: nothing here re-derives kernel behaviour.

import { probeDma, type Translation } from '../../engine/device-access';
import { Device } from '../../engine/device';
import { dirName } from '../../engine/dma-mapping/dma-direction';
import { errnoName } from '../../engine/errno';
import type { Machine } from '../../engine/machine';
import { DMA_MAPPING_ERROR, hex } from '../../engine/u64';
import type { CallExpr } from '../ast';
import type { CallSiteResult, MachineSummary, MappingSummary, WalkSummary } from '../run-result';
import { CoherentValue, BufferValue, type Value } from './values';
import { numberStyle, renderPrinted, type VariableStyles } from './number-style';
import { inspectDevice } from '../../engine/inspect';

/** A call's number style depends on its callee only. */
const NO_VARIABLES: VariableStyles = new Map();

/** Calls whose walk is summarised for the walk code lens. */
const WALK_CALLS = new Set(['translate', 'dev_read', 'dev_write']);
/** Walks probed per call site: in a loop, the first runs show the pattern (IOTLB miss, then hits) at a bounded cost. */
const MAX_WALK_PROBES = 16;
/** Mappings listed in the machine summary (a loop of maps must not bloat the result). */
const MAX_MAPPINGS = 5000;
/** Live ranges listed per domain. */
const MAX_DOMAIN_MAPPINGS = 500;

function addressOf(v: Value | undefined): bigint | undefined {
  if (typeof v === 'bigint') return v >= 0n ? v : undefined;
  if (v instanceof BufferValue) return v.buf.phys;
  if (v instanceof CoherentValue) return v.coh.dma;
  return undefined;
}

function smallPasid(v: Value | undefined): number | null | undefined {
  if (v === undefined) return null;
  if (typeof v !== 'bigint' || v < 0n || v >= 1n << 20n) return undefined;
  return Number(v);
}

/** A walk probed before the access ran, finished once the access returned. */
export interface PendingWalk {
  call: CallExpr;
  device: Device;
  addr: bigint;
  pasid: number | null;
  t: Translation;
  faultsBefore: number;
}

export class CallLog {
  private readonly calls = new Map<number, CallSiteResult>();
  private readonly walks = new Map<number, WalkSummary>();

  /** Before a translate/dev_read/dev_write runs: the walk it will make, probed without changing any state. */
  beforeCall(m: Machine, call: CallExpr, args: Value[], named: ReadonlyMap<string, Value>): PendingWalk | undefined {
    if (!WALK_CALLS.has(call.callee.text) || (this.walks.get(call.span.start)?.count ?? 0) >= MAX_WALK_PROBES) return undefined;
    const dev = args[0];
    const addr = addressOf(args[1]);
    const pasid = smallPasid(named.get('pasid'));
    if (!(dev instanceof Device) || addr === undefined || pasid === undefined) return undefined;
    try {
      const access = call.callee.text === 'dev_read' ? 'read' : call.callee.text === 'dev_write' ? 'write' : null;
      const t = probeDma(m, dev, addr, pasid, access);
      return { call, device: dev, addr, pasid, t, faultsBefore: m.trace.faults.length };
    } catch {
      return undefined; // the call itself will report what is wrong
    }
  }

  /** After a call returned `v`. */
  afterCall(m: Machine, call: CallExpr, v: Value, walk: PendingWalk | undefined): void {
    const s = call.span;
    const prev = this.calls.get(s.start);
    const rec: CallSiteResult = { line: s.line, column: s.column, endLine: s.endLine, endColumn: s.endColumn, callee: call.callee.text, count: (prev?.count ?? 0) + 1 };
    if (v !== null) {
      // As the kernel prints it: dma_addr_t and phys_addr_t in hex, int and size_t in decimal.
      rec.value = typeof v === 'bigint' && v === DMA_MAPPING_ERROR ? 'DMA_MAPPING_ERROR' : renderPrinted(v, numberStyle(call, NO_VARIABLES));
      if (typeof v === 'bigint' && v < 0n && v >= -4095n) rec.errno = errnoName(Number(-v));
    }
    this.calls.set(s.start, rec);
    if (walk === undefined) return;
    const t = walk.t;
    const prevWalk = this.walks.get(s.start);
    // `count` of a walk = which run of the call site it shows (the last one probed).
    this.walks.set(s.start, {
      line: s.line,
      column: s.column,
      callee: call.callee.text,
      device: walk.device.name,
      addr: hex(walk.addr),
      pasid: walk.pasid,
      phys: t.phys !== undefined ? hex(t.phys) : null,
      accesses: t.accesses,
      iotlbHit: t.iotlbHit,
      staleIotlb: t.staleIotlb,
      fault: t.phys === undefined ? (t.fault ?? 'fault') : null,
      faulted: m.trace.faults.length > walk.faultsBefore,
      faultReason: m.trace.faults[walk.faultsBefore]?.reason ?? null,
      domains: [...t.domains],
      count: (prevWalk?.count ?? 0) + 1,
    });
  }

  callSites(): CallSiteResult[] {
    return [...this.calls.values()].sort((a, b) => a.line - b.line || a.column - b.column);
  }

  walkSites(): WalkSummary[] {
    return [...this.walks.values()].sort((a, b) => a.line - b.line || a.column - b.column);
  }
}

function mappingSummaries(m: Machine): MappingSummary[] {
  const recs = m.mappings.records;
  const from = Math.max(0, recs.length - MAX_MAPPINGS);
  return recs.slice(from).map((r) => ({
    device: r.device,
    dma: hex(r.dma),
    size: hex(r.size),
    phys: hex(r.phys),
    dir: dirName(r.dir),
    bounce: r.bounce === null ? null : hex(r.bounce),
    kind: r.kind,
    line: r.line,
    live: r.live,
  }));
}

/** The machine at the end of a run, as the engine configured it. */
export function machineSummary(m: Machine): MachineSummary {
  const p = m.platform;
  const devices = [...m.devices.values()];
  const domains = m.allDomains();
  const domainMappings = new Map<string, MachineSummary['domains'][number]['mappings']>();
  const push = (label: string, e: MachineSummary['domains'][number]['mappings'][number]): void => {
    let l = domainMappings.get(label);
    if (l === undefined) domainMappings.set(label, (l = []));
    if (l.length < MAX_DOMAIN_MAPPINGS) l.push(e);
  };
  // DMA API mappings live at the end: they sit in the RID domain of their device's nearest IOMMU.
  for (const r of m.mappings.live.values()) {
    const dev = m.devices.get(r.device);
    const dom = dev?.path[0]?.group.domain;
    if (dom) push(dom.label, { iova: hex(r.dma), phys: hex(r.bounce ?? r.phys), size: hex(r.size), line: r.line, via: r.kind });
  }
  // iommu_map ranges of scenario domains that still translate at the end (the domain's own record, src/engine/inspect).
  for (const d of m.domains) {
    if (d.isDmaApi()) continue;
    for (const r of d.mapped.list()) push(d.label, { iova: hex(r.iova), phys: hex(r.phys), size: hex(r.size), line: r.line, via: 'iommu_map' });
  }
  return {
    platform: {
      pageSize: hex(p.pageSize),
      memory: p.memory.map((r) => ({ start: hex(r.start), end: hex(r.end) })),
      cacheLine: p.cacheLine,
      swiotlb: hex(p.swiotlb),
      swiotlbPool: m.swiotlb ? { start: hex(m.swiotlb.defpool.start), end: hex(m.swiotlb.defpool.end) } : null,
      swiotlbForce: p.swiotlbForce,
      swiotlbDynamic: p.swiotlbDynamic,
      cpus: p.cpus,
    },
    iommus: [...m.iommus.values()].map((i) => ({
      name: i.name,
      kind: i.cfg.kind,
      driver: i.traits.driver,
      granule: hex(i.granule),
      ias: i.ias,
      oas: i.oas,
      iotlbEntries: i.iotlb.capacity,
      deferredFlush: i.deferredFlush,
      needsSyncMap: i.traits.needsSyncMap,
      pasidBits: i.cfg.pasidBits ?? 20,
      line: i.line,
      iotlbHits: i.iotlb.hits,
      iotlbMisses: i.iotlb.misses,
    })),
    devices: devices.map((d) => ({
      name: d.name,
      busId: d.busId,
      bus: d.bus,
      coherent: d.coherent,
      untrusted: d.untrusted,
      dmaMaskBits: d.dmaMaskBits,
      maxSegmentSize: hex(d.maxSegmentSize),
      segmentBoundary: hex(d.segmentBoundary),
      pasidBits: d.pasidBits,
      ats: d.ats,
      pri: d.pri,
      minAlignMask: hex(d.minAlignMask),
      line: d.line,
      // The engine's view of the path, plus the attached domain's type the editor shows.
      path: inspectDevice(d).path.map((p, i) => ({
        iommu: p.iommu,
        group: p.group,
        domain: p.domain,
        domainType: d.path[i].group.domain?.type ?? null,
        defaultDomain: p.defaultDomain,
        pasids: p.pasids.map(({ pasid, domain }) => ({ pasid, domain })),
      })),
    })),
    domains: domains.map((d) => ({
      label: d.label,
      type: d.type,
      iommu: d.iommu.name,
      format: d.fmt,
      granule: hex(d.minPagesz),
      aperture: d.isPaging() ? [hex(d.apertureStart), hex(d.apertureEnd)] : null,
      users: [...d.users],
      line: d.line,
      mappings: domainMappings.get(d.label) ?? [],
    })),
    mappings: mappingSummaries(m),
  };
}
