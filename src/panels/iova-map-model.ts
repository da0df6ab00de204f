// What the IOVA map panel draws, from the engine's inspect views: plain data,
// no vscode, no DOM. Addresses go to the webview as two 32-bit halves (and the
// hex string for labels) so its draw loop never touches BigInt.

import type { BufferView, DomainView, MachineView, MappedRangeView } from '../engine/inspect/types';

/** A 64-bit address as two unsigned 32-bit halves. */
export interface U64Halves { hi: number; lo: number }

export function halves(v: bigint): U64Halves {
  return { hi: Number((v >> 32n) & 0xffffffffn), lo: Number(v & 0xffffffffn) };
}

/** Permission colour key: the webview maps each to a theme colour. */
export type ProtKey = 'r' | 'w' | 'rw' | 'none' | 'mmio';

export function protKey(prot: string): ProtKey {
  const flags = prot.split(',');
  if (flags.includes('mmio')) return 'mmio';
  const rw = flags[0];
  return rw === 'r' || rw === 'w' || rw === 'rw' ? rw : 'none';
}

export interface DrawnRange {
  start: U64Halves;
  /** Exclusive end. */
  end: U64Halves;
  iova: string;
  phys: string;
  size: string;
  prot: string;
  key: ProtKey;
  line: number;
}

export interface PhysFinding {
  /** Mapping IOVA and the buffer it was made for. */
  iova: string;
  buffer: string;
  /** Physical bytes the device can reach outside the buffer: [start, end). */
  start: string;
  end: string;
  bytes: string;
  message: string;
}

export interface PhysRange { phys: string; start: U64Halves; end: U64Halves; iova: string; buffer: string | null; line: number }

export interface DiffEntry { kind: 'mapped' | 'unmapped' | 'changed'; iova: string; size: string; before: string | null; after: string | null }

export interface IovaMapModel {
  domain: string;
  granule: string;
  aperture: { start: U64Halves; end: U64Halves; startHex: string; endHex: string };
  /** Bits needed for the aperture's end (up to 57 and more). */
  apertureBits: number;
  /** 4 GiB: the 32-bit DMA boundary, when inside the aperture. */
  boundary32: U64Halves | null;
  ranges: DrawnRange[];
  holes: { start: U64Halves; end: U64Halves; size: string }[];
  allocations: { start: U64Halves; end: U64Halves; startHex: string; pages: number; cached: boolean }[];
  flushQueue: { cpu: number; start: U64Halves; iova: string; pages: number; counter: number }[];
  rcache: { order: number; cachedRanges: number; depotMagazines: number }[];
  /** Ranges the current event mapped, unmapped or changed (vs the previous position). */
  change: DiffEntry[];
  phys: PhysRange[];
  findings: PhysFinding[];
}

const big = (h: string): bigint => BigInt(h);
const hex = (v: bigint): string => `0x${v.toString(16)}`;

function sortedRanges(list: MappedRangeView[]): MappedRangeView[] {
  return [...list].sort((a, b) => (big(a.iova) < big(b.iova) ? -1 : big(a.iova) > big(b.iova) ? 1 : 0));
}

/** What was mapped, unmapped or changed (phys or prot) between two domain states, by IOVA. */
export function diffDomains(before: DomainView | null, after: DomainView | null): DiffEntry[] {
  const key = (r: MappedRangeView): string => `${big(r.iova)}`;
  const b = new Map((before?.mappings ?? []).map((r) => [key(r), r]));
  const a = new Map((after?.mappings ?? []).map((r) => [key(r), r]));
  const out: DiffEntry[] = [];
  const desc = (r: MappedRangeView): string => `${r.phys} ${r.size} ${r.prot}`;
  for (const [k, r] of a) {
    const old = b.get(k);
    if (!old) out.push({ kind: 'mapped', iova: r.iova, size: r.size, before: null, after: desc(r) });
    else if (desc(old) !== desc(r)) out.push({ kind: 'changed', iova: r.iova, size: r.size, before: desc(old), after: desc(r) });
  }
  for (const [k, r] of b) if (!a.has(k)) out.push({ kind: 'unmapped', iova: r.iova, size: r.size, before: desc(r), after: null });
  return out.sort((x, y) => (big(x.iova) < big(y.iova) ? -1 : big(x.iova) > big(y.iova) ? 1 : 0));
}

function bufferAt(buffers: BufferView[], phys: bigint): BufferView | undefined {
  return buffers.find((b) => big(b.phys) <= phys && phys < big(b.phys) + big(b.size));
}

/** Build the drawn model of one domain; `previous` is the same machine before the current event. */
export function buildIovaMapModel(machine: MachineView, domainLabel: string, previous: MachineView | null = null): IovaMapModel | undefined {
  const d = machine.domains.find((x) => x.label === domainLabel);
  if (!d) return undefined;
  const granule = big(d.granule);
  const [apStart, apEnd] = d.aperture ? [big(d.aperture[0]), big(d.aperture[1]) + 1n] : [0n, 1n << 48n];
  const ranges = sortedRanges(d.mappings).map((r): DrawnRange => ({
    start: halves(big(r.iova)), end: halves(big(r.iova) + big(r.size)), iova: r.iova, phys: r.phys, size: r.size, prot: r.prot, key: protKey(r.prot), line: r.line,
  }));
  const holes: IovaMapModel['holes'] = [];
  let cursor = apStart;
  for (const r of sortedRanges(d.mappings)) {
    const s = big(r.iova);
    if (s > cursor) holes.push({ start: halves(cursor), end: halves(s), size: hex(s - cursor) });
    const e = s + big(r.size);
    if (e > cursor) cursor = e;
  }
  if (cursor < apEnd) holes.push({ start: halves(cursor), end: halves(apEnd), size: hex(apEnd - cursor) });
  const four = 1n << 32n;
  const phys: PhysRange[] = [];
  const findings: PhysFinding[] = [];
  for (const r of sortedRanges(d.mappings)) {
    const p = big(r.phys);
    const size = big(r.size);
    const buf = bufferAt(machine.buffers, p);
    phys.push({ phys: r.phys, start: halves(p), end: halves(p + size), iova: r.iova, buffer: buf?.label ?? null, line: r.line });
    if (!buf) continue;
    const bStart = big(buf.phys);
    const bEnd = bStart + big(buf.size);
    const mEnd = p + size;
    // Granule rounding maps whole granules: bytes before and after the buffer become reachable.
    for (const [s, e] of [[p, bStart < mEnd ? bStart : mEnd], [bEnd > p ? bEnd : p, mEnd]] as [bigint, bigint][]) {
      if (e > s && (s < bStart || s >= bEnd)) {
        findings.push({
          iova: r.iova, buffer: buf.label, start: hex(s), end: hex(e), bytes: hex(e - s),
          message: `${r.prot} mapping at IOVA ${r.iova} lets the device reach ${e - s} bytes at ${hex(s)}..${hex(e - 1n)} outside buffer ${buf.label} (granule ${d.granule} rounding)`,
        });
      }
    }
  }
  const prevDomain = previous?.domains.find((x) => x.label === domainLabel) ?? null;
  let bits = 0;
  for (let v = apEnd - 1n; v > 0n; v >>= 1n) bits++;
  return {
    domain: d.label,
    granule: d.granule,
    aperture: { start: halves(apStart), end: halves(apEnd), startHex: hex(apStart), endHex: hex(apEnd - 1n) },
    apertureBits: bits,
    boundary32: apStart < four && four < apEnd ? halves(four) : null,
    ranges,
    holes,
    allocations: (d.iova?.allocations ?? []).map((a) => ({ start: halves(big(a.start)), end: halves(big(a.last) + 1n), startHex: a.start, pages: a.pages, cached: a.cached })),
    flushQueue: (d.flushQueue?.entries ?? []).map((e) => ({ cpu: e.cpu, start: halves(big(e.iova)), iova: e.iova, pages: e.pages, counter: e.counter })),
    rcache: (d.iova?.rcache ?? []).filter((r) => r.cachedRanges > 0 || r.depotMagazines > 0).map((r) => ({ order: r.order, cachedRanges: r.cachedRanges, depotMagazines: r.depotMagazines })),
    change: previous ? diffDomains(prevDomain, d) : [],
    phys,
    findings: granule > 0n ? findings : [],
  };
}
