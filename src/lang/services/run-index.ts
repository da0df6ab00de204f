// Lookups into a RunResult for the editor: per line, per call site, and
// "which buffer or mapping holds this address". Built once per RunResult
// (runIndex() caches by identity). RunResult lines are 1-based.

import type { CallSiteResult, CheckResult, EventResult, ExpectationResult, FaultResult, JsonValue, MachineSummary, RunResult, StatementResult, WalkSummary } from '../run-result';
import { hex, toBigInt } from './format';

export interface Region {
  /** What holds the address, for people: `buffer rx`, `mapping of eth0 (line 21)`. */
  what: string;
  start: bigint;
  size: bigint;
  /** Extra detail: where it maps to, whether it is live. */
  detail?: string;
  /** 'phys' for CPU-side memory, 'dma' for device addresses. */
  space: 'phys' | 'dma';
}

/**
 * Where a line of the run's source is in the current text (1-based), or
 * undefined when it was edited away. The editor keeps one (run-store.ts) so
 * results follow the text between runs. `key` identifies the text version
 * the mapping is for (index caching).
 */
export interface LineMapper {
  key: unknown;
  map(line: number): number | undefined;
}

function group<T extends { line: number }>(items: readonly T[] | undefined, map: ((line: number) => number | undefined) | undefined): Map<number, T[]> {
  const m = new Map<number, T[]>();
  for (const it of items ?? []) {
    const line = map === undefined ? it.line : map(it.line);
    if (line === undefined) continue;
    let l = m.get(line);
    if (l === undefined) m.set(line, (l = []));
    l.push(line === it.line ? it : { ...it, line });
  }
  return m;
}

export class RunIndex {
  readonly expectations: Map<number, ExpectationResult[]>;
  readonly checks: Map<number, CheckResult[]>;
  readonly faults: Map<number, FaultResult[]>;
  readonly statements: Map<number, StatementResult[]>;
  readonly calls: Map<number, CallSiteResult[]>;
  readonly walks: Map<number, WalkSummary[]>;
  readonly machine: MachineSummary | undefined;
  private regionList?: Region[];

  /** Every check, lines (and related lines) in the current text. */
  readonly checkList: CheckResult[];

  /** Lines are those of the current text when `lines` maps them (results whose line was edited away are left out). */
  constructor(readonly run: RunResult, lines?: LineMapper) {
    const map = lines === undefined ? undefined : (l: number): number | undefined => lines.map(l);
    this.expectations = group(run.expectations, map);
    this.faults = group(run.faults, map);
    this.statements = group(run.statements, map);
    this.calls = group(run.calls, map);
    this.walks = group(run.walks, map);
    this.checkList = [];
    for (const c of run.checks ?? []) {
      const line = map === undefined ? c.line : map(c.line);
      if (line === undefined) continue;
      if (map === undefined || c.relatedLine === undefined) {
        this.checkList.push(line === c.line ? c : { ...c, line });
        continue;
      }
      const related = map(c.relatedLine);
      const { relatedLine: _old, ...rest } = c;
      this.checkList.push(related === undefined ? { ...rest, line } : { ...rest, line, relatedLine: related });
    }
    this.checks = group(this.checkList, undefined);
    this.machine = run.machine;
  }

  /** The call result at a call's 1-based line and column, if that call ran. */
  callAt(line: number, column: number, callee: string): CallSiteResult | undefined {
    return this.calls.get(line)?.find((c) => c.column === column && c.callee === callee);
  }

  walkAt(line: number, column: number, callee: string): WalkSummary | undefined {
    return this.walks.get(line)?.find((w) => w.column === column && w.callee === callee);
  }

  /** Every region (buffer, coherent allocation, IOVA state, mapping) of the run. */
  get regions(): Region[] {
    if (this.regionList !== undefined) return this.regionList;
    const out: Region[] = [];
    const values = this.run.values ?? {};
    const visit = (name: string, v: JsonValue, depth: number): void => {
      if (depth > 2 || v === null || typeof v !== 'object') return;
      if (Array.isArray(v)) {
        v.slice(0, 256).forEach((x, i) => visit(`${name}[${i}]`, x, depth + 1));
        return;
      }
      const phys = toBigInt(v.phys);
      const size = toBigInt(v.size);
      const kind = typeof v.kind === 'string' ? v.kind : undefined;
      if (kind !== undefined && phys !== undefined && size !== undefined) out.push({ what: `buffer \`${name}\` (${kind})`, start: phys, size, space: 'phys' });
      const cpu = toBigInt(v.cpu);
      const dma = toBigInt(v.dma);
      if (cpu !== undefined && dma !== undefined && size !== undefined) {
        out.push({ what: `coherent allocation \`${name}\` (CPU side)`, start: cpu, size, space: 'phys' });
        out.push({ what: `coherent allocation \`${name}\` (device side)`, start: dma, size, space: 'dma', detail: `maps to phys ${hex(cpu)}` });
      }
      const addr = toBigInt(v.addr);
      if (addr !== undefined && size !== undefined && 'use_swiotlb' in v) out.push({ what: `IOVA range of \`${name}\` (dma_iova_try_alloc)`, start: addr, size, space: 'dma' });
      const da = toBigInt(v.dma_address);
      const dl = toBigInt(v.dma_length);
      if (da !== undefined && dl !== undefined && dl > 0n) out.push({ what: `DMA segment \`${name}\``, start: da, size: dl, space: 'dma' });
    };
    for (const [name, v] of Object.entries(values)) visit(name, v, 0);
    const m = this.machine;
    if (m !== undefined) {
      for (const r of m.mappings) {
        const dma = toBigInt(r.dma);
        const size = toBigInt(r.size);
        const phys = toBigInt(r.phys);
        if (dma === undefined || size === undefined) continue;
        const bounce = r.bounce !== null ? `, bounced through ${r.bounce}` : '';
        out.push({
          what: `${r.kind} mapping of ${r.device} (line ${r.line})`,
          start: dma,
          size,
          space: 'dma',
          detail: `→ phys ${phys !== undefined ? hex(phys) : r.phys}${bounce}, ${r.dir}, ${r.live ? 'still mapped at the end' : 'unmapped later'}`,
        });
        if (r.bounce !== null) {
          const b = toBigInt(r.bounce);
          if (b !== undefined) out.push({ what: `bounce slot of the mapping on line ${r.line} (${r.device})`, start: b, size, space: 'phys', detail: `copy of phys ${r.phys}` });
        }
      }
      for (const d of m.domains) {
        for (const r of d.mappings) {
          if (r.via !== 'iommu_map') continue;
          const iova = toBigInt(r.iova);
          const size = toBigInt(r.size);
          if (iova !== undefined && size !== undefined) out.push({ what: `iommu_map range of ${d.label} (line ${r.line})`, start: iova, size, space: 'dma', detail: `→ phys ${r.phys}, still mapped at the end` });
        }
      }
      m.platform.memory.forEach((r, i) => {
        const s = toBigInt(r.start);
        const e = toBigInt(r.end);
        if (s !== undefined && e !== undefined) out.push({ what: `RAM${m.platform.memory.length > 1 ? ` range ${i}` : ''}`, start: s, size: e - s, space: 'phys' });
      });
    } else {
      // Results without the machine summary: the dma:dma_map_phys events (when the run kept internal events).
      for (const e of this.run.events ?? []) {
        if (e.name !== 'dma:dma_map_phys') continue;
        const r = mapEvent(e);
        if (r !== undefined) out.push(r);
      }
    }
    const pool = swiotlbPool(this.machine);
    if (pool !== undefined) out.push(pool);
    this.regionList = out;
    return out;
  }

  /** Regions holding an address, smallest first. */
  regionsAt(addr: bigint): Region[] {
    return this.regions.filter((r) => addr >= r.start && addr < r.start + (r.size > 0n ? r.size : 1n)).sort((a, b) => (a.size < b.size ? -1 : a.size > b.size ? 1 : 0));
  }
}

function mapEvent(e: EventResult): Region | undefined {
  const dma = toBigInt(e.fields.dma_addr);
  const size = toBigInt(e.fields.size);
  const phys = toBigInt(e.fields.phys_addr);
  if (dma === undefined || size === undefined) return undefined;
  return { what: `mapping of ${String(e.fields.device)} (line ${e.line})`, start: dma, size, space: 'dma', detail: phys !== undefined ? `→ phys ${hex(phys)}` : undefined };
}

function swiotlbPool(m: MachineSummary | undefined): Region | undefined {
  const pool = m?.platform.swiotlbPool;
  const s = toBigInt(pool?.start);
  const e = toBigInt(pool?.end);
  return s !== undefined && e !== undefined ? { what: 'the swiotlb bounce pool', start: s, size: e - s, space: 'phys' } : undefined;
}

const cache = new WeakMap<RunResult, { key: unknown; index: RunIndex }>();

/** The index of a run result, its lines mapped by `lines` when given (cached by result identity and mapper key). */
export function runIndex(run: RunResult, lines?: LineMapper): RunIndex {
  const key = lines === undefined ? cache : lines.key;
  const hit = cache.get(run);
  if (hit !== undefined && hit.key === key) return hit.index;
  const index = new RunIndex(run, lines);
  cache.set(run, { key, index });
  return index;
}

/** One line per region: `inside buffer rx at +0x10 (phys 0x81002000 .. 0x81004000)`. */
export function describeRegions(addr: bigint, regions: readonly Region[], max = 6): string[] {
  return regions.slice(0, max).map((r) => {
    const off = addr - r.start;
    return `${r.what} at +${hex(off)} (${hex(r.start)} .. ${hex(r.start + r.size)})${r.detail ? ` ${r.detail}` : ''}`;
  });
}

