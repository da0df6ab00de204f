// Replays a capture's events per device: the live DMA mappings (streaming,
// coherent, scatter-gather), the IOVA space the iommu:map/unmap events
// describe, and the swiotlb bounce buffers in flight, over time. Runs the
// checks a capture carries enough information for, as findings:
//   unmap_unknown         an unmap/free of an address with no live mapping
//   unmap_size_mismatch   unmapped with another size than mapped
//   unmap_dir_mismatch    unmapped (or synced) with another direction
//   unmap_wrong_function  a streaming mapping freed as coherent memory, or the reverse
//   iommu_unmap_short     iommu:unmap removed less than it was asked to
//   sync_unknown          a sync of memory no live mapping contains
//   fault_after_unmap     a fault on an address mapped earlier and unmapped at line N
//   fault_in_live_mapping a fault inside a live mapping (a direction or permission problem)
//   swiotlb_pressure      who held the bounce buffers when swiotlb ran full
//   leak                  mappings still live at the end of the capture

import type { CaptureEvents } from './event-store';
import type { Finding, ImportResult } from './types';
import { sortByLine } from './fold';
import { StartIndex, type StartEntry } from './start-index';
import { ownString, toHex } from './values';

/**
 * Addresses below 2^53 are exact as Numbers: the replay keeps and compares
 * them so (a BigInt parsed and added per map and unmap cost a sixth of an
 * import), and BigInts only for a range that ends at 2^53 or past it.
 */
const SAFE_END = 2 ** 53;

/** A range's first address and end when it ends at 2^53 or past it. */
interface BigRange {
  start: bigint;
  end: bigint;
}

/**
 * [start, end): lo and hi exact when big is undefined (hi < 2^53); else big
 * holds them (lo, hi then rounded). Its fields and its subclasses' are
 * declared and assigned in the constructor, not defined as class fields:
 * defining them costs several times more, and a range is made per map and unmap.
 */
abstract class AddrRange {
  declare readonly lo: number;
  declare readonly hi: number;
  declare readonly big: BigRange | undefined;

  constructor(lo: number, hi: number, big: BigRange | undefined) {
    this.lo = lo;
    this.hi = hi;
    this.big = big;
  }

  /** The first address. */
  get start(): bigint {
    return this.big === undefined ? BigInt(this.lo) : this.big.start;
  }

  /** One past the last address. */
  get end(): bigint {
    return this.big === undefined ? BigInt(this.hi) : this.big.end;
  }
}

/**
 * The Number of a `0x` hex address of at most 13 digits (below 2^52, exact),
 * else NaN (BigInt(text) then). Read by hand: Number(text) parses as slowly
 * as BigInt(text) does, which is most of what a BigInt cost here.
 */
function addrNumber(text: string): number {
  const len = text.length;
  if (len < 3 || len > 15 || text.charCodeAt(0) !== 48 || text.charCodeAt(1) !== 120) return Number.NaN;
  let n = 0;
  for (let i = 2; i < len; i++) {
    const c = text.charCodeAt(i);
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (d < 0) return Number.NaN;
    n = n * 16 + d;
  }
  return n;
}

/** The range [addr, addr + max(size, 1)) as lo, hi and big (fields of the scratch below; no object made). */
function spanOf(addr: string, size: number): void {
  spanFrom(addrNumber(addr), addr, size);
}

/** spanOf() of event i's address: its Number read from the store when it has one (no text parsed back). */
function spanAt(events: CaptureEvents, i: number, addr: string, size: number): void {
  const n = events.addrNumberAt(i);
  spanFrom(n === n ? n : addrNumber(addr), addr, size);
}

/** spanOf() with lo = addrNumber(addr) given. */
function spanFrom(lo: number, addr: string, size: number): void {
  const hi = lo + Math.max(size, 1);
  // NaN fails the test: not a 0x address below 2^53, or no size.
  if (hi < SAFE_END) {
    span.lo = lo;
    span.hi = hi;
    span.big = undefined;
    return;
  }
  const start = BigInt(addr);
  const end = start + BigInt(Math.max(size, 1));
  span.lo = Number(start);
  span.hi = Number(end);
  span.big = { start, end };
}

/** What spanOf computed last. */
const span: { lo: number; hi: number; big: BigRange | undefined } = { lo: 0, hi: 0, big: undefined };

/** Whether range m holds [lo, hi) (the query's big set when it ends at 2^53 or past it). */
function holds(m: AddrRange, lo: number, hi: number, big: BigRange | undefined): boolean {
  if (m.big === undefined && big === undefined) return m.lo <= lo && hi <= m.hi;
  return m.start <= (big === undefined ? BigInt(lo) : big.start) && (big === undefined ? BigInt(hi) : big.end) <= m.end;
}

export class LiveMapping extends AddrRange {
  declare readonly kind: 'single' | 'coherent' | 'sg' | 'iommu';
  declare readonly event: string;
  declare readonly device: string;
  /** Canonical hex of the first DMA address. */
  declare readonly addr: string;
  declare readonly size: number;
  declare readonly dir: string | undefined;
  declare readonly phys: string | undefined;
  declare readonly line: number;
  /** Bytes of swiotlb slots this mapping holds (2 KiB granules), 0 if not bounced. */
  declare readonly bounce: number;
  /** For scatter-gather: the key of its phys list (dma_unmap_sg names only those). */
  declare readonly sgKey: string | undefined;

  constructor(
    kind: LiveMapping['kind'],
    event: string,
    device: string,
    addr: string,
    lo: number,
    hi: number,
    big: BigRange | undefined,
    size: number,
    dir: string | undefined,
    phys: string | undefined,
    line: number,
    bounce: number,
    sgKey: string | undefined,
  ) {
    super(lo, hi, big);
    this.kind = kind;
    this.event = event;
    this.device = device;
    this.addr = addr;
    this.size = size;
    this.dir = dir;
    this.phys = phys;
    this.line = line;
    this.bounce = bounce;
    this.sgKey = sgKey;
  }
}

export interface TimelinePoint {
  line: number;
  live: number;
  bytes: number;
  bounce_bytes: number;
}

export interface DeviceReplay {
  device: string;
  maps: number;
  unmaps: number;
  syncs: number;
  bounces: number;
  bounce_bytes: number;
  live_at_end: number;
  live_bytes_at_end: number;
  peak_live: number;
  peak_live_bytes: number;
  peak_line: number;
  peak_bounce_bytes: number;
  /** Lowest and highest DMA address this device used (the IOVA space it spread over). */
  lowest_addr?: string;
  highest_addr?: string;
  /** Live mappings, bytes and bounce bytes over the file, at most TIMELINE_POINTS points (each the peak of its stretch). */
  timeline: TimelinePoint[];
}

export interface ReplaySummary {
  devices: DeviceReplay[];
  /** The iommu:map/unmap IOVA space (per device when the events name one, else `(iommu)`). */
  iommu_spaces: { name: string; maps: number; unmaps: number; live_at_end: number; live_bytes_at_end: number; peak_live_bytes: number }[];
}

/** An iommu:map/unmap IOVA space. */
export interface IovaSpace {
  state: DeviceState;
  maps: number;
  unmaps: number;
  /** Its live keys by address, for iommu:unmap. */
  starts: StartIndex;
}

export const TIMELINE_POINTS = 256;
const IO_TLB_SIZE = 2048n;
const LEAK_LINES = 10;

/** Bytes of the address pages the unmapped ranges are filed under for the fault checks. */
const UNMAPPED_PAGE = 4096;

/** A range unmapped at unmapLine (the last one unmapped at its start address). */
export class Unmapped extends AddrRange {
  // hi and the lines are refilled in place when the same start is unmapped again (see DeviceState.recordUnmap).
  declare hi: number;
  /** When its start address was first unmapped (the unmapped map's order, which breaks ties between equally recent ranges). */
  declare order: number;
  /** Canonical hex of the first address (the key it is filed under). */
  declare readonly addr: string;
  declare mapLine: number;
  declare unmapLine: number;
  declare dir: string | undefined;
  declare event: string;
  /** The DeviceState that may refill it (its stamp when this was made); 0: none. */
  declare readonly stamp: number;

  constructor(lo: number, hi: number, big: BigRange | undefined, addr: string, mapLine: number, unmapLine: number, dir: string | undefined, event: string, stamp: number) {
    super(lo, hi, big);
    this.order = 0;
    this.addr = addr;
    this.mapLine = mapLine;
    this.unmapLine = unmapLine;
    this.dir = dir;
    this.event = event;
    this.stamp = stamp;
  }

  /** The range [start, end) as unmapped: for a state built by hand (the tests' oracle). */
  static of(start: bigint, end: bigint, mapLine: number, unmapLine: number, dir: string | undefined, event: string): Unmapped {
    const small = end < SAFE_END;
    return new Unmapped(Number(start), Number(end), small ? undefined : { start, end }, toHex(start), mapLine, unmapLine, dir, event, 0);
  }
}

/** DeviceState stamps: a state's Unmapped objects carry its stamp while no copy shares them. */
let nextStamp = 1;

export class DeviceState {
  readonly live = new Map<string, LiveMapping[]>();
  readonly sg = new Map<string, LiveMapping[]>();
  /** The last mapping unmapped at each start address (set through setUnmapped). */
  readonly unmapped = new Map<string, Unmapped>();
  /**
   * The same ranges ending below 2^53, by the page their start is in:
   * a fault looks only at the pages a range holding its address can start
   * in (no further back than the longest range), not at every range.
   */
  private unmappedByPage = new Map<number, Unmapped[]>();
  /** The ranges ending at 2^53 or past it (compared as BigInts). */
  private unmappedHuge: Unmapped[] = [];
  /** Bytes of the longest range in unmappedByPage (plus one), ever. */
  private unmappedSpan = 0;
  private unmappedOrder = 0;
  /**
   * Unmapped objects made with this stamp are this state's alone and are
   * refilled in place; clone() gives the state a new stamp, so the ranges
   * it now shares with the copy are replaced, never changed.
   */
  private stamp = nextStamp++;
  /** Bounces announced by swiotlb_bounced and not yet matched to their map event: orig address -> size. */
  readonly pendingBounce = new Map<string, number>();
  liveCount = 0;
  liveBytes = 0;
  bounceBytes = 0;
  readonly stats: DeviceReplay;
  private bucket = -1;
  private point: TimelinePoint | undefined;
  /** Lowest first address and highest last address of the ranges below 2^53 (NaN: none yet). */
  private lowNum = Number.NaN;
  private highNum = Number.NaN;
  /** The same of the ranges ending at 2^53 or past it. */
  private lowBig: bigint | undefined;
  private highBig: bigint | undefined;

  constructor(
    device: string,
    private readonly bucketLines: number,
  ) {
    this.stats = {
      device,
      maps: 0,
      unmaps: 0,
      syncs: 0,
      bounces: 0,
      bounce_bytes: 0,
      live_at_end: 0,
      live_bytes_at_end: 0,
      peak_live: 0,
      peak_live_bytes: 0,
      peak_line: 0,
      peak_bounce_bytes: 0,
      timeline: [],
    };
  }

  sample(line: number): void {
    const s = this.stats;
    if (this.liveBytes > s.peak_live_bytes || (this.liveBytes === s.peak_live_bytes && this.liveCount > s.peak_live)) {
      s.peak_live_bytes = this.liveBytes;
      s.peak_line = line;
    }
    if (this.liveCount > s.peak_live) s.peak_live = this.liveCount;
    if (this.bounceBytes > s.peak_bounce_bytes) s.peak_bounce_bytes = this.bounceBytes;
    const b = Math.floor(line / this.bucketLines);
    if (b !== this.bucket || this.point === undefined) {
      this.bucket = b;
      this.point = { line, live: this.liveCount, bytes: this.liveBytes, bounce_bytes: this.bounceBytes };
      s.timeline.push(this.point);
      return;
    }
    const p = this.point;
    if (this.liveBytes > p.bytes) {
      p.bytes = this.liveBytes;
      p.line = line;
    }
    if (this.liveCount > p.live) p.live = this.liveCount;
    if (this.bounceBytes > p.bounce_bytes) p.bounce_bytes = this.bounceBytes;
  }

  /** Lowest DMA address used so far. */
  get lowest(): bigint | undefined {
    const n = this.lowNum === this.lowNum ? BigInt(this.lowNum) : undefined;
    if (this.lowBig === undefined) return n;
    return n === undefined || this.lowBig < n ? this.lowBig : n;
  }

  /** Highest DMA address used so far. */
  get highest(): bigint | undefined {
    const n = this.highNum === this.highNum ? BigInt(this.highNum) : undefined;
    if (this.highBig === undefined) return n;
    return n === undefined || this.highBig > n ? this.highBig : n;
  }

  /** Widens the address span used by range r. */
  range(r: AddrRange): void {
    if (r.big === undefined) {
      // (NaN compares false: the first range sets both.)
      if (!(r.lo >= this.lowNum)) this.lowNum = r.lo;
      if (!(r.hi - 1 <= this.highNum)) this.highNum = r.hi - 1;
      return;
    }
    if (this.lowBig === undefined || r.big.start < this.lowBig) this.lowBig = r.big.start;
    if (this.highBig === undefined || r.big.end - 1n > this.highBig) this.highBig = r.big.end - 1n;
  }

  /** The live mapping containing [start, end), if any. */
  containing(start: bigint, end: bigint): LiveMapping | undefined {
    const small = end < SAFE_END;
    return this.containingRange(Number(start), Number(end), small ? undefined : { start, end });
  }

  /** containing() of [lo, hi), or of big when the range ends at 2^53 or past it. */
  containingRange(lo: number, hi: number, big: BigRange | undefined): LiveMapping | undefined {
    for (const list of this.live.values()) for (const m of list) if (holds(m, lo, hi, big)) return m;
    return undefined;
  }

  /**
   * A copy that later applies do not change (the debugger's snapshots).
   * Mappings are never changed once made, so the lists share them.
   */
  clone(): DeviceState {
    const c = new DeviceState(this.stats.device, this.bucketLines);
    for (const [k, list] of this.live) c.live.set(k, list.slice());
    for (const [k, list] of this.sg) c.sg.set(k, list.slice());
    for (const [k, u] of this.unmapped) c.unmapped.set(k, u);
    for (const [p, list] of this.unmappedByPage) c.unmappedByPage.set(p, list.slice());
    c.unmappedHuge = this.unmappedHuge.slice();
    c.unmappedSpan = this.unmappedSpan;
    c.unmappedOrder = this.unmappedOrder;
    this.stamp = nextStamp++;
    for (const [k, n] of this.pendingBounce) c.pendingBounce.set(k, n);
    c.liveCount = this.liveCount;
    c.liveBytes = this.liveBytes;
    c.bounceBytes = this.bounceBytes;
    Object.assign(c.stats, this.stats, { timeline: this.stats.timeline.map((p) => ({ ...p })) });
    c.bucket = this.bucket;
    c.point = c.stats.timeline.length > 0 ? c.stats.timeline[c.stats.timeline.length - 1] : undefined;
    c.lowNum = this.lowNum;
    c.highNum = this.highNum;
    c.lowBig = this.lowBig;
    c.highBig = this.highBig;
    return c;
  }

  /**
   * Records mapping m as unmapped at `line`: the last range unmapped at its
   * start. A range unmapped there before by this state is refilled in place
   * (the same start, so the same key, order and page: no object, no map
   * update); else a new one is filed.
   */
  recordUnmap(m: LiveMapping, line: number, dir: string | undefined, event: string): void {
    const old = this.unmapped.get(m.addr);
    if (old !== undefined && old.stamp === this.stamp && old.big === undefined && m.big === undefined) {
      if (m.hi - m.lo + 1 > this.unmappedSpan) this.unmappedSpan = m.hi - m.lo + 1;
      old.hi = m.hi;
      old.mapLine = m.line;
      old.unmapLine = line;
      old.dir = dir;
      old.event = event;
      return;
    }
    this.setUnmapped(m.addr, new Unmapped(m.lo, m.hi, m.big, m.addr, m.line, line, dir, event, this.stamp));
  }

  /** Records `u` as the last range unmapped at start address `key`. */
  setUnmapped(key: string, u: Unmapped): void {
    const old = this.unmapped.get(key);
    this.unmapped.set(key, u);
    const small = u.big === undefined;
    if (small && u.hi - u.lo + 1 > this.unmappedSpan) this.unmappedSpan = u.hi - u.lo + 1;
    if (old === undefined) u.order = this.unmappedOrder++;
    else {
      u.order = old.order;
      const list = old.big === undefined ? this.unmappedByPage.get(Math.floor(old.lo / UNMAPPED_PAGE)) : this.unmappedHuge;
      const k = list === undefined ? -1 : list.indexOf(old);
      if (list !== undefined && k >= 0) {
        // The same start: the same page (or both past 2^53): the new range takes the old one's place.
        if ((old.big === undefined) === small) {
          list[k] = u;
          return;
        }
        list[k] = list[list.length - 1];
        list.length--;
      }
    }
    if (!small) {
      this.unmappedHuge.push(u);
      return;
    }
    const page = Math.floor(u.lo / UNMAPPED_PAGE);
    const list = this.unmappedByPage.get(page);
    if (list === undefined) this.unmappedByPage.set(page, [u]);
    else list.push(u);
  }

  /** The most recently unmapped range containing addr (of equally recent ones, the start address unmapped first). */
  unmappedAt(addr: bigint): Unmapped | undefined {
    if (addr < SAFE_END) return this.unmappedAtNumber(Number(addr));
    // Past 2^53 only a range ending there or past it can hold it.
    let best: Unmapped | undefined;
    for (const u of this.unmappedHuge) if (u.start <= addr && addr < u.end) best = later(best, u);
    return best;
  }

  /** unmappedAt() of an address below 2^53. */
  unmappedAtNumber(a: number): Unmapped | undefined {
    let best: Unmapped | undefined;
    for (const u of this.unmappedHuge) if (u.start <= a && a < u.end) best = later(best, u);
    const last = Math.floor(a / UNMAPPED_PAGE);
    // A range holding a starts past a minus its length (unmappedSpan - 1): a page-aligned
    // address of a capture of 4 KiB mappings then looks in one page, not two.
    const first = Math.floor(Math.max(0, a - this.unmappedSpan + 2) / UNMAPPED_PAGE);
    if (last - first + 1 <= this.unmappedByPage.size) {
      for (let p = first; p <= last; p++) {
        const list = this.unmappedByPage.get(p);
        if (list !== undefined) for (const u of list) if (u.lo <= a && a < u.hi) best = later(best, u);
      }
    } else {
      for (const list of this.unmappedByPage.values()) for (const u of list) if (u.lo <= a && a < u.hi) best = later(best, u);
    }
    return best;
  }
}

/** Of two unmapped ranges, the more recent (of equally recent ones, the start address unmapped first). */
function later(best: Unmapped | undefined, u: Unmapped): Unmapped {
  return best === undefined || u.unmapLine > best.unmapLine || (u.unmapLine === best.unmapLine && u.order < best.order) ? u : best;
}

/** Own field k of event i when it is a string (k -1: the format has no such field). */
function stringFieldAt(events: CaptureEvents, i: number, k: number): string | undefined {
  if (k < 0) return undefined;
  const v = events.fieldValueAt(i, k);
  return typeof v === 'string' ? v : undefined;
}

/** What apply() does with an event, by its name (looked up once per format). */
const enum Op {
  None,
  MapSingle,
  Alloc,
  MapCoherent,
  UnmapSingle,
  UnmapCoherent,
  MapSg,
  UnmapSg,
  Sync,
  Bounced,
  IommuMap,
  IommuUnmap,
}

function opOf(kind: string): Op {
  switch (kind) {
    case 'dma_map_phys':
    case 'dma_map_page':
    case 'dma_map_resource':
    case 'map_single':
    case 'bounce_map_single':
      return Op.MapSingle;
    case 'dma_alloc':
      return Op.Alloc;
    case 'dma_alloc_pages':
    case 'dma_alloc_sgt':
      return Op.MapCoherent;
    case 'dma_unmap_phys':
    case 'dma_unmap_page':
    case 'dma_unmap_resource':
    case 'unmap_single':
    case 'bounce_unmap_single':
      return Op.UnmapSingle;
    case 'dma_free':
    case 'dma_free_pages':
    case 'dma_free_sgt':
      return Op.UnmapCoherent;
    case 'dma_map_sg':
      return Op.MapSg;
    case 'dma_unmap_sg':
      return Op.UnmapSg;
    case 'dma_sync_single_for_cpu':
    case 'dma_sync_single_for_device':
      return Op.Sync;
    case 'swiotlb_bounced':
      return Op.Bounced;
    case 'map':
      return Op.IommuMap;
    case 'unmap':
      return Op.IommuUnmap;
    default:
      return Op.None;
  }
}

/** What the replay reads of a format: its op and where its own fields are (-1: none). */
interface ReplayFormat {
  op: Op;
  dir: number;
  physAddr: number;
  paddr: number;
  unmappedSize: number;
}

function replayFormat(events: CaptureEvents, i: number): ReplayFormat {
  const id = events.formatIdAt(i);
  return {
    op: opOf(events.kindAt(i)),
    dir: events.fieldIndexOf(id, 'dir'),
    physAddr: events.fieldIndexOf(id, 'phys_addr'),
    paddr: events.fieldIndexOf(id, 'paddr'),
    unmappedSize: events.fieldIndexOf(id, 'unmapped_size'),
  };
}

function listField<T>(events: CaptureEvents, i: number, name: string): T[] {
  const v = events.fieldAt(i, name);
  return Array.isArray(v) ? (v as T[]) : [];
}

/** Best fit as dma-debug does: the same size and direction first, then the same size, else the first. */
function bestFit(list: readonly LiveMapping[], size: number | undefined, dir: string | undefined): number {
  let sameSize = -1;
  for (let k = 0; k < list.length; k++) {
    if (list[k].size !== size) continue;
    if (list[k].dir === dir) return k;
    if (sameSize < 0) sameSize = k;
  }
  return sameSize < 0 ? 0 : sameSize;
}

/** The first mapping of a list that ends at or after `end`. */
function firstEndingAfter(list: readonly LiveMapping[] | undefined, hi: number, big: BigRange | undefined): LiveMapping | undefined {
  if (list === undefined) return undefined;
  for (const m of list) if (m.big === undefined && big === undefined ? hi <= m.hi : (big === undefined ? BigInt(hi) : big.end) <= m.end) return m;
  return undefined;
}

/** Removes list[k] keeping the order (no array made, as splice makes one). */
function removeAt<T>(list: T[], k: number): void {
  for (let j = k + 1; j < list.length; j++) list[j - 1] = list[j];
  list.length--;
}

function bounceBytesOf(size: number): number {
  if (size >= 0 && size < 2 ** 52) return Math.floor((size + 2047) / 2048) * 2048;
  const n = BigInt(size);
  return Number(((n + IO_TLB_SIZE - 1n) / IO_TLB_SIZE) * IO_TLB_SIZE);
}

/** iommu:unmap of [lo, hi) (or big) on one key's list: removes the mappings it holds, last first; returns how many. */
function unmapHeld(s: DeviceState, list: LiveMapping[], lo: number, hi: number, big: BigRange | undefined, line: number): number {
  let removed = 0;
  for (let k = list.length - 1; k >= 0; k--) {
    const m = list[k];
    if (m.big === undefined && big === undefined ? m.lo >= lo && m.hi <= hi : m.start >= (big === undefined ? BigInt(lo) : big.start) && m.end <= (big === undefined ? BigInt(hi) : big.end)) {
      removeAt(list, k);
      s.liveCount--;
      s.liveBytes -= m.size;
      s.recordUnmap(m, line, undefined, 'map');
      removed++;
    }
  }
  return removed;
}

/** The replay of one capture; feed events and findings in line order. */
export class CaptureReplay {
  readonly devices = new Map<string, DeviceState>();
  readonly iommu = new Map<string, IovaSpace>();
  readonly findings: Finding[] = [];
  /** iommuUnmap's scratch: the live keys starting in the unmapped range. */
  private readonly inRange: StartEntry[] = [];
  /** faultStates' scratch. */
  private readonly faultScratch: DeviceState[] = [];
  /** What apply() reads of each format, by format id. */
  private readonly formats: ReplayFormat[] = [];
  /** What dev() and space() gave last: a device's map, sync and unmap come in a row (no lookup then). */
  private lastDev: DeviceState | undefined;
  private lastSpace: IovaSpace | undefined;

  constructor(private readonly bucketLines = 1) {}

  /** A copy that later applies do not change (the debugger's snapshots); its findings start empty. */
  clone(): CaptureReplay {
    const c = new CaptureReplay(this.bucketLines);
    for (const [k, d] of this.devices) c.devices.set(k, d.clone());
    for (const [k, sp] of this.iommu) c.iommu.set(k, { state: sp.state.clone(), maps: sp.maps, unmaps: sp.unmaps, starts: sp.starts.clone() });
    return c;
  }

  private dev(name: string): DeviceState {
    const last = this.lastDev;
    if (last !== undefined && last.stats.device === name) return last;
    let d = this.devices.get(name);
    if (d === undefined) {
      d = new DeviceState(name, this.bucketLines);
      this.devices.set(name, d);
    }
    this.lastDev = d;
    return d;
  }

  private space(name: string): IovaSpace {
    const last = this.lastSpace;
    if (last !== undefined && last.state.stats.device === name) return last;
    let s = this.iommu.get(name);
    if (s === undefined) {
      s = { state: new DeviceState(name, this.bucketLines), maps: 0, unmaps: 0, starts: new StartIndex() };
      this.iommu.set(name, s);
    }
    this.lastSpace = s;
    return s;
  }

  private report(line: number, kind: string, severity: 'error' | 'warning' | 'info', device: string | undefined, message: string, extra: Record<string, unknown> = {}): void {
    this.add(Object.assign(this.finding(line, kind, severity, message), extra), device);
  }

  /** A replay finding's first keys; its own fields follow, then add() names the device. */
  private finding(line: number, kind: string, severity: 'error' | 'warning' | 'info', message: string): Finding {
    // The message in one piece: a template's pieces would be kept as a tree of joins.
    return { line, kind, severity, source: 'replay', message: ownString(message) };
  }

  private add(f: Finding, device: string | undefined): void {
    if (device !== undefined) f.device = device;
    this.findings.push(f);
  }

  /** Applies event i of `events` (read from its columns: no event object is made). */
  apply(events: CaptureEvents, i: number): void {
    const rf = (this.formats[events.formatIdAt(i)] ??= replayFormat(events, i));
    switch (rf.op) {
      case Op.MapSingle:
        return this.map(events, i, rf, events.kindAt(i), 'single', stringFieldAt(events, i, rf.physAddr));
      case Op.Alloc:
        if (events.addrAt(i) === '0x0') return; // a failed allocation traces dma_addr 0
        return this.map(events, i, rf, events.kindAt(i), 'coherent', undefined);
      case Op.MapCoherent:
        return this.map(events, i, rf, events.kindAt(i), 'coherent', undefined);
      case Op.UnmapSingle:
        return this.unmap(events, i, rf, events.kindAt(i), 'single');
      case Op.UnmapCoherent:
        return this.unmap(events, i, rf, events.kindAt(i), 'coherent');
      case Op.MapSg:
        return this.mapSg(events, i, rf, events.kindAt(i));
      case Op.UnmapSg:
        return this.unmapSg(events, i, rf, events.kindAt(i));
      case Op.Sync:
        return this.sync(events, i, rf, events.kindAt(i));
      case Op.Bounced:
        return this.bounced(events, i);
      case Op.IommuMap:
        return this.iommuMap(events, i, rf);
      case Op.IommuUnmap:
        return this.iommuUnmap(events, i, rf);
      default:
        return;
    }
  }

  private map(events: CaptureEvents, i: number, rf: ReplayFormat, kind: string, how: 'single' | 'coherent', phys: string | undefined): void {
    const device = events.deviceAt(i);
    const size = events.sizeAt(i);
    if (device === undefined || size === undefined) return;
    const addr = events.addrAt(i);
    if (addr === undefined) return;
    const line = events.lineAt(i);
    const d = this.dev(device);
    spanAt(events, i, addr, size);
    let bounce = 0;
    if (phys !== undefined) {
      const b = d.pendingBounce.get(phys);
      if (b !== undefined) {
        d.pendingBounce.delete(phys);
        bounce = bounceBytesOf(b);
      }
    }
    const m = new LiveMapping(how, kind, device, addr, span.lo, span.hi, span.big, size, stringFieldAt(events, i, rf.dir), phys, line, bounce, undefined);
    const list = d.live.get(addr);
    if (list) list.push(m);
    else d.live.set(addr, [m]);
    d.liveCount++;
    d.liveBytes += size;
    d.bounceBytes += bounce;
    d.stats.maps++;
    d.range(m);
    d.sample(line);
  }

  private unmap(events: CaptureEvents, i: number, rf: ReplayFormat, kind: string, how: 'single' | 'coherent'): void {
    const device = events.deviceAt(i);
    const addr = events.addrAt(i);
    if (device === undefined || addr === undefined) return;
    const size = events.sizeAt(i);
    const line = events.lineAt(i);
    const dir = stringFieldAt(events, i, rf.dir);
    const d = this.dev(device);
    d.stats.unmaps++;
    const list = d.live.get(addr);
    if (list === undefined || list.length === 0) return this.unmapUnknown(d, kind, addr, device, size, line);
    // Best fit as dma-debug does: same size and direction first.
    const k = list.length === 1 ? 0 : bestFit(list, size, dir);
    const m = list[k];
    if (list.length === 1) d.live.delete(addr);
    else removeAt(list, k);
    if (size !== undefined && m.size !== size) {
      this.report(line, 'unmap_size_mismatch', 'error', device, `${kind} of ${addr} with size ${size}, mapped with size ${m.size} at line ${m.line}`, { addr, size, map_size: m.size, mapped_line: m.line });
    }
    if (dir !== undefined && m.dir !== undefined && dir !== m.dir && how === 'single') {
      this.report(line, 'unmap_dir_mismatch', 'error', device, `${kind} of ${addr} with ${dir}, mapped ${m.dir} at line ${m.line}`, { addr, dir, map_dir: m.dir, mapped_line: m.line });
    }
    if (m.kind !== how) {
      this.report(line, 'unmap_wrong_function', 'error', device, `${kind} of ${addr}, which was mapped by ${m.event} at line ${m.line}`, { addr, mapped_as: m.event, mapped_line: m.line });
    }
    this.retire(d, m, line);
  }

  /** An unmap of an address with no live mapping (a function of its own: unmap() compiles sooner without it). */
  private unmapUnknown(d: DeviceState, kind: string, addr: string, device: string, size: number | undefined, line: number): void {
    const before = d.unmapped.get(addr);
    const extra: Record<string, unknown> = { addr, event: kind };
    if (size !== undefined) extra.size = size;
    let msg = `${kind} of ${addr} on ${device}: no live mapping at that address`;
    if (before !== undefined) {
      msg += ` (it was mapped at line ${before.mapLine} and already unmapped at line ${before.unmapLine})`;
      extra.mapped_line = before.mapLine;
      extra.unmapped_line = before.unmapLine;
    } else {
      msg += ' (mapped before the capture began, or never mapped)';
    }
    this.report(line, 'unmap_unknown', 'error', device, msg, extra);
  }

  private retire(d: DeviceState, m: LiveMapping, line: number): void {
    d.liveCount--;
    d.liveBytes -= m.size;
    d.bounceBytes -= m.bounce;
    d.recordUnmap(m, line, m.dir, m.event);
    d.sample(line);
  }

  private mapSg(events: CaptureEvents, i: number, rf: ReplayFormat, kind: string): void {
    const device = events.deviceAt(i);
    if (device === undefined) return;
    const line = events.lineAt(i);
    const dir = stringFieldAt(events, i, rf.dir);
    const dma = listField<string>(events, i, 'dma_addrs');
    const sizes = listField<number>(events, i, 'sizes');
    const phys = listField<string>(events, i, 'phys_addrs');
    const d = this.dev(device);
    const sgKey = phys.join(',');
    const segs: LiveMapping[] = [];
    for (let k = 0; k < dma.length && k < sizes.length; k++) {
      spanOf(dma[k], sizes[k]);
      const m = new LiveMapping('sg', kind, device, dma[k], span.lo, span.hi, span.big, sizes[k], dir, undefined, line, 0, sgKey);
      segs.push(m);
      const list = d.live.get(m.addr);
      if (list) list.push(m);
      else d.live.set(m.addr, [m]);
      d.liveCount++;
      d.liveBytes += m.size;
      d.range(m);
    }
    const list = d.sg.get(sgKey);
    if (list) list.push(...segs);
    else d.sg.set(sgKey, segs);
    d.stats.maps++;
    d.sample(line);
  }

  private unmapSg(events: CaptureEvents, i: number, rf: ReplayFormat, kind: string): void {
    const device = events.deviceAt(i);
    if (device === undefined) return;
    const line = events.lineAt(i);
    const phys = listField<string>(events, i, 'phys_addrs');
    const d = this.dev(device);
    d.stats.unmaps++;
    const sgKey = phys.join(',');
    const segs = d.sg.get(sgKey);
    if (segs === undefined || segs.length === 0) {
      this.report(line, 'unmap_unknown', 'error', device, `dma_unmap_sg of phys_addrs={${sgKey}} on ${device}: no live dma_map_sg of that list (mapped before the capture began, or never mapped)`, { event: kind, phys_addrs: phys.slice() });
      return;
    }
    d.sg.delete(sgKey);
    const first = segs[0];
    const dir = stringFieldAt(events, i, rf.dir);
    if (dir !== undefined && first.dir !== undefined && dir !== first.dir) {
      this.report(line, 'unmap_dir_mismatch', 'error', device, `dma_unmap_sg with ${dir}, mapped ${first.dir} at line ${first.line}`, { dir, map_dir: first.dir, mapped_line: first.line });
    }
    for (const m of segs) {
      const list = d.live.get(m.addr);
      if (list) {
        const k = list.indexOf(m);
        if (k >= 0) list.splice(k, 1);
        if (list.length === 0) d.live.delete(m.addr);
      }
      this.retire(d, m, line);
    }
  }

  private sync(events: CaptureEvents, i: number, rf: ReplayFormat, kind: string): void {
    const device = events.deviceAt(i);
    const addr = events.addrAt(i);
    const size = events.sizeAt(i);
    if (device === undefined || addr === undefined || size === undefined) return;
    const line = events.lineAt(i);
    const d = this.dev(device);
    d.stats.syncs++;
    spanAt(events, i, addr, size);
    const m = firstEndingAfter(d.live.get(addr), span.hi, span.big) ?? d.containingRange(span.lo, span.hi, span.big);
    if (m === undefined) {
      this.report(line, 'sync_unknown', 'error', device, `${kind} of ${addr}+${size} on ${device}: no live mapping contains it`, { addr, size, event: kind });
      return;
    }
    const dir = stringFieldAt(events, i, rf.dir);
    if (dir !== undefined && m.dir !== undefined && m.dir !== 'BIDIRECTIONAL' && dir !== m.dir) {
      this.report(line, 'unmap_dir_mismatch', 'error', device, `${kind} of ${addr} with ${dir}, mapped ${m.dir} at line ${m.line}`, { addr, dir, map_dir: m.dir, mapped_line: m.line, event: kind });
    }
  }

  private bounced(events: CaptureEvents, i: number): void {
    const device = events.deviceAt(i);
    const addr = events.addrAt(i);
    const size = events.sizeAt(i);
    if (device === undefined || addr === undefined || size === undefined) return;
    const d = this.dev(device);
    d.stats.bounces++;
    d.stats.bounce_bytes += size;
    // dev_addr is the original buffer's address; the map event that follows names it as phys_addr.
    d.pendingBounce.set(addr, size);
    if (d.pendingBounce.size > 4096) {
      const oldest = d.pendingBounce.keys().next().value;
      if (oldest !== undefined) d.pendingBounce.delete(oldest);
    }
  }

  private iommuMap(events: CaptureEvents, i: number, rf: ReplayFormat): void {
    const addr = events.addrAt(i);
    const size = events.sizeAt(i);
    if (addr === undefined || size === undefined) return;
    const device = events.deviceAt(i);
    const line = events.lineAt(i);
    const sp = this.space(device ?? '(iommu)');
    sp.maps++;
    const s = sp.state;
    spanAt(events, i, addr, size);
    const m = new LiveMapping('iommu', 'map', device ?? '(iommu)', addr, span.lo, span.hi, span.big, size, undefined, stringFieldAt(events, i, rf.paddr), line, 0, undefined);
    const list = s.live.get(addr);
    if (list) list.push(m);
    else {
      s.live.set(addr, [m]);
      sp.starts.add(addr, m.big === undefined ? m.lo : addrNumber(addr));
    }
    s.liveCount++;
    s.liveBytes += size;
    s.range(m);
    s.sample(line);
  }

  private iommuUnmap(events: CaptureEvents, i: number, rf: ReplayFormat): void {
    const addr = events.addrAt(i);
    const size = events.sizeAt(i);
    if (addr === undefined || size === undefined) return;
    const device = events.deviceAt(i);
    const line = events.lineAt(i);
    const sp = this.space(device ?? '(iommu)');
    sp.unmaps++;
    const s = sp.state;
    const unmappedSize = rf.unmappedSize < 0 ? undefined : events.fieldValueAt(i, rf.unmappedSize);
    if (typeof unmappedSize === 'number' && unmappedSize !== size) {
      this.report(line, 'iommu_unmap_short', 'error', device, `iommu unmap of ${addr} size ${size} unmapped ${unmappedSize} bytes`, { addr, size, unmapped_size: unmappedSize });
    }
    spanAt(events, i, addr, size);
    const { lo, hi, big } = span;
    // Every live mapping the range holds, key by key in the live map's order (past 10,000 live keys,
    // only the first key that had one). The index gives the keys starting in the range in that order.
    let removed = 0;
    const starts = sp.starts;
    if (big === undefined && starts.unindexed === 0) {
      for (const e of starts.within(lo, hi, this.inRange)) {
        const list = s.live.get(e.key) as LiveMapping[];
        removed += unmapHeld(s, list, lo, hi, big, line);
        if (list.length === 0) {
          s.live.delete(e.key);
          starts.remove(e.start);
        }
        if (s.live.size > 10_000 && removed > 0) break;
      }
    } else {
      for (const key of s.live.keys()) {
        const list = s.live.get(key) as LiveMapping[];
        removed += unmapHeld(s, list, lo, hi, big, line);
        if (list.length === 0) {
          s.live.delete(key);
          starts.remove(addrNumber(key));
        }
        if (s.live.size > 10_000 && removed > 0) break;
      }
    }
    if (removed === 0 && s.stats.maps + sp.maps > 0) this.iommuUnmapUnknown(s, addr, size, device, line, lo, big);
    s.sample(line);
  }

  /** An iommu:unmap that removed no mapping (a function of its own: iommuUnmap() compiles sooner without it). */
  private iommuUnmapUnknown(s: DeviceState, addr: string, size: number, device: string | undefined, line: number, lo: number, big: BigRange | undefined): void {
    const before = big === undefined ? s.unmappedAtNumber(lo) : s.unmappedAt(big.start);
    const extra: Record<string, unknown> = { addr, size, event: 'iommu:unmap' };
    if (before !== undefined) extra.unmapped_line = before.unmapLine;
    this.report(line, 'unmap_unknown', 'warning', device, `iommu unmap of ${addr} size ${size}: no mapping the capture saw covers it${before ? ` (unmapped already at line ${before.unmapLine})` : ''}`, extra);
  }

  /** Checks a finding from the log against the replayed state at its line. */
  onFinding(f: Finding): void {
    if (f.kind === 'io_page_fault' && typeof f.addr === 'string') return this.fault(f, f.addr);
    if (f.kind === 'swiotlb_full') return this.swiotlbFull(f);
  }

  private fault(f: Finding, addrHex: string): void {
    spanOf(addrHex, 1);
    const { lo, hi, big } = span;
    const states = this.faultStates(f.device);
    for (const s of states) {
      // (Most states hold no live mapping between a driver's map and unmap: no iterator made then.)
      const live = s.live.size === 0 ? undefined : s.containingRange(lo, hi, big);
      if (live !== undefined) return this.faultInLiveMapping(f, addrHex, live);
    }
    let u: Unmapped | undefined;
    let where: DeviceState | undefined;
    for (const s of states) {
      const found = big === undefined ? s.unmappedAtNumber(lo) : s.unmappedAt(big.start);
      if (found !== undefined && (u === undefined || found.unmapLine > u.unmapLine)) {
        u = found;
        where = s;
      }
    }
    if (u === undefined || where === undefined) return;
    this.faultAfterUnmap(f, addrHex, u, where);
  }

  private faultInLiveMapping(f: Finding, addrHex: string, live: LiveMapping): void {
    this.report(f.line, 'fault_in_live_mapping', 'error', f.device as string | undefined ?? live.device, `fault at ${addrHex} inside a live mapping (${live.event} ${live.addr}+${live.size}${live.dir ? ' ' + live.dir : ''} at line ${live.line}): the access is not permitted by the mapping (direction?)`, { addr: addrHex, mapped_line: live.line, map_dir: live.dir, access: f.access });
  }

  /** The finding of a fault in range u, unmapped from state `where` (the lookup and the finding in two functions: each compiles sooner alone). */
  private faultAfterUnmap(f: Finding, addrHex: string, u: Unmapped, where: DeviceState): void {
    const device = (f.device as string | undefined) ?? (where.stats.device === '(iommu)' ? undefined : where.stats.device);
    // One literal with every key (in report()'s order), the device's only when named: its fields
    // are then held in the object itself, not added one by one into a separate store, and a
    // capture can give this finding by the ten thousand.
    const message = ownString(`fault at ${addrHex}: mapped at line ${u.mapLine} (${u.event} ${u.addr}+${u.big === undefined ? u.hi - u.lo : Number(u.big.end - u.big.start)}) and unmapped at line ${u.unmapLine}`);
    const line = f.line;
    const access = f.access;
    this.findings.push(
      device === undefined
        ? { line, kind: 'fault_after_unmap', severity: 'error', source: 'replay', message, addr: addrHex, mapped_line: u.mapLine, unmapped_line: u.unmapLine, access }
        : { line, kind: 'fault_after_unmap', severity: 'error', source: 'replay', message, addr: addrHex, mapped_line: u.mapLine, unmapped_line: u.unmapLine, access, device },
    );
  }

  /**
   * The states a fault on `device` is looked up in: the named device's and
   * IOVA space's; with no name, or a name the capture has no events of (the
   * printer did not name the master, as arm-smmu), every device and IOVA
   * space. (Filled into one scratch array: a fault comes every few lines.)
   */
  private faultStates(device: unknown): DeviceState[] {
    const states = this.faultScratch;
    states.length = 0;
    if (typeof device === 'string') {
      const d = this.devices.get(device);
      if (d) states.push(d);
      const sp = this.iommu.get(device);
      if (sp) states.push(sp.state);
    }
    if (states.length === 0) {
      for (const d of this.devices.values()) states.push(d);
      for (const sp of this.iommu.values()) states.push(sp.state);
    }
    return states;
  }

  private swiotlbFull(f: Finding): void {
    let total = 0;
    const holders: { device: string; bytes: number; live: number }[] = [];
    for (const d of this.devices.values()) {
      if (d.bounceBytes > 0) {
        total += d.bounceBytes;
        let n = 0;
        for (const list of d.live.values()) for (const m of list) if (m.bounce > 0) n++;
        holders.push({ device: d.stats.device, bytes: d.bounceBytes, live: n });
      }
    }
    if (holders.length === 0) return;
    holders.sort((a, b) => b.bytes - a.bytes);
    const top = holders[0];
    this.report(f.line, 'swiotlb_pressure', 'warning', top.device, `swiotlb full while ${holders.length} device(s) held ${total} bytes of bounce buffers; ${top.device} held ${top.bytes} bytes in ${top.live} mapping(s)`, { bounce_bytes: total, holders });
  }

  /** Mappings still live: one leak finding per device. */
  finish(): void {
    for (const d of this.devices.values()) {
      const all: LiveMapping[] = [];
      for (const list of d.live.values()) all.push(...list);
      d.stats.live_at_end = all.length;
      d.stats.live_bytes_at_end = d.liveBytes;
      if (d.lowest !== undefined) d.stats.lowest_addr = toHex(d.lowest);
      if (d.highest !== undefined) d.stats.highest_addr = toHex(d.highest);
      if (all.length === 0) continue;
      all.sort((a, b) => a.line - b.line);
      const shown = all.slice(0, LEAK_LINES).map((m) => ({ line: m.line, event: m.event, addr: m.addr, size: m.size }));
      this.report(all[0].line, 'leak', 'warning', d.stats.device, `${all.length} mapping(s), ${d.liveBytes} bytes, still live on ${d.stats.device} at the end of the capture (first mapped at line ${all[0].line}): leaked, or unmapped after the capture ended`, { count: all.length, bytes: d.liveBytes, mappings: shown });
    }
  }

  summary(): ReplaySummary {
    return {
      devices: [...this.devices.values()].filter((d) => d.stats.maps + d.stats.unmaps + d.stats.syncs + d.stats.bounces > 0).map((d) => d.stats),
      iommu_spaces: [...this.iommu.entries()].map(([name, sp]) => ({ name, maps: sp.maps, unmaps: sp.unmaps, live_at_end: sp.state.liveCount, live_bytes_at_end: sp.state.liveBytes, peak_live_bytes: sp.state.stats.peak_live_bytes })),
    };
  }
}

/** Runs the replay over `events` and the result's findings, in line order, up to `untilLine` (inclusive). */
export function runReplay(events: CaptureEvents, findings: readonly Finding[], totalLines: number, untilLine = Number.POSITIVE_INFINITY): CaptureReplay {
  const replay = new CaptureReplay(Math.max(1, Math.ceil(totalLines / TIMELINE_POINTS)));
  // The next finding's line is read once, not once per event: findings come in dozens of
  // shapes, and reading a field of one costs more than the compare.
  let fi = 0;
  let next = lineOfFinding(findings, fi);
  for (let i = 0; i < events.length; i++) {
    const line = events.lineAt(i);
    if (line > untilLine) break;
    while (next < line) {
      replay.onFinding(findings[fi++]);
      next = lineOfFinding(findings, fi);
    }
    replay.apply(events, i);
  }
  while (fi < findings.length && next <= untilLine) {
    replay.onFinding(findings[fi++]);
    next = lineOfFinding(findings, fi);
  }
  return replay;
}

/** The line of findings[k], or +Infinity past the end. */
function lineOfFinding(findings: readonly Finding[], k: number): number {
  return k < findings.length ? findings[k].line : Number.POSITIVE_INFINITY;
}

/**
 * The findings of both lists by line, as a stable sort of `sorted` followed
 * by `more` gives them (`sorted` already in line order, `more` nearly: the
 * leaks come last): one pass instead of sorting them all again.
 */
function mergeByLine(sorted: readonly Finding[], more: Finding[]): Finding[] {
  sortByLine(more);
  const out: Finding[] = new Array<Finding>(sorted.length + more.length);
  let i = 0;
  let j = 0;
  let k = 0;
  // Each line read once (see runReplay).
  let a = lineOfFinding(sorted, 0);
  let b = lineOfFinding(more, 0);
  while (i < sorted.length && j < more.length) {
    if (b < a) {
      out[k++] = more[j++];
      b = lineOfFinding(more, j);
    } else {
      out[k++] = sorted[i++];
      a = lineOfFinding(sorted, i);
    }
  }
  while (i < sorted.length) out[k++] = sorted[i++];
  while (j < more.length) out[k++] = more[j++];
  return out;
}

/** Adds the replay's summary and findings to an import result. */
export function replayCapture(result: ImportResult, events: CaptureEvents): void {
  const replay = runReplay(events, result.findings, result.lines);
  replay.finish();
  result.replay = replay.summary();
  if (replay.findings.length > 0) result.findings = mergeByLine(result.findings, replay.findings);
}

/** The live mappings per device right after `line`: what a debugger shows when stopped there. */
export function replayStateAt(events: CaptureEvents, findings: readonly Finding[], totalLines: number, line: number): Map<string, LiveMapping[]> {
  const replay = runReplay(events, findings, totalLines, line);
  const out = new Map<string, LiveMapping[]>();
  for (const [name, d] of replay.devices) {
    const all: LiveMapping[] = [];
    for (const list of d.live.values()) all.push(...list);
    out.set(name, all.sort((a, b) => a.line - b.line));
  }
  return out;
}
