// The debugger's runtime: a position in a scenario's trace and the moves a
// debugger makes over it, forwards and backwards. The run happens once
// (ScenarioTimeline); every position is an event index, and the state there
// is restored from a snapshot and replayed, so stepping back gives exactly
// the machine the run had, inside kernel calls too. The searches for a stop
// (continue, reverse continue) are TimelineRuntime's. No vscode, no DAP here.

import type { Machine } from '../engine/machine';
import type { TraceEvent, TraceRecorder } from '../engine/trace/recorder';
import type { Interpreter } from '../lang/interp/interpreter';
import { parseAndCheck } from '../lang/frontend';
import type { Diagnostic } from '../lang/run-result';
import { ScenarioTimeline, type TimelineOptions } from '../lang/timeline';
import { TRACE_FILTERS, describeHit, meetsCondition, statementLines, touches, verifiedLine, type DataWatch, type TraceCondition } from './breakpoints';
import { evaluateIn } from './evaluate';
import type { WalkTarget } from '../protocol';
import { walkTargets } from '../panels/walk-source';
import { TimelineRuntime, type LineBreakpointRequest, type StopCause } from './timeline-runtime';

export type { StopEvent, StopReason } from './timeline-runtime';

/** One frame of the emulated call stack at a position, innermost first. */
export interface Frame {
  /** Event index of the call (or of the statement for the scenario frame). */
  seq: number;
  name: string;
  args: TraceEvent['fields'];
  line: number;
  column: number;
  /** The kernel function's call, or the scenario statement. */
  kind: 'kernel' | 'scenario';
}

export interface LineBreakpoint extends LineBreakpointRequest {
  hits: number;
}

export class DebugRuntime extends TimelineRuntime {
  timeline: ScenarioTimeline;
  /** Memory the user changed (writeMemory): the run is redone with these writes. */
  private readonly injections: NonNullable<TimelineOptions['injections']> = [];
  readonly diagnostics: Diagnostic[];
  readonly lines: number[];
  private lineBreakpoints = new Map<number, LineBreakpoint>();
  private filters = new Map<string, TraceCondition>();
  private functionBreakpoints = new Set<string>();
  private dataWatches: DataWatch[] = [];
  /** States restored lately (the position's, and the one before it for the panels' "changed by" view). */
  private cache: { k: number; state: Interpreter }[] = [];

  constructor(readonly source: string, snapshotEvery = 256) {
    super();
    const checked = parseAndCheck(source);
    this.diagnostics = checked.diagnostics;
    // Run forward on demand: the first stop does not wait for the whole run.
    // editorInfo: the run records its walk sites (translate/dev_read/dev_write), which the walk panel offers.
    this.timeline = new ScenarioTimeline(source, snapshotEvery, { program: checked.program, diagnostics: checked.diagnostics, lazy: true, editorInfo: true });
    this.lines = statementLines(checked.program);
  }

  get trace(): TraceRecorder {
    return this.timeline.trace;
  }

  /** Events run so far (all of them once the run is complete). */
  get eventCount(): number {
    return this.timeline.eventCount;
  }

  get knownTotal(): number | undefined {
    return this.timeline.complete ? this.eventCount : undefined;
  }

  /** Does event k exist? Runs forward to it when needed. */
  protected has(k: number): boolean {
    return k >= 0 && this.timeline.extendTo(k);
  }

  /** Runs to the end: the total is known after this. */
  complete(): number {
    this.timeline.extendTo(Number.POSITIVE_INFINITY);
    return this.eventCount;
  }

  get hasErrors(): boolean {
    return this.diagnostics.some((d) => d.severity === 'error');
  }

  event(k: number): TraceEvent | undefined {
    return k >= 0 && k < this.eventCount ? this.trace.eventAt(k) : undefined;
  }

  lineAt(k: number): number {
    return this.event(k)?.line ?? 0;
  }

  /** The interpreter, with its machine, exactly as it was at the current position. */
  state(k = this.position): Interpreter {
    let hit = this.cache.find((c) => c.k === k);
    if (!hit) {
      hit = { k, state: this.timeline.stateAt(k) };
      this.cache = [hit, ...this.cache].slice(0, 2);
    }
    return hit.state;
  }

  machine(k = this.position): Machine | null {
    return this.state(k).machine;
  }

  // ---- breakpoints ------------------------------------------------------------

  /** Sets the line breakpoints of the scenario; returns each one's line moved to a statement, or undefined. */
  setLineBreakpoints(bps: LineBreakpointRequest[]): (number | undefined)[] {
    this.lineBreakpoints.clear();
    return bps.map((bp) => {
      const line = verifiedLine(bp.line, this.lines);
      if (line !== undefined) this.lineBreakpoints.set(line, { ...bp, line, hits: 0 });
      return line;
    });
  }

  /** Trace breakpoints on, each with its condition (an empty one: always). */
  setTraceFilters(filters: { filter: string; condition?: TraceCondition }[]): void {
    this.filters = new Map(filters.filter((f) => TRACE_FILTERS.some((t) => t.filter === f.filter)).map((f) => [f.filter, f.condition ?? {}]));
  }

  setFunctionBreakpoints(names: string[]): void {
    this.functionBreakpoints = new Set(names);
  }

  /** Data breakpoints: stop where an event reads or writes one of these ranges, forwards and backwards. */
  setDataWatches(watches: DataWatch[]): void {
    this.dataWatches = watches;
  }

  // ---- moves ------------------------------------------------------------------

  /** The first statement, or the first event when there is none. */
  start(stopOnEntry: boolean): void {
    this.position = this.nextStatement(-1) ?? (this.has(0) ? 0 : -1);
    if (stopOnEntry) this.stop({ reason: 'entry', event: this.position, backwards: false });
    else this.continue();
  }

  /** A reverse continue with no stop before the position goes to the first statement. */
  protected firstStop(): number {
    return this.nextStatement(-1) ?? 0;
  }

  /** The next statement at the same depth or shallower (over its kernel calls). */
  next(): void {
    const k = this.nextStatement(this.position);
    if (k === undefined) return void this.emit('end');
    this.stop({ reason: 'step', event: k, backwards: false });
  }

  /** One event forward: into the emulated kernel call chain. */
  stepIn(): void {
    if (!this.has(this.position + 1)) return void this.emit('end');
    this.stop({ reason: 'step', event: this.position + 1, backwards: false });
  }

  /** To the return of the innermost kernel call open here, or the next statement. */
  stepOut(): void {
    const frames = this.frames();
    const inner = frames.find((f) => f.kind === 'kernel');
    const ret = inner ? this.trace.eventAt(inner.seq).match : -1;
    if (ret > this.position) return this.stop({ reason: 'step', event: ret, backwards: false });
    this.next();
  }

  /** Back to the start of this statement, or to the previous statement. */
  stepBack(): void {
    const here = this.statementOf(this.position);
    const k = here !== undefined && here < this.position ? here : this.previousStatement(this.position);
    this.stop({ reason: 'step', event: k ?? this.position, backwards: true });
  }

  /** nextOfKind looks for a call of that name, not its return. */
  protected isOfKind(k: number, name: string): boolean {
    return this.trace.nameAt(k) === name && this.trace.kindAt(k) !== 'return';
  }

  /**
   * "Where did this come from": the last event before the position that put
   * something at `addr` (a physical address or an IOVA): a CPU or device
   * write, a map, a page-table entry, a bounce. Moves there.
   */
  whereFrom(space: 'phys' | 'iova', addr: bigint): boolean {
    const watch: DataWatch = { space, start: addr, end: addr + 1n, label: `${space === 'phys' ? 'phys' : 'IOVA'} 0x${addr.toString(16)}` };
    for (let k = this.position - 1; k >= 0; k--) {
      const e = this.trace.eventAt(k);
      if (e.name === 'engine:statement' || e.name === 'engine:cpu_read' || e.name === 'device_read' || !touches(e, watch)) continue;
      this.stop({ reason: 'goto', text: `${e.name} last wrote ${watch.label}`, event: k, backwards: true });
      return true;
    }
    return false;
  }

  /**
   * writeMemory: a CPU write of `bytes` at `phys` here, and the run goes on
   * from the changed state. The run is redone with the write injected at this
   * point (before the current statement when stopped at one); the position
   * stays on the same statement. Returns false outside RAM.
   */
  writeMemory(phys: bigint, bytes: Uint8Array): boolean {
    const m = this.machine();
    if (!m || bytes.length === 0 || !m.mem.isRam(phys, BigInt(bytes.length))) return false;
    const here = this.event(this.position);
    const atStatement = here?.name === 'engine:statement';
    const afterEvent = atStatement ? this.position - 1 : this.position;
    this.injections.push({ afterEvent, phys, bytes: bytes.slice() });
    const checked = parseAndCheck(this.source);
    this.timeline = new ScenarioTimeline(this.source, this.timeline.snapshotEvery, { program: checked.program, diagnostics: checked.diagnostics, injections: this.injections, lazy: true, editorInfo: true });
    this.cache = [];
    // The injected write is an event: the statement we stood at moved one further.
    if (atStatement) this.position = this.nextStatement(this.position - 1) ?? this.position;
    return true;
  }

  /** The walk sites of the whole run (it runs to its end for them): what the walk panel offers. */
  walkTargets(): WalkTarget[] {
    this.complete();
    return walkTargets(this.timeline);
  }

  /** Statement stops around event k, up to `n` each side (the panels' previous/next buttons). */
  statementsAround(k: number, n = 3): { event: number; line: number }[] {
    const before: { event: number; line: number }[] = [];
    for (let j = Math.min(k, this.eventCount - 1); j >= 0 && before.length < n + 1; j--) {
      if (this.trace.nameAt(j) === 'engine:statement') before.unshift({ event: j, line: this.trace.lineAt(j) });
    }
    const after: { event: number; line: number }[] = [];
    for (let j = k + 1; after.length < n && this.has(j); j++) {
      if (this.trace.nameAt(j) === 'engine:statement') after.push({ event: j, line: this.trace.lineAt(j) });
    }
    return [...before, ...after];
  }

  // ---- the stack ----------------------------------------------------------------

  /** The emulated kernel calls open at the position, innermost first, and the scenario statement last. */
  frames(k = this.position): Frame[] {
    const out: Frame[] = [];
    const stmt = this.statementOf(k);
    const from = stmt ?? 0;
    for (let j = k; j >= from; j--) {
      const e = this.trace.eventAt(j);
      if (e.kind === 'call' && (e.match === -1 || e.match > k || j === k)) {
        out.push({ seq: j, name: e.name, args: e.fields, line: e.line, column: e.column, kind: 'kernel' });
      }
    }
    const s = stmt !== undefined ? this.trace.eventAt(stmt) : this.event(k);
    out.push({ seq: stmt ?? k, name: 'scenario', args: {}, line: s?.line ?? 1, column: s?.column ?? 1, kind: 'scenario' });
    return out;
  }

  // ---- helpers ----------------------------------------------------------------

  /** Why event k stops a run, or undefined. Line breakpoints stop at their statement's first event. */
  protected stopAt(k: number): StopCause | undefined {
    const e = this.trace.eventAt(k);
    if (e.name === 'engine:statement') {
      const bp = this.lineBreakpoints.get(e.line);
      if (bp && this.breakpointHolds(bp, k)) return { reason: 'breakpoint' };
    }
    if (e.kind !== 'return' && this.functionBreakpoints.has(e.name)) return { reason: 'function breakpoint', text: e.name };
    const watch = this.dataWatches.find((w) => e.name !== 'engine:statement' && touches(e, w));
    if (watch) return { reason: 'data breakpoint', text: `${e.name} touches ${watch.label}` };
    for (const f of TRACE_FILTERS) {
      const cond = this.filters.get(f.filter);
      if (cond && f.hits(e) && meetsCondition(e, cond)) return { reason: 'exception', text: describeHit(e, this.trace) };
    }
    return undefined;
  }

  private breakpointHolds(bp: LineBreakpoint, k: number): boolean {
    if (bp.condition && !this.conditionHolds(bp.condition, k)) return false;
    return this.countHit(bp, (message) => this.interpolate(message, k));
  }

  /** A condition is a scenario expression evaluated in the state at event k. */
  private conditionHolds(condition: string, k: number): boolean {
    const v = this.evaluate(condition, k);
    return v.ok && v.value !== 'false' && v.value !== '0' && v.value !== 'nothing';
  }

  private interpolate(message: string, k: number): string {
    return message.replace(/\{([^}]+)\}/g, (_m, expr: string) => {
      const v = this.evaluate(expr, k);
      return v.ok ? v.value : `<${v.value}>`;
    });
  }

  /** Evaluates a scenario expression in the state at event k (on a copy: nothing changes). */
  evaluate(expr: string, k = this.position): { ok: boolean; value: string; raw?: unknown } {
    return evaluateIn(this.timeline, this.state(k), expr);
  }

  statementOf(k: number): number | undefined {
    for (let j = k; j >= 0; j--) if (this.trace.nameAt(j) === 'engine:statement') return j;
    return undefined;
  }

  private nextStatement(k: number): number | undefined {
    for (let j = k + 1; this.has(j); j++) if (this.trace.nameAt(j) === 'engine:statement') return j;
    return undefined;
  }

  private previousStatement(k: number): number | undefined {
    for (let j = k - 1; j >= 0; j--) if (this.trace.nameAt(j) === 'engine:statement') return j;
    return undefined;
  }
}
