// The capture debugger's runtime: a position among a capture's records and
// the moves a debugger makes over it, forwards and backwards; what stops a
// run there. The state at a position comes from CaptureTimeline; the
// searches for a stop are TimelineRuntime's, as for a scenario. No vscode,
// no DAP.

import type { ImportResult } from '../traceimport/types';
import { conditionHolds, describeStop, filterHits, namesRecord, parseCaptureCondition, recordField, type CaptureCondition } from './capture-breakpoints';
import { CaptureTimeline, type CaptureRecord } from './capture-timeline';
import { TimelineRuntime, type LineBreakpointRequest, type StopCause } from './timeline-runtime';

interface CaptureLineBreakpoint {
  line: number;
  condition?: CaptureCondition;
  hitCondition?: string;
  logMessage?: string;
  hits: number;
}

interface NamedBreakpoint {
  name: string;
  condition?: CaptureCondition;
}

export class CaptureRuntime extends TimelineRuntime {
  readonly timeline: CaptureTimeline;
  private lineBreakpoints = new Map<number, CaptureLineBreakpoint>();
  private filters = new Map<string, CaptureCondition | undefined>();
  private named: NamedBreakpoint[] = [];

  constructor(readonly result: ImportResult) {
    super();
    this.timeline = new CaptureTimeline(result);
  }

  get length(): number {
    return this.timeline.length;
  }

  /** Every record is known from the start. */
  get eventCount(): number {
    return this.length;
  }

  get knownTotal(): number {
    return this.length;
  }

  complete(): number {
    return this.length;
  }

  protected has(k: number): boolean {
    return k >= 0 && k < this.length;
  }

  record(k = this.position): CaptureRecord | undefined {
    return this.timeline.records[k];
  }

  lineAt(k: number): number {
    return this.record(k)?.line ?? 0;
  }

  // ---- breakpoints ------------------------------------------------------------

  /** Line breakpoints: each moved to the record covering its line or the next one; a message when it cannot be set (a condition it cannot read, no record there). */
  setLineBreakpoints(bps: LineBreakpointRequest[]): ({ line: number } | { message: string })[] {
    this.lineBreakpoints.clear();
    return bps.map((bp) => {
      const cond = bp.condition !== undefined && bp.condition.trim() !== '' ? parseCaptureCondition(bp.condition) : undefined;
      if (typeof cond === 'string') return { message: cond };
      const r = this.timeline.recordAtOrAfter(bp.line);
      if (r === undefined) return { message: 'no captured event or finding at or after this line' };
      this.lineBreakpoints.set(r.line, { line: r.line, condition: cond, hitCondition: bp.hitCondition, logMessage: bp.logMessage, hits: 0 });
      return { line: r.line };
    });
  }

  /** Trace breakpoints (exception filters) with their conditions; returns a message for each one that cannot be set. */
  setTraceFilters(filters: { filter: string; condition?: string }[]): (string | undefined)[] {
    this.filters.clear();
    return filters.map((f) => {
      const cond = f.condition !== undefined && f.condition.trim() !== '' ? parseCaptureCondition(f.condition) : undefined;
      if (typeof cond === 'string') return cond;
      this.filters.set(f.filter, cond);
      return undefined;
    });
  }

  /** Function breakpoints: a tracepoint (`iommu:map`), a finding kind or a device; each with an optional condition. */
  setNamedBreakpoints(bps: { name: string; condition?: string }[]): (string | undefined)[] {
    this.named = [];
    return bps.map((bp) => {
      const cond = bp.condition !== undefined && bp.condition.trim() !== '' ? parseCaptureCondition(bp.condition) : undefined;
      if (typeof cond === 'string') return cond;
      if (!this.timeline.records.some((r) => namesRecord(bp.name, r))) return `no ${bp.name} in this capture (names: a tracepoint such as iommu:map or dma:dma_map_phys, a finding kind such as io_page_fault, or a device)`;
      this.named.push({ name: bp.name, condition: cond });
      return undefined;
    });
  }

  // ---- moves ------------------------------------------------------------------

  /** Stops at the first record, or runs from before it to the first stop. */
  start(stopOnEntry: boolean): void {
    if (this.length === 0) return void this.emit('end');
    if (stopOnEntry) return this.stop({ reason: 'entry', event: 0, backwards: false });
    this.position = -1;
    this.continue();
  }

  /** One record forward (over, in and out alike: a capture has no calls to enter). */
  next(): void {
    if (this.position + 1 >= this.length) return void this.emit('end');
    this.stop({ reason: 'step', event: this.position + 1, backwards: false });
  }

  stepIn(): void {
    this.next();
  }

  stepOut(): void {
    this.next();
  }

  stepBack(): void {
    this.stop({ reason: 'step', event: Math.max(0, this.position - 1), backwards: true });
  }

  /** A reverse continue with no stop before the position goes to the first record. */
  protected firstStop(): number {
    return 0;
  }

  /** nextOfKind looks for a record that `name` names, as a function breakpoint would. */
  protected isOfKind(k: number, name: string): boolean {
    return namesRecord(name, this.timeline.records[k]);
  }

  /** Back to the last record at or before the position that mapped a range holding `addr` (a DMA address / IOVA). */
  whereFrom(addr: bigint): boolean {
    for (let k = this.position; k >= 0; k--) {
      const ev = this.timeline.records[k].event;
      if (ev === undefined || !/map|alloc/.test(ev.kind) || /unmap|free/.test(ev.kind)) continue;
      if (covers(ev, addr)) {
        this.stop({ reason: 'goto', text: `${ev.system}:${ev.kind} at line ${ev.line} mapped 0x${addr.toString(16)}`, event: k, backwards: k < this.position });
        return true;
      }
    }
    return false;
  }

  // ---- helpers ----------------------------------------------------------------

  protected stopAt(k: number): StopCause | undefined {
    const r = this.timeline.records[k];
    const bp = this.lineBreakpoints.get(r.line);
    if (bp && this.breakpointHolds(bp, r)) return { reason: 'breakpoint' };
    const named = this.named.find((b) => namesRecord(b.name, r) && (b.condition === undefined || conditionHolds(b.condition, r)));
    if (named) return { reason: 'function breakpoint', text: named.name };
    for (const [filter, cond] of this.filters) {
      const hit = filterHits(filter, r);
      if (hit && (cond === undefined || conditionHolds(cond, r))) return { reason: 'exception', text: describeStop(r, hit) };
    }
    return undefined;
  }

  private breakpointHolds(bp: CaptureLineBreakpoint, r: CaptureRecord): boolean {
    if (bp.condition && !conditionHolds(bp.condition, r)) return false;
    // A logpoint's {field} is the record's field (bp.line is the record's line).
    return this.countHit(bp, (message) => message.replace(/\{([^}]+)\}/g, (_m, field: string) => {
      const v = recordField(r, field.trim());
      return v.length > 0 ? String(v[0]) : `<no ${field.trim()}>`;
    }));
  }
}

function covers(ev: Record<string, unknown>, addr: bigint): boolean {
  const starts = Array.isArray(ev.dma_addrs) ? (ev.dma_addrs as unknown[]) : [ev.addr];
  const sizes = Array.isArray(ev.sizes) ? (ev.sizes as unknown[]) : [ev.size];
  return starts.some((a, i) => {
    const size = sizes[i];
    if (typeof a !== 'string' || typeof size !== 'number' || !/^0x[0-9a-f]+$/i.test(a)) return false;
    const start = BigInt(a);
    return start <= addr && addr < start + BigInt(Math.max(1, size));
  });
}
