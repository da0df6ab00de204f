// What the bounce buffers panel draws, from the engine's views
// (inspectSwiotlb, inspectVduse, inspectBounceDiffs): plain JSON, no vscode,
// no DOM. swiotlb: each pool (the default one, those CONFIG_SWIOTLB_DYNAMIC
// added, transient ones) with its areas and its slots as runs, the canvas's
// input; every run in use with orig_addr, alloc_size, direction, whether
// bounce and original agree, and the bytes where they do not. VDUSE: the
// bounce maps per 4K with orig_phys and whether a bounce page exists.

import type { BounceByteDiff, BounceDiffView, SwiotlbPoolViewJson, SwiotlbSlotRunView, SwiotlbStateView, VduseView } from '../engine/inspect';
import type { SanitizerFindingView } from '../engine/sanitizer';

/** How a slot run is coloured: free, in use with bounce and original equal, or differing. */
export type SlotState = 'free' | 'in-sync' | 'out-of-sync' | 'in-use';

export interface SlotRunModel {
  /** "p0.s12": pool and first slot, stable across refreshes (selection). */
  id: string;
  /** First slot index in the pool and slots in the run (padding included). */
  index: number;
  count: number;
  state: SlotState;
  /** First slot's address; `end` is exclusive. */
  addr: string;
  end: string;
  area: number;
  origAddr: string | null;
  allocSize: number;
  padSlots: number;
  dir: string | null;
  inSync: boolean | null;
  /** The live mapping the run bounces for, when known. */
  mapping: { device: string; dma: string; size: string; line: number } | null;
  /** Bytes where bounce and original disagree (offset in the mapping, both values), bounded. */
  diff: { compared: number; differing: number; bytes: BounceByteDiff[]; listedAll: boolean } | null;
  /** Hover text. */
  label: string;
  /** DMA sanitizer findings whose access touched these slots (absent when none). */
  findings?: BounceFindingModel[];
}

/** A DMA sanitizer finding on bounce memory (a swiotlb slot or a VDUSE bounce page): what the slot map marks. */
export interface BounceFindingModel extends SanitizerFindingView {
  /** What it touched: slot run ids ("p0.s12") and VDUSE bounce maps ("vduse0 map 3"). */
  where: string[];
}

export interface AreaModel {
  /** Area number (position in the pool). */
  area: number;
  firstSlot: number;
  slots: number;
  used: number;
  /** io_tlb_area.index: where the next search in this area starts. */
  nextIndex: number;
  start: string;
}

export type PoolKind = 'default' | 'dynamic' | 'transient';

export interface PoolModel {
  id: string;
  kind: PoolKind;
  /** "default pool", "dynamic pool 1", "transient pool of nvme0". */
  label: string;
  start: string;
  end: string;
  bytes: string;
  nslabs: number;
  slotSize: number;
  nareas: number;
  used: number;
  areas: AreaModel[];
  /** Every run, free ones included, in slot order: what the slot map draws. */
  runs: SlotRunModel[];
  /** The runs in use (the table under the map). */
  inUse: SlotRunModel[];
}

export interface SwiotlbModel {
  nslabs: number;
  used: number;
  hiwater: number;
  transientNslabs: number;
  forceBounce: boolean;
  /** "4 of 2048 slots in use (0.2%), high water 4". */
  usage: string;
  pools: PoolModel[];
}

export interface VduseMapModel {
  /** The bounce map's number (iova >> 12) and IOVA. */
  index: number;
  iova: string;
  bouncePage: string | null;
  hasBouncePage: boolean;
  origPhys: string | null;
  /** The live streaming mapping over this 4K, and whether its bytes here agree with the original. */
  mapping: { device: string; dma: string; size: string; dir: string; line: number } | null;
  inSync: boolean | null;
  label: string;
  /** DMA sanitizer findings whose access touched this bounce page (absent when none). */
  findings?: BounceFindingModel[];
}

export interface VduseModel {
  iommu: string;
  name: string;
  bounceSize: string;
  iovaLimit: string;
  /** 4K bounce maps the bounce area holds (bounce_size / 4K). */
  mapsTotal: number;
  /** Maps with a bounce page (or orig_phys): the rest have never been used. */
  maps: VduseMapModel[];
  ranges: { start: string; last: string; addr: string; perm: string }[];
}

export interface BounceModel {
  swiotlb: SwiotlbModel | null;
  vduse: VduseModel[];
  /** Every live bounced mapping and how its copies compare. */
  mappings: BounceDiffView[];
  /** DMA sanitizer findings so far that touched bounce memory, at most MAX_BOUNCE_FINDINGS (the latest). */
  findings: BounceFindingModel[];
  summary: string;
}

/** Findings the model places: a loop can make thousands, the panel lists the latest. */
export const MAX_BOUNCE_FINDINGS = 256;

function hexAdd(a: string, b: bigint): string {
  return `0x${(BigInt(a) + b).toString(16)}`;
}

function pct(n: number, of: number): string {
  if (of === 0) return '0%';
  const p = (100 * n) / of;
  return `${p < 10 ? p.toFixed(1) : Math.round(p)}%`;
}

function runState(r: SwiotlbSlotRunView): SlotState {
  if (r.free) return 'free';
  if (r.inSync === true) return 'in-sync';
  if (r.inSync === false) return 'out-of-sync';
  return 'in-use';
}

function runLabel(r: SlotRunModel): string {
  if (r.state === 'free') return `slots ${r.index}..${r.index + r.count - 1} free (${r.addr}..${r.end}), area ${r.area}`;
  const sync = r.inSync === null ? '' : r.inSync ? ', bounce and original agree' : `, ${r.diff?.differing ?? 'some'} byte${r.diff?.differing === 1 ? '' : 's'} differ`;
  const map = r.mapping ? ` for ${r.mapping.device} dma ${r.mapping.dma} (line ${r.mapping.line})` : '';
  const pad = r.padSlots > 0 ? `, ${r.padSlots} padding slot${r.padSlots === 1 ? '' : 's'}` : '';
  return `slots ${r.index}..${r.index + r.count - 1} at ${r.addr}: orig_addr ${r.origAddr ?? '?'}, alloc_size ${r.allocSize}${r.dir ? `, ${r.dir}` : ''}${pad}${map}${sync}`;
}

function poolModel(p: SwiotlbPoolViewJson, i: number, dynamicNo: number, diffs: BounceDiffView[]): PoolModel {
  const kind: PoolKind = p.transient ? 'transient' : i === 0 ? 'default' : 'dynamic';
  const label = kind === 'default' ? 'default pool' : kind === 'dynamic' ? `dynamic pool ${dynamicNo}` : `transient pool${p.owner ? ` of ${p.owner}` : ''}`;
  const bytes = BigInt(p.end) - BigInt(p.start);
  const slotSize = p.nslabs > 0 ? Number(bytes / BigInt(p.nslabs)) : 0;
  const areaSlots = p.nareas > 0 ? Math.floor(p.nslabs / p.nareas) : p.nslabs;
  const id = `p${i}`;
  const runs = p.runs.map((r): SlotRunModel => {
    const end = hexAdd(r.addr, BigInt(r.count * slotSize));
    // The mapping whose bounce address falls in this run (padding slots come first).
    const d = r.free ? undefined : diffs.find((x) => x.via === 'swiotlb' && BigInt(x.bounce) >= BigInt(r.addr) && BigInt(x.bounce) < BigInt(end));
    const m: SlotRunModel = {
      id: `${id}.s${r.index}`,
      index: r.index,
      count: r.count,
      state: runState(r),
      addr: r.addr,
      end,
      area: r.area,
      origAddr: r.origAddr,
      allocSize: r.allocSize,
      padSlots: r.padSlots,
      dir: r.dir,
      inSync: r.inSync,
      mapping: d ? { device: d.device, dma: d.dma, size: d.size, line: d.line } : null,
      diff: d ? { compared: d.compared, differing: d.differing, bytes: d.diffs, listedAll: d.diffs.length === d.differing } : null,
      label: '',
    };
    m.label = runLabel(m);
    return m;
  });
  return {
    id,
    kind,
    label,
    start: p.start,
    end: p.end,
    bytes: `0x${bytes.toString(16)}`,
    nslabs: p.nslabs,
    slotSize,
    nareas: p.nareas,
    used: p.areas.reduce((n, a) => n + a.used, 0),
    areas: p.areas.map((a, n) => ({ area: n, firstSlot: n * areaSlots, slots: n === p.nareas - 1 ? p.nslabs - n * areaSlots : areaSlots, used: a.used, nextIndex: a.index, start: hexAdd(p.start, BigInt(n * areaSlots * slotSize)) })),
    runs,
    inUse: runs.filter((r) => r.state !== 'free'),
  };
}

function swiotlbModel(s: SwiotlbStateView, diffs: BounceDiffView[]): SwiotlbModel {
  let dynamicNo = 0;
  const pools = s.pools.map((p, i) => poolModel(p, i, !p.transient && i > 0 ? ++dynamicNo : 0, diffs));
  return {
    nslabs: s.nslabs,
    used: s.used,
    hiwater: s.hiwater,
    transientNslabs: s.transientNslabs,
    forceBounce: s.forceBounce,
    usage: `${s.used} of ${s.nslabs} slots in use (${pct(s.used, s.nslabs)}), high water ${s.hiwater}${s.transientNslabs > 0 ? `, ${s.transientNslabs} in transient pools` : ''}`,
    pools,
  };
}

const PERMS: Record<number, string> = { 0: 'none', 1: 'RO', 2: 'WO', 3: 'RW' };

function vduseModel(v: VduseView, diffs: BounceDiffView[]): VduseModel {
  const mine = diffs.filter((d) => d.via === 'vduse');
  const maps = v.bounceMaps.map((b): VduseMapModel => {
    const iova = BigInt(b.iova);
    const d = mine.find((x) => iova + 0x1000n > BigInt(x.dma) && iova < BigInt(x.dma) + BigInt(x.size));
    let inSync: boolean | null = null;
    if (d) {
      // Offsets of the mapping that fall in this 4K.
      const lo = Number(iova > BigInt(d.dma) ? iova - BigInt(d.dma) : 0n);
      const hi = Number(iova + 0x1000n - BigInt(d.dma));
      const listedAll = d.diffs.length === d.differing;
      const here = d.diffs.some((x) => x.offset >= lo && x.offset < hi);
      inSync = here ? false : listedAll || d.differing === 0 ? true : null;
    }
    const m: VduseMapModel = {
      index: b.index,
      iova: b.iova,
      bouncePage: b.bouncePage,
      hasBouncePage: b.bouncePage !== null,
      origPhys: b.origPhys,
      mapping: d ? { device: d.device, dma: d.dma, size: d.size, dir: d.dir, line: d.line } : null,
      inSync,
      label: '',
    };
    const page = m.hasBouncePage ? `bounce page ${m.bouncePage}` : 'no bounce page';
    const orig = m.origPhys ? `orig_phys ${m.origPhys}` : 'orig_phys INVALID_PHYS_ADDR (idle)';
    const sync = inSync === null ? '' : inSync ? ', in sync' : ', bounce and original differ';
    m.label = `IOVA ${m.iova} (map ${m.index}): ${page}, ${orig}${m.mapping ? `, mapped by ${m.mapping.device} at line ${m.mapping.line}` : ''}${sync}`;
    return m;
  });
  return {
    iommu: v.iommu,
    name: v.name,
    bounceSize: v.bounceSize,
    iovaLimit: v.iovaLimit,
    mapsTotal: Number(BigInt(v.bounceSize) >> 12n),
    maps,
    ranges: v.ranges.map((r) => ({ start: r.start, last: r.last, addr: r.addr, perm: PERMS[r.perm] ?? String(r.perm) })),
  };
}

/**
 * Places sanitizer findings on the slot runs and VDUSE bounce pages their
 * access touched (the latest MAX_BOUNCE_FINDINGS that touched any, in run
 * order), and names them in those places' hover text.
 */
function placeFindings(sw: SwiotlbModel | null, vd: VduseModel[], findings: readonly SanitizerFindingView[]): BounceFindingModel[] {
  const placed: BounceFindingModel[] = [];
  const marked = new Set<{ findings?: BounceFindingModel[]; label: string }>();
  for (let i = findings.length - 1; i >= 0 && placed.length < MAX_BOUNCE_FINDINGS; i--) {
    const f = findings[i];
    const lo = BigInt(f.phys);
    const hi = BigInt(f.end);
    const model: BounceFindingModel = { ...f, where: [] };
    const mark = (target: { findings?: BounceFindingModel[]; label: string }, where: string): void => {
      (target.findings ??= []).push(model);
      marked.add(target);
      model.where.push(where);
    };
    for (const p of sw?.pools ?? []) {
      if (hi <= BigInt(p.start) || lo >= BigInt(p.end)) continue;
      for (const r of p.runs) if (lo < BigInt(r.end) && hi > BigInt(r.addr)) mark(r, r.id);
    }
    for (const v of vd) {
      for (const m of v.maps) {
        if (m.bouncePage === null) continue;
        const page = BigInt(m.bouncePage);
        if (lo < page + 0x1000n && hi > page) mark(m, `${v.iommu} map ${m.index}`);
      }
    }
    if (model.where.length > 0) placed.push(model);
  }
  for (const t of marked) {
    t.findings?.reverse();
    const lines = [...new Set(t.findings?.map((f) => f.line))].join(', ');
    t.label += `; DMA sanitizer: ${t.findings?.length ?? 0} finding${t.findings?.length === 1 ? '' : 's'} (line ${lines})`;
  }
  return placed.reverse();
}

/**
 * The panel's model of the bounce state at one point of a run; `findings`
 * (sanitizerFindings of the run's checks so far) are placed on the slots and
 * bounce pages they touched.
 */
export function buildBounceModel(swiotlb: SwiotlbStateView | null, vduse: VduseView[], diffs: BounceDiffView[], findings: readonly SanitizerFindingView[] = []): BounceModel {
  const sw = swiotlb ? swiotlbModel(swiotlb, diffs) : null;
  const vd = vduse.map((v) => vduseModel(v, diffs));
  const placed = placeFindings(sw, vd, findings);
  const stale = diffs.filter((d) => d.differing > 0).length;
  const parts: string[] = [];
  if (sw) parts.push(`swiotlb: ${sw.usage}`);
  else parts.push('no swiotlb pool');
  for (const v of vd) parts.push(`VDUSE ${v.iommu}: ${v.maps.filter((m) => m.hasBouncePage).length} of ${v.mapsTotal} bounce maps have a page`);
  parts.push(`${diffs.length} bounced mapping${diffs.length === 1 ? '' : 's'} live${stale > 0 ? `, ${stale} with bounce and original differing` : ''}`);
  if (placed.length > 0) parts.push(`${placed.length} DMA sanitizer finding${placed.length === 1 ? '' : 's'} on bounce memory`);
  return { swiotlb: sw, vduse: vd, mappings: diffs, findings: placed, summary: parts.join(' · ') };
}
