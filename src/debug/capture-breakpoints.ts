// What stops the capture debugger: conditions on a record's fields
// (`device == "0000:c2:00.0" && addr in 0xfe000000..0xff000000`), the trace
// breakpoints (the scenario debugger's exception filters) mapped onto the
// findings a capture carries, and function breakpoints named by tracepoint
// (`iommu:map`, `dma:dma_map_phys`, or just `dma_map_phys`), finding kind or
// device.

import { describeFinding } from '../traceimport/report';
import type { Finding } from '../traceimport/types';
import type { CaptureRecord } from './capture-timeline';

/** Finding kinds each trace breakpoint (exception filter) stops on in a capture. */
const FILTER_FINDINGS: Record<string, readonly string[]> = {
  io_page_fault: ['io_page_fault'],
  swiotlb_full: ['swiotlb_full'],
  // What CONFIG_DMA_API_DEBUG reports, and the replay's checks of the same rules.
  dma_debug: ['dma_debug', 'dma_map_error', 'unmap_unknown', 'unmap_size_mismatch', 'unmap_dir_mismatch', 'unmap_wrong_function', 'sync_unknown'],
  // Accesses the mapping does not cover: past the device's mask, unaligned or short IOMMU (un)maps.
  sanitizer: ['dma_overflow', 'iommu_unaligned', 'iommu_unmap_short', 'fault_in_live_mapping'],
};

/** The trace breakpoints that mean something in a capture (the others never stop it). */
export const CAPTURE_FILTERS: readonly string[] = [...Object.keys(FILTER_FINDINGS), 'swiotlb_bounce'];

/** Does the record hit trace breakpoint `filter`? Returns the findings (or the bounce) that hit it. */
export function filterHits(filter: string, r: CaptureRecord): Finding[] | 'event' | undefined {
  if (filter === 'swiotlb_bounce') return r.kind === 'swiotlb_bounced' && r.eventIndex !== undefined ? 'event' : undefined;
  const kinds = FILTER_FINDINGS[filter];
  if (kinds === undefined || r.repeatOf !== undefined) return undefined;
  const hit = r.findings.filter((f) => kinds.includes(f.kind));
  return hit.length > 0 ? hit : undefined;
}

/** The stop's text for a trace breakpoint: the findings of the record, the first one the filter's. */
export function describeStop(r: CaptureRecord, first: Finding[] | 'event'): string {
  if (first === 'event') return `${r.name} ${fieldsLine(r)}`;
  const rest = r.findings.filter((f) => !first.includes(f));
  return [...first, ...rest].map((f) => describeFinding(f)).join(' — ');
}

/** `key=value` of a record's own fields (the tracepoint's, or its first finding's). */
export function fieldsLine(r: CaptureRecord): string {
  const src: Record<string, unknown> = r.event ?? r.findings[0] ?? {};
  const skip = new Set(['line', 'endLine', 'kind', 'system', 'since', 'irq_flags', 'comm', 'pid', 'cpu', 'ts', 'message']);
  return Object.entries(src)
    .filter(([k, v]) => !skip.has(k) && v !== undefined && v !== '' && (typeof v !== 'object' || Array.isArray(v)))
    .map(([k, v]) => `${k}=${Array.isArray(v) ? `{${v.join(',')}}` : String(v)}`)
    .join(' ');
}

/** Does a function breakpoint's name name this record: `system:kind`, `kind`, a finding kind, or a device? */
export function namesRecord(name: string, r: CaptureRecord): boolean {
  if (r.repeatOf !== undefined) return false;
  return name === r.name || name === r.kind || name === r.device || r.findings.some((f) => f.kind === name);
}

// ---- conditions -------------------------------------------------------------

type Op = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in';

interface Clause {
  field: string;
  op: Op;
  value: string;
  /** For `in`: the end of the range (exclusive). */
  end?: string;
}

/** A parsed condition: clauses that must all hold. */
export interface CaptureCondition {
  clauses: Clause[];
}

const VALUE = String.raw`("(?:[^"\\]|\\.)*"|'[^']*'|[^\s&|]+)`;
const CLAUSE = new RegExp(String.raw`^([A-Za-z_][\w.]*)\s*(==|!=|<=|>=|<|>)\s*${VALUE}$`);
const RANGE = /^([A-Za-z_][\w.]*)\s+in\s+(0x[0-9a-f_]+|\d+)\s*\.\.\s*(0x[0-9a-f_]+|\d+)$/i;

function unquote(v: string): string {
  if (v.startsWith('"') && v.endsWith('"')) return v.slice(1, -1).replace(/\\(.)/g, '$1');
  if (v.startsWith("'") && v.endsWith("'")) return v.slice(1, -1);
  return v;
}

/**
 * Parses `field OP value` clauses joined by `&&` (OP one of == != < <= > >=,
 * or `field in START..END`); a message says what is wrong.
 */
export function parseCaptureCondition(text: string): CaptureCondition | string {
  if (text.length > 1000) return 'condition longer than 1000 characters';
  const clauses: Clause[] = [];
  for (const part of text.split('&&').map((p) => p.trim())) {
    if (part === '') return `empty clause in "${text}"`;
    const range = RANGE.exec(part);
    if (range) {
      const start = numeric(range[2]);
      const end = numeric(range[3]);
      if (start === undefined || end === undefined || end <= start) return `empty range in "${part}"`;
      clauses.push({ field: range[1], op: 'in', value: range[2], end: range[3] });
      continue;
    }
    const m = CLAUSE.exec(part);
    if (!m) return `"${part}" is not FIELD == VALUE (or != < <= > >=) or FIELD in START..END; fields: kind, device, addr, size, dir, access, pasid, line, ...`;
    clauses.push({ field: m[1], op: m[2] as Op, value: unquote(m[3]) });
  }
  return { clauses };
}

function numeric(v: unknown): bigint | undefined {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v !== 'string') return undefined;
  const t = v.replace(/_/g, '');
  if (/^0x[0-9a-f]+$/i.test(t)) return BigInt(t);
  if (/^\d+$/.test(t)) return BigInt(t);
  return undefined;
}

/** The value of `field` at a record: its own fields, then its findings' (`kind` and `name` match either spelling). */
export function recordField(r: CaptureRecord, field: string): unknown[] {
  if (field === 'line') return [r.line];
  if (field === 'kind' || field === 'name' || field === 'event') return [r.kind, r.name, ...r.findings.map((f) => f.kind)];
  const out: unknown[] = [];
  const own = r.event as Record<string, unknown> | undefined;
  if (own !== undefined && own[field] !== undefined) out.push(own[field]);
  for (const f of r.findings) if (f[field] !== undefined) out.push(f[field]);
  if (field === 'device' && r.device !== undefined) out.push(r.device);
  return out;
}

function clauseHolds(c: Clause, values: unknown[]): boolean {
  const one = (v: unknown): boolean => {
    if (c.op === 'in') {
      const n = numeric(v);
      return n !== undefined && n >= (numeric(c.value) ?? 0n) && n < (numeric(c.end) ?? 0n);
    }
    const a = numeric(v);
    const b = numeric(c.value);
    if (a !== undefined && b !== undefined) {
      switch (c.op) {
        case '==': return a === b;
        case '!=': return a !== b;
        case '<': return a < b;
        case '<=': return a <= b;
        case '>': return a > b;
        case '>=': return a >= b;
      }
    }
    const s = String(v);
    if (c.op === '==') return s === c.value;
    if (c.op === '!=') return s !== c.value;
    return false;
  };
  // `!=` holds when no value equals; the others when any value does.
  if (c.op === '!=') return values.every(one);
  return values.some(one);
}

export function conditionHolds(cond: CaptureCondition, r: CaptureRecord): boolean {
  return cond.clauses.every((c) => clauseHolds(c, recordField(r, c.field)));
}
