// What stops a run: line breakpoints on statement lines, trace breakpoints
// (DAP exception filters) on kinds of findings and events, and function
// breakpoints on kernel function and tracepoint names.

import type { DebugProtocol } from '@vscode/debugprotocol';
import type { TraceEvent, TraceRecorder } from '../engine/trace/recorder';
import type { Program, Statement } from '../lang/ast';
import { SANITIZER_CHECK } from '../engine/sanitizer';

export interface TraceFilter {
  filter: string;
  label: string;
  description: string;
  /** Does this event hit the filter? */
  hits(e: TraceEvent): boolean;
}

const checkId = (e: TraceEvent): string => (e.name === 'engine:check' ? String(e.fields.id) : '');
/** One of the DMA sanitizer's finding kinds (read at call time: the engine module may load after this one). */
const isSanitizerCheck = (id: string): boolean => (Object.values(SANITIZER_CHECK) as string[]).includes(id);

export const TRACE_FILTERS: readonly TraceFilter[] = [
  { filter: 'io_page_fault', label: 'IO page fault', description: 'A device access the IOMMU refused (iommu:io_page_fault)', hits: (e) => e.name === 'iommu:io_page_fault' },
  { filter: 'swiotlb_bounce', label: 'swiotlb bounce', description: 'Data copied to or from a bounce buffer (swiotlb:swiotlb_bounced)', hits: (e) => e.name === 'swiotlb:swiotlb_bounced' },
  { filter: 'swiotlb_full', label: 'swiotlb full', description: '"swiotlb buffer is full": a mapping found no free slots', hits: (e) => checkId(e) === 'swiotlb-full' },
  { filter: 'dma_debug', label: 'dma-debug violation', description: 'An error CONFIG_DMA_API_DEBUG reports', hits: (e) => checkId(e).startsWith('dma-debug') },
  { filter: 'expect_failed', label: 'Failed expectation', description: 'An expect that does not hold', hits: (e) => e.name === 'engine:expect' && e.fields.passed === false },
  { filter: 'stale_read', label: 'Stale CPU/device read', description: 'A read that saw stale data (CPU cache vs memory)', hits: (e) => checkId(e) === 'stale-cpu-read' || checkId(e) === 'stale-device-read' },
  { filter: 'iotlb_miss', label: 'IOTLB miss', description: 'A device access the IOTLB did not hold: the IOMMU walks the page table', hits: (e) => e.name === 'engine:iotlb_miss' },
  { filter: 'sanitizer', label: 'DMA sanitizer finding', description: 'An access past its buffer or mapping, or through a stale IOTLB entry', hits: (e) => isSanitizerCheck(checkId(e)) },
];

export const EXCEPTION_BREAKPOINT_FILTERS: DebugProtocol.ExceptionBreakpointsFilter[] = TRACE_FILTERS.map((f) => ({
  filter: f.filter,
  label: f.label,
  description: f.description,
  default: f.filter === 'io_page_fault' || f.filter === 'expect_failed',
  supportsCondition: true,
  conditionDescription: 'e.g. device == 0000:02:00.0 && addr in 0xffff0000..0x100000000 && pasid == 1',
}));

/** A trace breakpoint's condition: `device == NAME`, `addr in START..END`, `pasid == N`, joined by &&. */
export interface TraceCondition {
  device?: string;
  addr?: { start: bigint; end: bigint };
  pasid?: number;
}

/** Parses a trace breakpoint condition; a message says what is wrong. */
export function parseTraceCondition(text: string): TraceCondition | string {
  const out: TraceCondition = {};
  for (const part of text.split('&&').map((p) => p.trim()).filter((p) => p !== '')) {
    let m = /^device\s*==\s*([\w.:-]+)$/.exec(part);
    if (m) {
      out.device = m[1];
      continue;
    }
    m = /^addr\s+in\s+(0x[0-9a-f_]+)\s*\.\.\s*(0x[0-9a-f_]+)$/i.exec(part);
    if (m) {
      out.addr = { start: BigInt(m[1].replace(/_/g, '')), end: BigInt(m[2].replace(/_/g, '')) };
      if (out.addr.end <= out.addr.start) return `empty range in "${part}"`;
      continue;
    }
    m = /^pasid\s*==\s*(\d+)$/.exec(part);
    if (m) {
      out.pasid = Number(m[1]);
      continue;
    }
    return `"${part}" is not device == NAME, addr in START..END or pasid == N`;
  }
  return out;
}

/** Does event e meet the condition (by the device, address and PASID its fields name)? */
export function meetsCondition(e: TraceEvent, c: TraceCondition): boolean {
  const fields = e.fields;
  if (c.device !== undefined && String(fields.device ?? '') !== c.device && String(fields.dev ?? '') !== c.device) return false;
  if (c.pasid !== undefined && Number(fields.pasid ?? -1) !== c.pasid) return false;
  if (c.addr) {
    const a = num(fields.iova) ?? num(fields.addr) ?? num(fields.phys);
    if (a === undefined || a < c.addr.start || a >= c.addr.end) return false;
  }
  return true;
}

/** The text a trace breakpoint's stop shows: the finding's message, the fault, or the event. */
export function describeHit(e: TraceEvent, trace?: TraceRecorder): string {
  if (e.name === 'engine:check' || e.name === 'engine:expect') return String(e.fields.message);
  if (e.name === 'iommu:io_page_fault') {
    // The fault record follows its tracepoint: it says why.
    const f = trace?.faults.find((x) => x.seq === e.seq + 1);
    return `IO page fault: ${String(e.fields.device)} ${f ? `${f.access} ` : ''}at ${String(e.fields.iova)}${f ? `: ${f.reason}` : ''}`;
  }
  return `${e.name} ${Object.entries(e.fields).map(([k, v]) => `${k}=${typeof v === 'bigint' ? `0x${v.toString(16)}` : String(v)}`).join(' ')}`;
}

/** A watched address range: physical (a CPU buffer) or a device's IOVA range. */
export interface DataWatch {
  space: 'phys' | 'iova';
  start: bigint;
  end: bigint;
  label: string;
}

const ADDRESS_FIELDS: Record<'phys' | 'iova', readonly string[]> = {
  phys: ['phys', 'paddr', 'orig', 'tlb_addr', 'phys_addr', 'desc_addr', 'table'],
  iova: ['iova', 'addr', 'dma_addr', 'dma'],
};
const SIZE_FIELDS = ['size', 'len', 'length'];

function num(v: unknown): bigint | undefined {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^0x[0-9a-f]+$/i.test(v)) return BigInt(v);
  return undefined;
}

/** Does event e read or write inside the watched range (by the addresses and sizes its fields carry)? */
export function touches(e: TraceEvent, w: DataWatch): boolean {
  if (e.kind === 'return') return false;
  const size = SIZE_FIELDS.map((k) => num(e.fields[k])).find((x) => x !== undefined) ?? 1n;
  for (const key of ADDRESS_FIELDS[w.space]) {
    const a = num(e.fields[key]);
    if (a !== undefined && a < w.end && a + (size > 0n ? size : 1n) > w.start) return true;
  }
  return false;
}

/** Lines that hold statements (where a line breakpoint can stop): every statement but the platform block, loop bodies included. */
export function statementLines(program: Program): number[] {
  const lines = new Set<number>();
  const visit = (body: readonly Statement[]): void => {
    for (const s of body) {
      if (s.kind !== 'platform') lines.add(s.span.line);
      if (s.kind === 'for') visit(s.body);
    }
  };
  visit(program.body);
  return [...lines].sort((a, b) => a - b);
}

/** A breakpoint line moved to the next line that has a statement (or undefined past the last). */
export function verifiedLine(line: number, lines: readonly number[]): number | undefined {
  return lines.find((l) => l >= line);
}
