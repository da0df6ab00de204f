// The run result of docs/run-output.md. One object feeds the CLI, the
// diagnostics, code lenses, the debugger and the panels.

import type { Severity } from '../engine/trace/recorder';

export interface Diagnostic {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  severity: Severity;
  code: string;
  message: string;
  /** Another place that explains this one (the line that mapped the buffer). */
  related?: { line: number; message: string }[];
}

export interface ExpectationResult {
  line: number;
  passed: boolean;
  message: string;
}

export interface CheckResult {
  line: number;
  id: string;
  severity: Severity;
  /** Whose words: the kernel's own report (dma-debug, WARN, BUG, printk, KASAN) or dmascope's advice (always set by a run; optional for hand-made results). */
  origin?: 'kernel' | 'dmascope';
  message: string;
  /** Consumed by an `expect` that asked for it: listed, but does not fail the run. */
  expected: boolean;
  relatedLine?: number;
}

export interface FaultResult {
  line: number;
  device: string;
  addr: string;
  access: 'read' | 'write';
  pasid: number | null;
  reason: string;
  expected: boolean;
}

export type JsonValue = number | string | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One trace event (src/engine/trace/recorder.ts TraceEvent), addresses as hex strings. */
export interface EventResult {
  seq: number;
  /** call / return of a kernel function, or point: a tracepoint or an engine step. Absent in results older than the kinds. */
  kind?: 'call' | 'return' | 'point';
  name: string;
  fields: Record<string, JsonValue>;
  line: number;
  column?: number;
  depth: number;
  /** Call: seq of its return (-1 while open); return: seq of its call; point: -1. */
  match?: number;
}

/** What a statement produced, for hovers, inlay hints and lenses. */
export interface StatementResult {
  line: number;
  /** Short rendering of the value the statement's call returned. */
  value?: string;
}

export interface RunResult {
  ok: boolean;
  diagnostics: Diagnostic[];
  expectations: ExpectationResult[];
  checks: CheckResult[];
  faults: FaultResult[];
  values: Record<string, JsonValue>;
  events: EventResult[];
  /** Kernel log lines (dmesg) the run printed, with their lines. */
  log: { line: number; text: string }[];
  statements: StatementResult[];
  /** dma-debug's debugfs counters: error_count counts every error, printed or not (the log shows only num_errors of them). Absent when the run did not start. */
  dmaDebug?: { errorCount: number };
  /** Editor extras, see RunEditorInfo below (optional: absent in older or hand-made results). */
  calls?: CallSiteResult[];
  walks?: WalkSummary[];
  machine?: MachineSummary;
}

/** Exit codes of `dmascope run` (docs/run-output.md). */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_BAD_INPUT = 2;

// ---------------------------------------------------------------------------
// Editor extras (optional, additive): what the editor's inlay hints, hovers
// and code lenses show about a run. Filled by run.ts from the interpreter's
// call log (src/lang/interp/call-log.ts); a RunResult read back from JSON may
// lack them, so every reader treats them as optional.

/** One call site (source position) and what it returned the last time it ran. */
export interface CallSiteResult {
  /** Span of the whole call `f(...)`: 1-based lines and columns, endColumn exclusive. */
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  callee: string;
  /** Short rendering of the value the call returned (see renderValue); absent for calls that return nothing. */
  value?: string;
  /** The call returned -errno: the errno name (EIO). */
  errno?: string;
  /** How many times the call ran (loops). */
  count: number;
}

/** The IOMMU walk of one translate/dev_read/dev_write call site, the last time it ran. */
export interface WalkSummary {
  line: number;
  column: number;
  callee: string;
  device: string;
  /** Device address of the access (its first page for a multi-page access), hex. */
  addr: string;
  pasid: number | null;
  /** Physical address reached, hex; null when the walk faults. */
  phys: string | null;
  /** Memory accesses of the walk (descriptor reads, nested included); 0 on an IOTLB hit. */
  accesses: number;
  iotlbHit: boolean;
  /** The IOTLB hit came from an entry the page table no longer backs (a deferred unmap's flush pending); absent in older results. */
  staleIotlb?: boolean;
  /** Why the walk faults, or null. */
  fault: string | null;
  /** dev_read/dev_write: the access itself raised an IO page fault (any page of it). */
  faulted: boolean;
  /** The first IO page fault the access raised, or null. */
  faultReason: string | null;
  /** Domains the walk went through, device side first. */
  domains: string[];
  count: number;
}

/** One streaming mapping or coherent allocation the run made (engine MappingRecords). */
export interface MappingSummary {
  device: string;
  dma: string;
  size: string;
  phys: string;
  dir: string;
  bounce: string | null;
  kind: string;
  line: number;
  live: boolean;
}

/** The machine at the end of the run, with the values the engine applied (defaults included). */
export interface MachineSummary {
  platform: {
    pageSize: string; memory: { start: string; end: string }[]; cacheLine: number; swiotlb: string; swiotlbForce: boolean; swiotlbDynamic: boolean; cpus: number;
    /** The default swiotlb pool, end exclusive (absent in older results; null without one). */
    swiotlbPool?: { start: string; end: string } | null;
  };
  iommus: {
    name: string; kind: string; driver: string; granule: string; ias: number; oas: number; iotlbEntries: number;
    deferredFlush: boolean; needsSyncMap: boolean; pasidBits: number; line: number; iotlbHits: number; iotlbMisses: number;
  }[];
  devices: {
    name: string; busId: string; bus: string; coherent: boolean; untrusted: boolean; dmaMaskBits: number; maxSegmentSize: string;
    segmentBoundary: string; pasidBits: number; ats: boolean; pri: boolean; minAlignMask: string; line: number;
    /** IOMMU path, device side first: group and the domain attached at the end of the run. */
    path: { iommu: string; group: number; domain: string | null; domainType: string | null; defaultDomain: string | null; pasids: { pasid: number; domain: string }[] }[];
  }[];
  domains: {
    label: string; type: string; iommu: string; format: string | null; granule: string; aperture: [string, string] | null;
    users: string[]; line: number;
    /** IOVA ranges still mapped at the end of the run (DMA API mappings of its devices; iommu_map ranges that still translate). */
    mappings: { iova: string; phys: string; size: string; line: number; via: string }[];
  }[];
  /** Every mapping the run made (capped), live or ended. */
  mappings: MappingSummary[];
}
