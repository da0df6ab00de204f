// What the IOVA map panel draws, from the engine's inspect views: plain data,
// no vscode, no DOM. The host builds it (BigInt arithmetic happens here,
// once), the webview only indexes and draws it. Mapped ranges go as packed
// columns: addresses as two unsigned 32-bit halves in Uint32Arrays, so
// 100,000 mappings cross postMessage as a few typed arrays instead of
// 100,000 objects, and the draw loop is plain number arithmetic, never BigInt.

import type { BufferView, DomainView, MachineView, MappedRangeView } from '../engine/inspect/types';
import type { SanitizerFindingView } from '../engine/sanitizer';

const big = (h: string): bigint => BigInt(h);

/** A 64-bit address as two unsigned 32-bit halves. */
export interface U64Halves { hi: number; lo: number }

export function halves(v: bigint): U64Halves {
  return { hi: Number((v >> 32n) & 0xffffffffn), lo: Number(v & 0xffffffffn) };
}

/** "0x..." from two halves, without BigInt (for labels in the webview). */
export function hexOfHalves(hi: number, lo: number): string {
  return hi === 0 ? `0x${lo.toString(16)}` : `0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')}`;
}

/** Permission colour key: the webview maps each to a theme colour. */
export type ProtKey = 'r' | 'w' | 'rw' | 'none' | 'mmio';
export const PROT_KEYS: readonly ProtKey[] = ['r', 'w', 'rw', 'none', 'mmio'];

export function protKey(prot: string): ProtKey {
  const flags = prot.split(',');
  if (flags.includes('mmio')) return 'mmio';
  const rw = flags[0];
  return rw === 'r' || rw === 'w' || rw === 'rw' ? rw : 'none';
}

/**
 * The mapped ranges of a domain, sorted by IOVA, one entry per index in each
 * column. `start`, `end` (exclusive) and `phys` hold [hi, lo] pairs.
 */
export interface PackedRanges {
  count: number;
  start: Uint32Array;
  end: Uint32Array;
  phys: Uint32Array;
  /** Index into PROT_KEYS. */
  key: Uint8Array;
  /** Index into `protNames` (the full prot string, flags included). */
  prot: Uint16Array;
  protNames: string[];
  line: Uint32Array;
  /** 1 when granule rounding lets the device reach bytes outside the buffer behind this mapping. */
  exposed: Uint8Array;
  /** Range indices sorted by physical address (the physical view). */
  physOrder: Uint32Array;
}

/** IOVA allocations as packed columns ([hi, lo] pairs for start and exclusive end). */
export interface PackedAllocations { count: number; start: Uint32Array; end: Uint32Array; pages: Uint32Array; cached: Uint8Array }

function packAllocations(list: { start: string; last: string; pages: number; cached: boolean }[]): PackedAllocations {
  const n = list.length;
  // Parsed in list order ([start hi, lo, last hi, lo] each), then written out in start order.
  const raw = new Uint32Array(4 * n);
  for (let i = 0; i < n; i++) {
    hexInto(list[i].start, raw, 4 * i);
    hexInto(list[i].last, raw, 4 * i + 2);
  }
  const order = ascendingOrder(raw, 4, 0, n);
  const out: PackedAllocations = { count: n, start: new Uint32Array(2 * n), end: new Uint32Array(2 * n), pages: new Uint32Array(n), cached: new Uint8Array(n) };
  for (let k = 0; k < n; k++) {
    const i = order[k];
    const lHi = raw[4 * i + 2];
    const lLo = raw[4 * i + 3];
    out.start[2 * k] = raw[4 * i]; out.start[2 * k + 1] = raw[4 * i + 1];
    // End = last + 1, with the carry.
    out.end[2 * k] = lLo === 0xffffffff ? lHi + 1 : lHi; out.end[2 * k + 1] = lLo === 0xffffffff ? 0 : lLo + 1;
    out.pages[k] = list[i].pages;
    out.cached[k] = list[i].cached ? 1 : 0;
  }
  return out;
}

/** One mapped range as objects (hover, tests, the JSON export). */
export interface DrawnRange {
  start: U64Halves;
  end: U64Halves;
  iova: string;
  phys: string;
  size: string;
  prot: string;
  key: ProtKey;
  line: number;
  exposed: boolean;
}

export interface PhysFinding {
  /** Mapping IOVA and the buffer it was made for. */
  iova: string;
  buffer: string;
  /** Physical bytes the device can reach outside the buffer: [start, end). */
  start: string;
  end: string;
  bytes: string;
  line: number;
  message: string;
}

/** A DMA sanitizer finding at a device access through this domain: marked at the IOVA bytes the access used. */
export interface IovaSanitizerMark {
  id: string;
  device: string;
  /** IOVA range of the access: [start, end). */
  iova: string;
  start: U64Halves;
  end: U64Halves;
  line: number;
  relatedLine: number | null;
  message: string;
  /** The finding's own trace event (engine:check, recorded with it): where a click on its row moves the debugger, the first state that lists it. */
  event: number;
}

export interface DiffEntry { kind: 'mapped' | 'unmapped' | 'changed'; iova: string; size: string; before: string | null; after: string | null; start: U64Halves; end: U64Halves }

/** At most this many findings and diff entries are listed one by one (the rest are counted). */
export const LISTED_MAX = 500;

export interface IovaMapModel {
  domain: string;
  granule: string;
  aperture: { start: U64Halves; end: U64Halves; startHex: string; endHex: string };
  /** Bits needed for the aperture's end (up to 57 and more). */
  apertureBits: number;
  /** 4 GiB: the 32-bit DMA boundary, when inside the aperture. */
  boundary32: U64Halves | null;
  ranges: PackedRanges;
  /** Gaps between mapped ranges inside the aperture: how many and the largest few (hover finds any from the ranges). */
  holeCount: number;
  largestHoles: { start: U64Halves; end: U64Halves; size: string }[];
  /** iova_domain allocations (the rbtree) sorted by start; `cached` 1: sitting in an rcache magazine. */
  allocations: PackedAllocations;
  flushQueue: { cpu: number; start: U64Halves; end: U64Halves; iova: string; pages: number; counter: number }[];
  rcache: { order: number; cachedRanges: number; depotMagazines: number }[];
  /** Ranges the current event mapped, unmapped or changed (vs the position before it). */
  change: DiffEntry[];
  /** Physical span the mappings land in (for the physical view's scale). */
  physSpan: { start: U64Halves; end: U64Halves } | null;
  findings: PhysFinding[];
  findingCount: number;
  exposedBytes: string;
  /** DMA sanitizer findings so far at accesses of this domain's devices (the latest LISTED_MAX), in run order. */
  sanitizer: IovaSanitizerMark[];
  sanitizerCount: number;
}

const hex = (v: bigint): string => `0x${v.toString(16)}`;

const TWO32 = 4294967296;

/**
 * "0x..." into out[at] (high 32 bits) and out[at + 1] (low 32 bits) in one
 * pass over the characters: no substring, array or BigInt, as this runs for
 * every address of every mapping, allocation and buffer (the engine's views
 * spell them in lower-case hex).
 */
function hexInto(h: string, out: Uint32Array, at: number): void {
  let hi = 0;
  let lo = 0;
  const n = h.length;
  for (let i = n > 1 && h.charCodeAt(0) === 48 && (h.charCodeAt(1) | 32) === 120 ? 2 : 0; i < n; i++) {
    const c = h.charCodeAt(i) | 32;
    const digit = c <= 57 ? c - 48 : c - 87;
    hi = (hi * 16 + (lo >>> 28)) >>> 0;
    lo = ((lo << 4) | digit) >>> 0;
  }
  out[at] = hi;
  out[at + 1] = lo;
}

/**
 * Indices 0..n-1 ordered by the 64-bit values words[stride * i + at] (high
 * half) and words[stride * i + at + 1] (low half), ties in index order: an
 * LSD radix sort by 16-bit digits (stable, no comparator calls; a digit all
 * values share costs one counting pass), nothing at all when already in order.
 */
function ascendingOrder(words: Uint32Array, stride: number, at: number, n: number): Uint32Array {
  let order = new Uint32Array(n);
  let sorted = true;
  for (let i = 0; i < n; i++) {
    order[i] = i;
    if (i > 0 && sorted) {
      const h = words[stride * i + at];
      const ph = words[stride * (i - 1) + at];
      if (h < ph || (h === ph && words[stride * i + at + 1] < words[stride * (i - 1) + at + 1])) sorted = false;
    }
  }
  if (sorted) return order;
  let next = new Uint32Array(n);
  const count = new Uint32Array(0x10001);
  for (const [half, shift] of [[1, 0], [1, 16], [0, 0], [0, 16]]) {
    count.fill(0);
    for (let k = 0; k < n; k++) count[((words[stride * order[k] + at + half] >>> shift) & 0xffff) + 1]++;
    if (count[((words[stride * order[0] + at + half] >>> shift) & 0xffff) + 1] === n) continue;
    for (let d = 1; d <= 0x10000; d++) count[d] += count[d - 1];
    for (let k = 0; k < n; k++) {
      const i = order[k];
      next[count[(words[stride * i + at + half] >>> shift) & 0xffff]++] = i;
    }
    [order, next] = [next, order];
  }
  return order;
}

/** Range indices ordered by physical address, ties in IOVA order (the physical view's order; a webview rebuilds it from a delta). */
export function physOrderOf(r: PackedRanges): Uint32Array {
  return ascendingOrder(r.phys, 2, 0, r.count);
}

/** "0x..." as [hi, lo] 32-bit halves, no BigInt. */
function hexHalves(h: string): [number, number] {
  const s = h.startsWith('0x') || h.startsWith('0X') ? h.slice(2) : h;
  if (s.length <= 8) return [0, parseInt(s || '0', 16)];
  return [parseInt(s.slice(0, s.length - 8), 16), parseInt(s.slice(-8), 16)];
}

/** As a float64: exact below 2^53, and for granule-aligned (4K) addresses up to 2^65, so ordering and pixel positions are right. */
const numOf = (h: string): number => { const [hi, lo] = hexHalves(h); return hi * TWO32 + lo; };

function hexNum(v: number): string {
  const hi = Math.floor(v / TWO32);
  const lo = v - hi * TWO32;
  return hi === 0 ? `0x${lo.toString(16)}` : `0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')}`;
}

interface Parsed { sHi: number; sLo: number; eHi: number; eLo: number; s: number; e: number; p: number; pHi: number; pLo: number; r: MappedRangeView }

function parseRange(r: MappedRangeView): Parsed {
  const [sHi, sLo] = hexHalves(r.iova);
  const [zHi, zLo] = hexHalves(r.size);
  const [pHi, pLo] = hexHalves(r.phys);
  const lo = sLo + zLo;
  const eLo = lo >= TWO32 ? lo - TWO32 : lo;
  const eHi = sHi + zHi + (lo >= TWO32 ? 1 : 0);
  return { sHi, sLo, eHi, eLo, s: sHi * TWO32 + sLo, e: eHi * TWO32 + eLo, p: pHi * TWO32 + pLo, pHi, pLo, r };
}

function diffEntry(kind: DiffEntry['kind'], r: MappedRangeView, before: string | null, after: string | null): DiffEntry {
  const x = parseRange(r);
  return { kind, iova: r.iova, size: r.size, before, after, start: { hi: x.sHi, lo: x.sLo }, end: { hi: x.eHi, lo: x.eLo } };
}

/** What was mapped, unmapped or changed (phys, size or prot) between two domain states, by IOVA. */
export function diffDomains(before: DomainView | null, after: DomainView | null): DiffEntry[] {
  // A step changes a range or two: the unchanged head and tail of the two lists (the same rows, often the same
  // objects while debugging) are passed over first. In the middle, one map of the state before; what `after`
  // matches leaves it, what is left was unmapped. Descriptions only for listed entries.
  const was = before?.mappings ?? [];
  const now = after?.mappings ?? [];
  const same = (x: MappedRangeView, y: MappedRangeView): boolean => x === y || (x.iova === y.iova && x.phys === y.phys && x.size === y.size && x.prot === y.prot);
  let head = 0;
  while (head < was.length && head < now.length && same(was[head], now[head])) head++;
  let tail = 0;
  while (tail < was.length - head && tail < now.length - head && same(was[was.length - 1 - tail], now[now.length - 1 - tail])) tail++;
  const b = new Map<string, MappedRangeView>();
  for (let i = head; i < was.length - tail; i++) b.set(was[i].iova.toLowerCase(), was[i]);
  const out: DiffEntry[] = [];
  const desc = (r: MappedRangeView): string => `${r.phys} ${r.size} ${r.prot}`;
  for (let i = head; i < now.length - tail; i++) {
    const r = now[i];
    const k = r.iova.toLowerCase();
    const old = b.get(k);
    if (!old) {
      out.push(diffEntry('mapped', r, null, desc(r)));
      continue;
    }
    b.delete(k);
    if (old.phys !== r.phys || old.size !== r.size || old.prot !== r.prot) out.push(diffEntry('changed', r, desc(old), desc(r)));
  }
  for (const r of b.values()) out.push(diffEntry('unmapped', r, desc(r), null));
  const key = (d: DiffEntry): number => d.start.hi * TWO32 + d.start.lo;
  return out.sort((x, y) => key(x) - key(y));
}

/** Buffers sorted by start, found by binary search (a machine may hold many): the index into `buffers`, or -1. Physical addresses are below 2^52: exact as float64. */
function bufferFinder(buffers: BufferView[]): { find(phys: number): number; start: Float64Array; end: Float64Array } {
  const n = buffers.length;
  const raw = new Uint32Array(2 * n);
  const size = new Uint32Array(2);
  const starts = new Float64Array(n);
  const ends = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    hexInto(buffers[i].phys, raw, 2 * i);
    starts[i] = raw[2 * i] * TWO32 + raw[2 * i + 1];
    hexInto(buffers[i].size, size, 0);
    ends[i] = starts[i] + size[0] * TWO32 + size[1];
  }
  const order = ascendingOrder(raw, 2, 0, n);
  const sortedStarts = new Float64Array(n);
  for (let k = 0; k < n; k++) sortedStarts[k] = starts[order[k]];
  return {
    start: starts,
    end: ends,
    find(phys) {
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (sortedStarts[mid] <= phys) lo = mid + 1;
        else hi = mid;
      }
      if (lo === 0) return -1;
      const b = order[lo - 1];
      return phys < ends[b] ? b : -1;
    },
  };
}

/**
 * The sanitizer findings made at IOVA accesses of devices attached to domain
 * `label` (the latest LISTED_MAX), with the IOVA range each access used.
 */
function sanitizerMarks(machine: MachineView, label: string, found: readonly SanitizerFindingView[]): { marks: IovaSanitizerMark[]; count: number } {
  // Findings name the device by bus id (as the kernel's messages do).
  const devices = new Set(machine.devices.filter((v) => v.path.some((p) => p.domain === label || p.pasids.some((x) => x.domain === label))).flatMap((v) => [v.name, v.busId]));
  const marks: IovaSanitizerMark[] = [];
  let count = 0;
  for (let i = found.length - 1; i >= 0; i--) {
    const f = found[i];
    if (f.iova === null || f.device === null || !devices.has(f.device)) continue;
    count++;
    if (marks.length >= LISTED_MAX) continue;
    const s = big(f.iova);
    const e = s + (big(f.end) - big(f.phys));
    marks.push({ id: f.id, device: f.device, iova: f.iova, start: halves(s), end: halves(e > s ? e : s + 1n), line: f.line, relatedLine: f.relatedLine, message: f.message, event: f.seq });
  }
  return { marks: marks.reverse(), count };
}

/**
 * Build the drawn model of one domain; `previous` is the same machine before
 * the current event; `sanitizer` the run's DMA sanitizer findings so far
 * (sanitizerFindings), marked where they touched this domain's IOVA space.
 */
export function buildIovaMapModel(machine: MachineView, domainLabel: string, previous: MachineView | null = null, sanitizer: readonly SanitizerFindingView[] = []): IovaMapModel | undefined {
  const d = machine.domains.find((x) => x.label === domainLabel);
  if (!d) return undefined;
  const granule = numOf(d.granule);
  const apStartB = d.aperture ? big(d.aperture[0]) : 0n;
  const apEndB = d.aperture ? big(d.aperture[1]) + 1n : 1n << 48n;
  const apStart = Number(apStartB);
  const apEnd = Number(apEndB);
  const list = d.mappings;
  const n = list.length;
  // Addresses parsed in list order ([iova hi, lo, size hi, lo, phys hi, lo] each), then written out in IOVA order.
  const raw = new Uint32Array(6 * n);
  const iovaKeys = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = list[i];
    hexInto(r.iova, raw, 6 * i);
    hexInto(r.size, raw, 6 * i + 2);
    hexInto(r.phys, raw, 6 * i + 4);
    iovaKeys[i] = raw[6 * i] * TWO32 + raw[6 * i + 1];
  }
  const byIova = ascendingOrder(raw, 6, 0, n);
  const protIndex = new Map<string, number>();
  const ranges: PackedRanges = {
    count: n, start: new Uint32Array(2 * n), end: new Uint32Array(2 * n), phys: new Uint32Array(2 * n), key: new Uint8Array(n),
    prot: new Uint16Array(n), protNames: [], line: new Uint32Array(n), exposed: new Uint8Array(n), physOrder: new Uint32Array(n),
  };
  const buffers = bufferFinder(machine.buffers);
  const findings: PhysFinding[] = [];
  let findingCount = 0;
  let exposedBytes = 0;
  let holes: { start: number; end: number }[] = [];
  let holeCount = 0;
  let cursor = apStart;
  const addHole = (s: number, e: number): void => {
    holeCount++;
    holes.push({ start: s, end: e });
    // Keep the 16 largest: sort now and then, not on every push.
    if (holes.length > 256) holes = holes.sort((x, y) => y.end - y.start - (x.end - x.start)).slice(0, 16);
  };
  // Granule rounding maps whole granules: bytes of [s, e) outside buffer b became reachable through mapping k.
  const expose = (k: number, r: MappedRangeView, b: number, s: number, e: number): void => {
    if (e <= s || (s >= buffers.start[b] && s < buffers.end[b])) return;
    ranges.exposed[k] = 1;
    findingCount++;
    exposedBytes += e - s;
    if (findings.length < LISTED_MAX) {
      findings.push({
        iova: r.iova, buffer: machine.buffers[b].label, start: hexNum(s), end: hexNum(e), bytes: hexNum(e - s), line: r.line,
        message: `${r.prot} mapping at IOVA ${r.iova} lets the device reach ${e - s} bytes at ${hexNum(s)}..${hexNum(e - 1)} outside buffer ${machine.buffers[b].label} (granule ${d.granule} rounding)`,
      });
    }
  };
  const physKeys = new Float64Array(n);
  const sizes = new Float64Array(n);
  let lastProt: string | undefined;
  let lastPi = 0;
  let lastKey = 3;
  for (let k = 0; k < n; k++) {
    const i = byIova[k];
    const r = list[i];
    const sHi = raw[6 * i];
    const sLo = raw[6 * i + 1];
    const lo = sLo + raw[6 * i + 3];
    const eLo = lo >= TWO32 ? lo - TWO32 : lo;
    const eHi = sHi + raw[6 * i + 2] + (lo >= TWO32 ? 1 : 0);
    const pHi = raw[6 * i + 4];
    const pLo = raw[6 * i + 5];
    ranges.start[2 * k] = sHi; ranges.start[2 * k + 1] = sLo;
    ranges.end[2 * k] = eHi; ranges.end[2 * k + 1] = eLo;
    ranges.phys[2 * k] = pHi; ranges.phys[2 * k + 1] = pLo;
    const s = iovaKeys[i];
    const e = eHi * TWO32 + eLo;
    const p = pHi * TWO32 + pLo;
    physKeys[k] = p;
    sizes[k] = e - s;
    // Neighbouring mappings mostly share a prot: look it up only when it changes.
    if (r.prot !== lastProt) {
      lastProt = r.prot;
      let pi = protIndex.get(r.prot);
      if (pi === undefined) {
        pi = ranges.protNames.length;
        protIndex.set(r.prot, pi);
        ranges.protNames.push(r.prot);
      }
      lastPi = pi;
      lastKey = PROT_KEYS.indexOf(protKey(r.prot));
    }
    ranges.prot[k] = lastPi;
    ranges.key[k] = lastKey;
    ranges.line[k] = r.line;
    if (s > cursor) addHole(cursor, s);
    if (e > cursor) cursor = e;
    if (granule === 0) continue;
    const b = buffers.find(p);
    if (b < 0) continue;
    const mEnd = p + (e - s);
    expose(k, r, b, p, Math.min(buffers.start[b], mEnd));
    expose(k, r, b, Math.max(buffers.end[b], p), mEnd);
  }
  if (cursor < apEnd) addHole(cursor, apEnd);
  holes.sort((x, y) => y.end - y.start - (x.end - x.start) || x.start - y.start);
  ranges.physOrder.set(physOrderOf(ranges));
  let pLo = Infinity;
  let pHi = -Infinity;
  for (let k = 0; k < n; k++) {
    pLo = Math.min(pLo, physKeys[k]);
    pHi = Math.max(pHi, physKeys[k] + sizes[k]);
  }
  const four = 1n << 32n;
  const marks = sanitizerMarks(machine, d.label, sanitizer);
  const prevDomain = previous?.domains.find((x) => x.label === domainLabel) ?? null;
  let bits = 0;
  for (let v = apEndB - 1n; v > 0n; v >>= 1n) bits++;
  // Hole bounds are granule-aligned (exact as float64); BigInt only for these few labels.
  const bigOf = (v: number): bigint => BigInt(Math.floor(v / TWO32)) * 4294967296n + BigInt(v % TWO32);
  return {
    domain: d.label,
    granule: d.granule,
    aperture: { start: halves(apStartB), end: halves(apEndB), startHex: hex(apStartB), endHex: hex(apEndB - 1n) },
    apertureBits: bits,
    boundary32: apStartB < four && four < apEndB ? halves(four) : null,
    ranges,
    holeCount,
    largestHoles: holes.slice(0, 16).map((h) => ({ start: halves(bigOf(h.start)), end: halves(bigOf(h.end)), size: hex(bigOf(h.end) - bigOf(h.start)) })),
    allocations: packAllocations(d.iova?.allocations ?? []),
    flushQueue: (d.flushQueue?.entries ?? []).map((e) => {
      const s = big(e.iova);
      return { cpu: e.cpu, start: halves(s), end: halves(s + BigInt(e.pages) * big(d.iova?.granule ?? d.granule)), iova: e.iova, pages: e.pages, counter: e.counter };
    }),
    rcache: (d.iova?.rcache ?? []).filter((r) => r.cachedRanges > 0 || r.depotMagazines > 0).map((r) => ({ order: r.order, cachedRanges: r.cachedRanges, depotMagazines: r.depotMagazines })),
    change: previous ? diffDomains(prevDomain, d).slice(0, LISTED_MAX) : [],
    physSpan: n > 0 ? { start: halvesOfNum(pLo), end: halvesOfNum(pHi) } : null,
    findings,
    findingCount,
    exposedBytes: hexNum(exposedBytes),
    sanitizer: marks.marks,
    sanitizerCount: marks.count,
  };
}

function halvesOfNum(v: number): U64Halves {
  const hi = Math.floor(v / TWO32);
  return { hi, lo: v - hi * TWO32 };
}

/** Range `i` of the packed columns as an object. */
export function rangeAt(r: PackedRanges, i: number): DrawnRange {
  const start = { hi: r.start[2 * i], lo: r.start[2 * i + 1] };
  const end = { hi: r.end[2 * i], lo: r.end[2 * i + 1] };
  // Size from the halves without BigInt: exact below 2^53 bytes.
  const size = (end.hi - start.hi) * 4294967296 + (end.lo - start.lo);
  return {
    start, end, iova: hexOfHalves(start.hi, start.lo), phys: hexOfHalves(r.phys[2 * i], r.phys[2 * i + 1]), size: `0x${size.toString(16)}`,
    prot: r.protNames[r.prot[i]] ?? '?', key: PROT_KEYS[r.key[i]] ?? 'none', line: r.line[i], exposed: r.exposed[i] === 1,
  };
}

/** Every range as objects (the JSON export). */
export function rangesOf(r: PackedRanges): DrawnRange[] {
  const out: DrawnRange[] = [];
  for (let i = 0; i < r.count; i++) out.push(rangeAt(r, i));
  return out;
}

/** The domains a picker offers: those with mappings or an IOVA allocator. */
export function domainChoices(machine: MachineView): { label: string; mappings: number }[] {
  return machine.domains.filter((d) => d.mappings.length > 0 || d.iova !== null).map((d) => ({ label: d.label, mappings: d.mappings.length }));
}
