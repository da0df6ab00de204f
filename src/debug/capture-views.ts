// What the capture debugger shows at a position, as plain values: the
// record, each device's replayed state (live mappings with the capture line
// that made them, IOVA space and swiotlb use, what was unmapped where), the
// iommu:map IOVA spaces, the findings so far; and the same state as a
// MachineView for the panels' 'dmascope/inspect' (one domain per device).

import type { DomainView, MachineView, MappedRangeView, StreamingMappingView } from '../engine/inspect/types';
import { describeFinding } from '../traceimport/report';
import type { CaptureReplay, DeviceState, LiveMapping } from '../traceimport/replay';
import type { Finding } from '../traceimport/types';
import { toHex } from '../traceimport/values';
import { liveMappings, unmappedRanges, type CaptureRecord, type CaptureTimeline } from './capture-timeline';
import type { Shown } from './variables';

/** Live mappings and unmapped ranges listed per device at most (the counts are always whole). */
const MAX_LISTED = 1000;
const MAX_UNMAPPED = 50;

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

function plain(v: unknown): Shown {
  if (v === null || v === undefined || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return toHex(v);
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, plain(x)]));
  return String(v);
}

/** One mapping: its label says IOVA+size, direction and the line that mapped it. */
export function mappingShown(m: LiveMapping): Shown {
  const out: { [key: string]: Shown } = {
    label: `${m.addr}+${hex(m.size)}${m.dir ? ` ${m.dir}` : ''} (${m.event}, line ${m.line})`,
    iova: m.addr,
    end: toHex(m.end - 1n),
    size: m.size,
  };
  if (m.phys !== undefined) out.phys = m.phys;
  if (m.dir !== undefined) out.dir = m.dir;
  out.kind = m.kind;
  out.event = m.event;
  out.line = m.line;
  if (m.bounce > 0) out.swiotlb_bytes = m.bounce;
  return out;
}

function stateShown(d: DeviceState): { [key: string]: Shown } {
  const live = liveMappings(d);
  const s = d.stats;
  const out: { [key: string]: Shown } = {
    label: `${d.liveCount} live mapping${d.liveCount === 1 ? '' : 's'}, ${d.liveBytes} bytes${d.bounceBytes > 0 ? `, ${d.bounceBytes} swiotlb bytes` : ''}`,
    live: d.liveCount,
    live_bytes: d.liveBytes,
    mappings: live.slice(0, MAX_LISTED).map(mappingShown),
  };
  if (live.length > MAX_LISTED) out.mappings_not_listed = live.length - MAX_LISTED;
  out.iova_space = d.lowest !== undefined && d.highest !== undefined ? `${toHex(d.lowest)}..${toHex(d.highest)} (${d.highest - d.lowest + 1n} bytes spanned so far)` : 'none used yet';
  out.swiotlb_bytes = d.bounceBytes;
  out.maps = s.maps;
  out.unmaps = s.unmaps;
  if (s.syncs > 0) out.syncs = s.syncs;
  if (s.bounces > 0) out.swiotlb_bounces = s.bounces;
  out.peak = `${s.peak_live} live, ${s.peak_live_bytes} bytes at line ${s.peak_line}`;
  const gone = unmappedRanges(d, MAX_UNMAPPED);
  if (gone.length > 0) {
    out.unmapped = gone.map((u) => ({
      label: `${toHex(u.start)}+${hex(Number(u.end - u.start))} mapped line ${u.mapLine}, unmapped line ${u.unmapLine}`,
      iova: toHex(u.start),
      size: Number(u.end - u.start),
      event: u.event,
      mapped_line: u.mapLine,
      unmapped_line: u.unmapLine,
    }));
  }
  return out;
}

/** The devices of the replay at a position, by name. */
export function devicesShown(state: CaptureReplay): { [device: string]: Shown } {
  const out: { [device: string]: Shown } = {};
  for (const name of [...state.devices.keys()].sort()) out[name] = stateShown(state.devices.get(name) as DeviceState);
  return out;
}

/** The iommu:map/unmap IOVA spaces (per device when the events name one). */
export function iommuSpacesShown(state: CaptureReplay): { [space: string]: Shown } {
  const out: { [space: string]: Shown } = {};
  for (const name of [...state.iommu.keys()].sort()) {
    const sp = state.iommu.get(name);
    if (sp === undefined) continue;
    out[name] = { ...stateShown(sp.state), maps: sp.maps, unmaps: sp.unmaps };
  }
  return out;
}

/** The record at the position: its fields, and its findings with their messages. */
export function recordShown(r: CaptureRecord): { [key: string]: Shown } {
  const out: { [key: string]: Shown } = { name: r.name, line: r.line };
  if (r.endLine !== r.line) out.endLine = r.endLine;
  if (r.device !== undefined) out.device = r.device;
  const own = r.event ?? r.findings[0];
  if (own !== undefined) for (const [k, v] of Object.entries(own)) if (v !== undefined && !['line', 'endLine', 'kind', 'device', 'startLine', 'severity'].includes(k)) out[k] = plain(v);
  if (r.repeatOf !== undefined) out.repeat_of_line = r.repeatOf;
  if (r.findings.length > 0 && r.event !== undefined) out.findings = r.findings.map(findingShown);
  else if (r.findings.length > 1) out.findings = r.findings.slice(1).map(findingShown);
  return out;
}

export function findingShown(f: Finding): Shown {
  const out: { [key: string]: Shown } = { label: `line ${f.line}: ${typeof f.severity === 'string' ? `${f.severity}: ` : ''}${describeFinding(f)}` };
  for (const [k, v] of Object.entries(f)) if (v !== undefined) out[k] = plain(v);
  return out;
}

/** The findings up to the position, the latest first. */
export function findingsShown(timeline: CaptureTimeline, k: number): Shown[] {
  return timeline.findingsUpTo(k).reverse().slice(0, MAX_LISTED).map(findingShown);
}

// ---- the panels' view --------------------------------------------------------

function prot(dir: string | undefined): string {
  // The device's side: TO_DEVICE lets it read, FROM_DEVICE write.
  if (dir === 'TO_DEVICE') return 'r';
  if (dir === 'FROM_DEVICE') return 'w';
  return 'rw';
}

/** The IOVA space drawn: 4 GiB, or the power of two above the highest address the device used. */
function apertureOf(d: DeviceState): [string, string] {
  let bits = 32;
  while (d.highest !== undefined && d.highest >= 1n << BigInt(bits) && bits < 64) bits++;
  return ['0x0', toHex((1n << BigInt(bits)) - 1n)];
}

/**
 * The physical address behind a mapping: its own (dma_map_phys), else the
 * iommu:map that maps its IOVA (dma_alloc names none), else the DMA address
 * itself, which dma-direct without an offset makes equal to it.
 */
function physOf(m: LiveMapping, state: CaptureReplay): string {
  if (m.phys !== undefined) return m.phys;
  for (const name of [m.device, '(iommu)']) {
    const hit = state.iommu.get(name)?.state.containing(m.start, m.start + 1n);
    if (hit?.phys !== undefined) return toHex(BigInt(hit.phys) + (m.start - hit.start));
  }
  return m.addr;
}

function domainOf(label: string, d: DeviceState, iommu: string, users: string[], state: CaptureReplay): DomainView {
  const mappings: MappedRangeView[] = liveMappings(d).slice(0, 10_000).map((m) => ({ iova: m.addr, phys: physOf(m, state), size: hex(m.size), prot: prot(m.dir), line: m.line }));
  return {
    id: 0, label, type: 'capture', iommu, format: null, granule: '0x1000', pgsizeBitmap: '0x1000', aperture: apertureOf(d), nestParent: false, parent: null,
    users, line: 0, mappings, iova: null, flushQueue: null,
  };
}

/**
 * The replayed state as a MachineView: a domain per device (its DMA API
 * mappings, labelled by the device) and per iommu:map space (`iommu:NAME`),
 * the devices, and the streaming mappings. What a capture does not say (page
 * tables, IOTLB, buffers' bytes) is empty.
 */
export function captureMachineView(state: CaptureReplay): MachineView {
  const domains: DomainView[] = [];
  const mappings: StreamingMappingView[] = [];
  let id = 1;
  for (const name of [...state.devices.keys()].sort()) {
    const d = state.devices.get(name) as DeviceState;
    domains.push({ ...domainOf(name, d, 'capture', [name], state), id: id++ });
    for (const m of liveMappings(d).slice(0, 10_000)) {
      mappings.push({ device: name, dma: m.addr, size: hex(m.size), phys: physOf(m, state), dir: m.dir ?? 'BIDIRECTIONAL', bounce: m.bounce > 0 ? hex(m.bounce) : null, kind: m.event, line: m.line });
    }
  }
  for (const name of [...state.iommu.keys()].sort()) {
    const sp = state.iommu.get(name);
    if (sp !== undefined) domains.push({ ...domainOf(`iommu:${name}`, sp.state, 'iommu:map', name === '(iommu)' ? [] : [name], state), id: id++ });
  }
  const devices = [...state.devices.keys()].sort().map((name) => ({
    name, busId: name, bus: /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/.test(name) ? 'pci' : 'platform', coherent: true, untrusted: false, dmaMaskBits: 64, pasidBits: 0,
    dmaOps: 'capture', line: 0, path: [{ iommu: 'capture', group: 0, domain: name, defaultDomain: name, pasids: [] }],
  }));
  return { iommus: [], devices, domains, iotlb: [], mappings, buffers: [], swiotlb: null, vduse: [] };
}
