// What the translation walk panel draws, from the engine's walk view
// (src/engine/inspect/walk.ts): plain JSON, no vscode, no DOM. One band per
// IOMMU of the device's path (a chain has several); in a band, one row per
// descriptor read, or for a nested domain the two-dimensional grid of
// stage-1 levels by stage-2 levels whose cells are the (n+1)(m+1)-1 reads;
// the IOTLB hit or miss; and where and why the walk faulted, with the line
// the kernel would print.

import type { DescriptorBits, DescriptorField, DescriptorKind, WalkInspect, WalkStepInspect, WalkSubInspect } from '../engine/inspect';

/** One descriptor read as the panel shows it. */
export interface WalkCell {
  /** Stable id within the model ("b0.r2", "b0.r1.c3"): selection and keyboard focus survive a refresh. */
  id: string;
  stage: number;
  level: number;
  table: string;
  index: number;
  descAddr: string;
  desc: string;
  iommu: string | null;
  domain: string | null;
  format: string | null;
  kind: DescriptorKind | 'unknown';
  /** Tables: the next table; leaves: the output page or block. */
  address: string | null;
  size: string | null;
  /** "rw", "r-", "-w", "--", or "" when the descriptor does not say. */
  perms: string;
  fields: DescriptorField[];
  invalidWhy: string | null;
  /** The walk stopped at this read (invalid, out of range, or refused). */
  faulted: boolean;
  /** One line for the cell: "L2 table → 0x81003000", "L3 page 0x81005000 rw". */
  summary: string;
}

/** A read whose own fetch went through another translation: a nested stage-1 read, or a chained MMU's table read. */
export interface WalkRow {
  /** What the row translates: the stage-1 level fetched, or the final address. */
  label: string;
  /** The address the sub-walk translated (the IPA of the stage-1 descriptor, or the final IPA). */
  input: string;
  /** The sub-walk's reads (stage 2, or the IOMMUs after a chained MMU), in order. */
  sub: WalkCell[];
  /** The read this row is for (null for the final-IPA row, and when the fetch itself faulted). */
  read: WalkCell | null;
  /** The fetch faulted in the sub-walk: why, in the engine's words. */
  fault: string | null;
}

export interface NestedGrid {
  s1Levels: number;
  s2Levels: number;
  /** "(4+1)(4+1)-1 = 24". */
  formula: string;
  /** (n+1)(m+1)-1 for the configured levels. */
  expected: number;
  /** Reads the walk actually made (fewer with blocks; up to the fault when it faults). */
  actual: number;
  /** Column headings of the stage-2 reads (by position in the sub-walk) and of the stage-1 read. */
  columns: string[];
  rows: WalkRow[];
}

export type BandMode = 'walk' | 'nested' | 'iotlb-hit' | 'identity' | 'blocked' | 'sva' | 'no-domain' | 'not-reached';

export interface WalkBand {
  iommu: string;
  kind: string;
  driver: string;
  domain: string | null;
  domainType: string | null;
  format: string | null;
  parent: { domain: string; format: string | null; levels: number | null } | null;
  mode: BandMode;
  /** What the mode means here, in a sentence. */
  note: string;
  /** Address entering this IOMMU and leaving it (null when it faulted or was not reached). */
  input: string | null;
  output: string | null;
  /** One-stage walks: the reads in order; a chained MMU's rows also carry their upstream reads. */
  rows: WalkRow[];
  grid: NestedGrid | null;
  /** Reads made in this band (the sub-walks of its rows included). */
  accesses: number;
  faulted: boolean;
}

export interface WalkFaultModel {
  /** The engine's reason (what the fault record and `translate().reason` say). */
  reason: string;
  /** The line the IOMMU driver prints for the access (dev_read/dev_write), or null for translate(), which raises no fault. */
  kernelLine: string | null;
  iommu: string | null;
  stage: number | null;
  level: number | null;
  kind: string | null;
  /** "stage 1, level 3" style position, or '' when unknown. */
  where: string;
  /** Cell id where the walk stopped, when a cell shows it. */
  cell: string | null;
}

export interface WalkModel {
  device: string;
  busId: string;
  addr: string;
  pasid: number | null;
  access: 'read' | 'write' | null;
  /** "gpu (0000:03:00.0) reads 0x1000". */
  title: string;
  phys: string | null;
  iotlbHit: boolean;
  staleIotlb: boolean;
  accesses: number;
  /** One sentence: where the address went, at what cost. */
  summary: string;
  chained: boolean;
  bands: WalkBand[];
  fault: WalkFaultModel | null;
  /** Domains the walk went through, device side first. */
  domains: string[];
}

function perms(b: DescriptorBits | null): string {
  if (!b || b.read === null || b.write === null) return '';
  return `${b.read ? 'r' : '-'}${b.write ? 'w' : '-'}`;
}

function levelName(level: number): string {
  return `L${level}`;
}

function cellSummary(c: Omit<WalkCell, 'summary'>): string {
  const l = levelName(c.level);
  switch (c.kind) {
    case 'table':
      return `${l} table → ${c.address}`;
    case 'page':
    case 'block':
      return `${l} ${c.kind} ${c.address}${c.perms ? ` ${c.perms}` : ''}`;
    case 'invalid':
      return `${l} invalid (${c.desc})`;
    default:
      return `${l} ${c.desc}`;
  }
}

function cellOf(s: WalkStepInspect, id: string): WalkCell {
  const b = s.bits;
  const base = {
    id,
    stage: s.stage,
    level: s.level,
    table: s.table,
    index: s.index,
    descAddr: s.descAddr,
    desc: s.desc,
    iommu: s.iommu,
    domain: s.domain,
    format: s.format,
    kind: b?.kind ?? ('unknown' as const),
    address: b?.address ?? null,
    size: b?.size ?? null,
    perms: perms(b),
    fields: b?.fields ?? [],
    invalidWhy: b?.invalidWhy ?? null,
    faulted: false,
  };
  return { ...base, summary: cellSummary(base) };
}

/** Output address of a leaf cell for `input`: the page base plus the offset inside the page. */
function leafOutput(c: WalkCell | undefined, input: string | null): string | null {
  if (!c || (c.kind !== 'page' && c.kind !== 'block') || c.address === null || c.size === null || input === null) return null;
  const size = BigInt(c.size);
  return `0x${(BigInt(c.address) + (BigInt(input) & (size - 1n))).toString(16)}`;
}

function subFaultText(sub: WalkSubInspect): string | null {
  if (!sub.fault) return null;
  return `stage-${sub.fault.stage} ${sub.fault.reason} fault at level ${sub.fault.level}`;
}

/** Rows of a band whose reads carry sub-walks: one per read, plus (nested) the final IPA's stage-2 walk. */
function rowsOf(steps: WalkStepInspect[], idBase: string, s1Label: (s: WalkStepInspect) => string): WalkRow[] {
  return steps.map((s, r) => {
    const id = `${idBase}.r${r}`;
    return {
      label: s1Label(s),
      input: s.descAddr,
      sub: (s.nested?.steps ?? []).map((n, c) => cellOf(n, `${id}.c${c}`)),
      read: cellOf(s, id),
      fault: s.nested ? subFaultText(s.nested) : null,
    };
  });
}

/** The nested grid: stage-1 reads by stage-2 levels, then the final IPA's stage-2 walk. */
function nestedGrid(w: WalkInspect, band: number, s1Levels: number, s2Levels: number): { grid: NestedGrid; ipa: string | null } {
  const idBase = `b${band}`;
  const s1 = w.steps.filter((s) => s.stage === 1);
  const s2 = w.steps.filter((s) => s.stage === 2);
  const rows = rowsOf(s1, idBase, (s) => `stage 1 ${levelName(s.level)}`);
  const s1Leaf = rows.length > 0 ? rows[rows.length - 1].read : null;
  const ipa = s1Leaf && (s1Leaf.kind === 'page' || s1Leaf.kind === 'block') ? leafOutput(s1Leaf, w.addr) : null;
  if (ipa !== null) {
    const id = `${idBase}.r${rows.length}`;
    rows.push({ label: 'final IPA', input: ipa, sub: s2.map((n, c) => cellOf(n, `${id}.c${c}`)), read: null, fault: null });
  }
  const expected = (s1Levels + 1) * (s2Levels + 1) - 1;
  const widest = Math.max(s2Levels, ...rows.map((r) => r.sub.length));
  const columns = [...Array.from({ length: widest }, (_, i) => `stage 2 read ${i + 1}`), 'stage-1 descriptor'];
  return {
    grid: { s1Levels, s2Levels, formula: `(${s1Levels}+1)(${s2Levels}+1)-1 = ${expected}`, expected, actual: w.accesses, columns, rows },
    ipa,
  };
}

function bandNote(mode: BandMode, b: { domain: string | null }): string {
  switch (mode) {
    case 'identity':
      return `${b.domain ?? 'identity'} is an identity domain: the address passes through untranslated`;
    case 'blocked':
      return `${b.domain ?? 'the domain'} blocks every DMA`;
    case 'no-domain':
      return 'no domain is attached: the IOMMU blocks the request';
    case 'iotlb-hit':
      return 'IOTLB hit: the cached translation answers, no table is read';
    case 'sva':
      return 'SVA: the walk reads the bound process\'s CPU page table';
    case 'nested':
      return 'nested: every stage-1 descriptor is read at an IPA that stage 2 translates first';
    case 'not-reached':
      return 'not reached: the walk stopped before this IOMMU';
    default:
      return 'IOTLB miss: the page table is walked';
  }
}

function faultWhere(f: WalkInspect['faultAt'], chained: boolean): string {
  if (!f) return '';
  const level = f.level < 0 ? 'on an IOTLB hit' : `level ${f.level}`;
  const stage = chained ? `MMU ${f.stage} of the chain` : `stage ${f.stage}`;
  return `${f.iommu}, ${stage}, ${level}`;
}

/** The line the IOMMU driver prints for a faulting device access (device-access.ts reportFault). */
function kernelFaultLine(w: WalkInspect, reason: string): string | null {
  if (w.access === null) return null;
  const driver = w.path[0]?.driver ?? 'dma-direct';
  const rw = w.access === 'write' ? 'DMA Write' : 'DMA Read';
  const p = w.pasid === null ? 'NO_PASID' : `PASID 0x${w.pasid.toString(16)}`;
  return `${driver}: [${rw} ${p}] Request device [${w.busId}] fault addr ${w.addr}: ${reason}`;
}

/** Marks the read the walk stopped at: the last read of the faulting stage (or a permission fault's leaf). */
function markFault(bands: WalkBand[], w: WalkInspect): string | null {
  const f = w.faultAt;
  if (!f) return null;
  const band = w.chained ? bands[f.stage - 1] : bands.find((b) => b.iommu === f.iommu);
  if (!band) return null;
  band.faulted = true;
  band.output = null;
  if (f.level < 0) return null;
  const candidates: WalkCell[] = [];
  for (const r of band.rows.concat(band.grid?.rows ?? [])) {
    for (const c of r.sub) candidates.push(c);
    if (r.read) candidates.push(r.read);
  }
  const stage = w.chained ? null : f.stage;
  const hit = [...candidates].reverse().find((c) => c.level === f.level && (stage === null || c.stage === stage));
  if (!hit) return null;
  hit.faulted = true;
  return hit.id;
}

/** The panel's model of one walk. */
export function buildWalkModel(w: WalkInspect): WalkModel {
  const bands: WalkBand[] = [];
  let input: string | null = w.addr;
  let faultedBefore = false;
  w.path.forEach((p, i) => {
    const reached = !faultedBefore && input !== null;
    const band: WalkBand = {
      iommu: p.iommu, kind: p.kind, driver: p.driver, domain: p.domain, domainType: p.domainType, format: p.format, parent: p.parent,
      mode: 'walk', note: '', input: reached ? input : null, output: null, rows: [], grid: null, accesses: 0, faulted: false,
    };
    // Chains tag each MMU's reads with its position; a single IOMMU's reads are all its own.
    const own = w.chained ? w.steps.filter((s) => s.stage === i + 1) : w.steps;
    if (!reached) band.mode = 'not-reached';
    else if (p.domain === null) band.mode = 'no-domain';
    else if (p.domainType === 'identity') band.mode = 'identity';
    else if (p.domainType === 'blocked') band.mode = 'blocked';
    else if (own.length === 0 && w.iotlbHit) band.mode = 'iotlb-hit';
    else if (p.domainType === 'nested') band.mode = 'nested';
    else if (p.domainType === 'sva') band.mode = 'sva';
    if (band.mode === 'nested' && p.levels !== null && p.parent?.levels != null) {
      const { grid, ipa } = nestedGrid(w, i, p.levels, p.parent.levels);
      band.grid = grid;
      band.accesses = w.accesses;
      const last = grid.rows[grid.rows.length - 1];
      band.output = ipa !== null && last.sub.length > 0 ? leafOutput(last.sub[last.sub.length - 1], ipa) : null;
    } else if (band.mode === 'walk' || band.mode === 'sva') {
      band.rows = own.some((s) => s.nested) ? rowsOf(own, `b${i}`, (s) => `${levelName(s.level)} read`) : own.map((s, r) => ({ label: `${levelName(s.level)} read`, input: s.descAddr, sub: [], read: cellOf(s, `b${i}.r${r}`), fault: null }));
      band.accesses = own.reduce((n, s) => n + 1 + (s.nested?.accesses ?? 0), 0);
      band.output = leafOutput(band.rows[band.rows.length - 1]?.read ?? undefined, input);
    } else if (band.mode === 'identity') {
      band.output = input;
    }
    if (band.mode === 'iotlb-hit' && w.phys !== null && i === w.path.length - 1) band.output = w.phys;
    band.note = band.mode === 'iotlb-hit' && w.staleIotlb
      ? 'stale IOTLB hit: the cached translation still answers although the page table no longer maps the address (no table is read)'
      : bandNote(band.mode, { domain: p.domain });
    if (band.output === null && band.mode !== 'iotlb-hit') faultedBefore = true;
    input = band.output;
    bands.push(band);
  });
  // The last band's output is the walk's result; a chain's IOTLB hits leave the intermediate addresses unknown.
  if (bands.length > 0 && w.phys !== null) bands[bands.length - 1].output = w.phys;

  let fault: WalkFaultModel | null = null;
  if (w.fault !== null) {
    const cell = markFault(bands, w);
    if (!w.faultAt) {
      const named = bands.find((b) => w.fault?.startsWith(`${b.iommu}:`));
      if (named) named.faulted = true;
    }
    fault = {
      reason: w.fault,
      kernelLine: kernelFaultLine(w, w.fault),
      iommu: w.faultAt?.iommu ?? null,
      stage: w.faultAt?.stage ?? null,
      level: w.faultAt?.level ?? null,
      kind: w.faultAt?.reason ?? null,
      where: faultWhere(w.faultAt, w.chained),
      cell,
    };
    // A nested fetch that stage 2 refused leaves no stage-1 read: say so on a row of its own.
    for (const b of bands) {
      if (!b.grid || w.faultAt?.stage !== 2 || !/fetching the stage-1 level-(\d+) descriptor/.test(w.fault)) continue;
      const lvl = /fetching the stage-1 level-(\d+) descriptor/.exec(w.fault)?.[1] ?? '?';
      const ipa = /on IPA (0x[0-9a-f]+)/.exec(w.fault)?.[1] ?? '?';
      b.grid.rows.push({ label: `stage 1 L${lvl}`, input: ipa, sub: [], read: null, fault: w.fault });
    }
  }

  const verb = w.access === 'read' ? 'reads' : w.access === 'write' ? 'writes' : 'translates';
  const who = `${w.device} (${w.busId})`;
  const title = `${who} ${verb} ${w.addr}${w.pasid !== null ? ` with PASID ${w.pasid}` : ''}`;
  const cost = w.iotlbHit ? 'IOTLB hit' : w.path.length === 0 ? 'no IOMMU' : `IOTLB miss, ${w.accesses} table read${w.accesses === 1 ? '' : 's'}`;
  const summary = w.phys !== null
    ? `${w.addr} → ${w.phys} (${cost})${w.staleIotlb ? `: stale IOTLB entry, ${w.staleCause ?? 'the page table no longer maps it'}` : ''}`
    : `${w.addr} faults (${cost}): ${w.fault ?? 'fault'}`;
  return {
    device: w.device, busId: w.busId, addr: w.addr, pasid: w.pasid, access: w.access, title,
    phys: w.phys, iotlbHit: w.iotlbHit, staleIotlb: w.staleIotlb, accesses: w.accesses, summary, chained: w.chained, bands, fault, domains: w.domains,
  };
}
